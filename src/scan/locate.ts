/**
 * Where in its file each finding points, for review tools (SARIF), test reports and editors
 * (`etcd.yaml:23:7`): the argument that sets the flag (in `command`/`args`, or the line of a start
 * script that holds it), the `env` entry of an ETCD_* variable, or the container when the flag is
 * absent or set elsewhere (a configuration file on the node).
 */
import { childAt, nodeAt, type SourceNode, type SourceTree } from '../input/positions.js';
import type { ReportFinding, ReportRow } from '../report/report.js';

type Path = ReadonlyArray<string | number>;

/** The container's node: its entry in the pod's `containers` or `initContainers`. */
function containerNode(pod: SourceNode | undefined, name: string | null): SourceNode | undefined {
  const spec = childAt(pod, 'spec');
  for (const list of ['containers', 'initContainers']) {
    for (const entry of childAt(spec, list)?.children ?? []) if (childAt(entry, 'name')?.value === name) return entry;
  }
  return undefined;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `--flag` or `-flag` as an argument of its own or inside a script: not `--flag-other`. */
function flagPattern(flag: string): RegExp {
  return new RegExp(`(?:^|[\\s'"=;(])(--?${escape(flag)})(?=$|[\\s='";)])`);
}

/** The offset of the argument that names `flag`: the first `command`/`args` item that holds it, where in the item it is. */
function argumentOffset(container: SourceNode, text: string, flag: string): number | undefined {
  const pattern = flagPattern(flag);
  for (const list of ['command', 'args']) {
    for (const item of childAt(container, list)?.children ?? []) {
      if (typeof item.value !== 'string' || !pattern.test(item.value)) continue;
      // Inside the item's text as written (a script's line, an argument in quotes).
      const written = pattern.exec(text.slice(item.at, item.end));
      return written === null ? item.at : item.at + written.index + written[0].indexOf(written[1] as string);
    }
  }
  return undefined;
}

/** The offset of the `env` entry that defines `name` (the last one: the kubelet keeps the last). */
function variableOffset(container: SourceNode, name: string): number | undefined {
  const entries = childAt(container, 'env')?.children ?? [];
  const entry = [...entries].reverse().find((e) => childAt(e, 'name')?.value === name);
  return entry?.at;
}

/**
 * Where one finding points: the first piece of evidence that names a place in the pod spec
 * (`--flag=… (argv)`, `--flag unknown: …`, `ETCD_X=… (env)`), else the container.
 */
function findingOffset(finding: ReportFinding, container: SourceNode, text: string): number {
  for (const evidence of finding.evidence) {
    const argv = /^--([A-Za-z0-9][A-Za-z0-9-]*)(?:=.* \(argv\)$| unknown: )/.exec(evidence);
    const at = argv !== null ? argumentOffset(container, text, argv[1] as string) : undefined;
    if (at !== undefined) return at;
    const env = /^([A-Za-z_][A-Za-z0-9_]*)=.* \(env\)$/.exec(evidence);
    const variable = env !== null ? variableOffset(container, env[1] as string) : undefined;
    if (variable !== undefined) return variable;
  }
  return container.at;
}

/**
 * The row with the position of its container (or its object) and of each finding, when the document
 * came from a file whose tree is known; the row as it is otherwise.
 */
export function located(row: ReportRow, tree: SourceTree | undefined, where: { readonly object: Path; readonly pod?: Path }): ReportRow {
  if (tree === undefined) return row;
  const container = where.pod === undefined ? undefined : containerNode(nodeAt(tree.root, where.pod), row.container);
  const anchor = container ?? nodeAt(tree.root, where.object) ?? tree.root;
  const here = tree.source.position(anchor.at);
  if (container === undefined || row.findings.length === 0) return { ...row, line: here.line, column: here.column };
  return {
    ...row,
    line: here.line,
    column: here.column,
    findings: row.findings.map((f) => {
      const p = tree.source.position(findingOffset(f, container, tree.source.text));
      return { ...f, line: p.line, column: p.column };
    }),
  };
}
