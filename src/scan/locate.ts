/**
 * Where in its file each finding points, for review tools (SARIF), test reports and editors
 * (`etcd.yaml:23:7`): the argument that sets the flag (in `command`/`args`, or the line of a start
 * script that holds it), the `env` entry of an ETCD_* variable, or the container when the flag is
 * absent or set elsewhere (a configuration file on the node).
 */
import { childAt, nodeAt, type SourceNode, type SourceTree } from '../input/positions.js';
import type { FindingLocator, ReportRow } from '../report/report.js';

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

const FLAG_PATTERNS = new Map<string, RegExp>();
/** `--flag` or `-flag` as an argument of its own or inside a script: not `--flag-other`. Made once per flag. */
function flagPattern(flag: string): RegExp {
  let pattern = FLAG_PATTERNS.get(flag);
  if (pattern === undefined) {
    pattern = new RegExp(`(?:^|[\\s'"=;(])(--?${escape(flag)})(?=$|[\\s='";)])`);
    // Flag names come from the rules' evidence; bounded all the same.
    if (FLAG_PATTERNS.size < 1_000) FLAG_PATTERNS.set(flag, pattern);
  }
  return pattern;
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
function findingOffset(evidences: readonly string[], container: SourceNode, text: string): number {
  for (const evidence of evidences) {
    const argv = /^--([A-Za-z0-9][A-Za-z0-9-]*)(?:=.* \(argv\)$| unknown: )/.exec(evidence);
    const at = argv !== null ? argumentOffset(container, text, argv[1] as string) : undefined;
    if (at !== undefined) return at;
    const env = /^([A-Za-z_][A-Za-z0-9_]*)=.* \(env\)$/.exec(evidence);
    const variable = env !== null ? variableOffset(container, env[1] as string) : undefined;
    if (variable !== undefined) return variable;
  }
  return container.at;
}

/** Where the rows of one object are: its containers and what their findings point at. */
export function locatorFor(
  tree: SourceTree | undefined,
  paths: { readonly object: Path; readonly pod?: Path },
): FindingLocator | undefined {
  if (tree === undefined || paths.pod === undefined) return undefined;
  const pod = nodeAt(tree.root, paths.pod);
  const object = nodeAt(tree.root, paths.object) ?? tree.root;
  const containers = new Map<string | null, SourceNode | undefined>();
  const containerOf = (name: string | null): SourceNode | undefined => {
    if (!containers.has(name)) containers.set(name, containerNode(pod, name));
    return containers.get(name);
  };
  return {
    container: (name) => tree.source.position((containerOf(name) ?? object).at),
    finding: (name, evidence) => {
      const container = containerOf(name);
      return tree.source.position(container === undefined ? object.at : findingOffset(evidence, container, tree.source.text));
    },
  };
}

/** A row with no findings (an object that declares no pod, a review let through): where its object is. */
export function located(row: ReportRow, tree: SourceTree | undefined, paths: { readonly object: Path }): ReportRow {
  if (tree === undefined) return row;
  const at = tree.source.position((nodeAt(tree.root, paths.object) ?? tree.root).at);
  return { ...row, line: at.line, column: at.column };
}
