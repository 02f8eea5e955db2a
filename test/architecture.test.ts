/**
 * The shape of src/: data flows one way, front door → decode → one judgement → the front door's own
 * output. Read from the import statements of the TypeScript sources (static, type-only and dynamic
 * imports alike), so a cycle or an upward import fails here before review.
 *   npm run build && npx mocha dist/test/architecture.test.js
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/**
 * Which folders each folder may import from. The pipeline stages only look down; the front doors
 * (webhook, scan, audit) never import one another; only the CLI, the composition root, sees them all.
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  // stages of the one judgement
  launch: [],
  'program-config': ['launch'],
  rules: ['launch', 'program-config'],
  policy: ['launch', 'rules', 'input'],
  judgement: ['launch', 'program-config', 'rules', 'policy'],
  // decoding and validating input; the report every file/cluster front door prints
  input: ['launch'],
  report: ['launch', 'rules', 'policy', 'judgement', 'input'],
  // edges shared by front doors: the Kubernetes API (kube), the metrics and probe endpoint (metrics)
  certs: ['kube'],
  log: [],
  kube: ['launch', 'report'],
  metrics: [],
  // front doors
  webhook: ['launch', 'policy', 'judgement', 'input', 'certs', 'log', 'metrics'],
  scan: ['launch', 'policy', 'judgement', 'input', 'report'],
  audit: ['launch', 'policy', 'judgement', 'input', 'report', 'kube'],
  node: ['launch', 'program-config', 'policy', 'judgement', 'input', 'report', 'kube', 'metrics'],
  cli: [
    'launch',
    'program-config',
    'rules',
    'policy',
    'judgement',
    'input',
    'report',
    'certs',
    'log',
    'webhook',
    'scan',
    'audit',
    'node',
    'kube',
    'metrics',
  ],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** `import … from './x.js'`, `export … from`, `import type`, `import('./x.js')`: relative targets only. */
const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm;

/** file (relative to src, `.ts`) → the files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((m) => relative(SRC, resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts'))));
    graph.set(relative(SRC, file), [...new Set(targets)]);
  }
  return graph;
}

/** Every cycle's files, one list per strongly connected component of more than one file (or a self-import). */
export function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's algorithm, iterative over the component stack.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

/** `launch/env.ts` → `launch`; a file at the top of src/ is its own folder (`log.ts` → `log`). */
function folderOf(file: string): string {
  const parts = file.split('/');
  return parts.length > 1 ? (parts[0] as string) : (parts[0] as string).replace(/\.ts$/, '');
}

describe('architecture: the imports of src/', () => {
  const graph = importGraph();

  it('every import names a source file that exists', () => {
    const missing = [...graph].flatMap(([file, targets]) => targets.filter((t) => !graph.has(t)).map((t) => `${file} → ${t}`));
    expect(missing).to.deep.equal([]);
  });

  it('the cycle finder finds a cycle when there is one (so the next test can fail)', () => {
    const withCycle = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cyclesOf(withCycle)).to.deep.equal([['a.ts', 'b.ts', 'c.ts']]);
    expect(cyclesOf(new Map([['a.ts', ['a.ts']]]))).to.deep.equal([['a.ts']]);
  });

  it('has no import cycle between files', () => {
    expect(cyclesOf(graph)).to.deep.equal([]);
  });

  it('has no cycle between folders, and each folder imports only the folders below it', () => {
    const folders = new Set([...graph.keys()].map(folderOf));
    expect(
      [...folders].filter((f) => ALLOWED[f] === undefined),
      'a new folder needs its place in ALLOWED',
    ).to.deep.equal([]);
    const violations: string[] = [];
    const folderGraph = new Map<string, string[]>();
    for (const [file, targets] of graph) {
      const from = folderOf(file);
      for (const target of targets) {
        const to = folderOf(target);
        if (to === from) continue;
        folderGraph.set(from, [...new Set([...(folderGraph.get(from) ?? []), to])]);
        if (!(ALLOWED[from] ?? []).includes(to))
          violations.push(`${file} imports ${target} (${from} may import only: ${(ALLOWED[from] ?? []).join(', ') || 'nothing'})`);
      }
    }
    expect(violations).to.deep.equal([]);
    expect(cyclesOf(folderGraph)).to.deep.equal([]);
  });

  it('the pure stages do no I/O: no node: module, express, client-node or clock in launch, configuration, rules, judgement', () => {
    const impure = [...graph.keys()]
      .filter((f) => ['launch', 'program-config', 'rules', 'judgement'].includes(folderOf(f)))
      .filter((f) =>
        /from '(node:[^']+|express|@kubernetes\/client-node|pino)'|\bDate\.now\(|new Date\(/.test(readFileSync(join(SRC, f), 'utf8')),
      );
    expect(impure).to.deep.equal([]);
  });
});
