/**
 * Where each node of a parsed document is in its file, so that a finding can point at the line and
 * column of the flag, the variable or the container it is about (`scan`'s text, JSON, SARIF and
 * JUnit). Built while the document is parsed, by either reader (manifests.ts), as a tree that
 * mirrors the document: a mapping's children are its keys and values in turn, a sequence's its items.
 */
import { isMap, isScalar, isSeq, type Node as YamlNode } from 'yaml';

export interface SourceNode {
  /** Offset in the text of the node's first character (a block scalar: its `|` or `>`). */
  readonly at: number;
  /** Offset just after the node. */
  readonly end: number;
  readonly kind: 'scalar' | 'mapping' | 'sequence';
  /** A scalar's value as read (a key's name, an argument's text). */
  readonly value?: unknown;
  readonly children: readonly SourceNode[];
}

/** A line and column, from 1, as editors and SARIF count them (the column in UTF-16 code units, as SARIF's default). */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** A file's text, and line and column of an offset in it (line starts found when first asked). */
export class SourceText {
  #lineStarts: number[] | undefined;
  constructor(readonly text: string) {}

  position(offset: number): SourcePosition {
    const starts = (this.#lineStarts ??= lineStarts(this.text));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (starts[lo] as number) + 1 };
  }
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** A document's nodes and the file they are in. */
export interface SourceTree {
  readonly source: SourceText;
  readonly root: SourceNode;
}

/** The child of a mapping under `key`, or the item of a sequence at `index`. */
export function childAt(node: SourceNode | undefined, step: string | number): SourceNode | undefined {
  if (node === undefined) return undefined;
  if (node.kind === 'sequence') return typeof step === 'number' ? node.children[step] : undefined;
  if (node.kind !== 'mapping') return undefined;
  // Keys and values in turn; a repeated key keeps its last value, as both readers do (uniqueKeys:
  // false, json: true).
  let found: SourceNode | undefined;
  for (let i = 0; i + 1 < node.children.length; i += 2) if (node.children[i]?.value === step) found = node.children[i + 1];
  return found;
}

/** The node at a path of keys and indexes. */
export function nodeAt(node: SourceNode | undefined, path: ReadonlyArray<string | number>): SourceNode | undefined {
  let current = node;
  for (const step of path) current = childAt(current, step);
  return current;
}

/**
 * Builds the trees of js-yaml's documents from its listener events (`open` where a node may start,
 * `close` where it ends, with its kind and value), in document order. A node's start is the first
 * character after the separation space and comments js-yaml is at when it opens the node.
 */
export class JsYamlPositions {
  readonly roots: SourceNode[] = [];
  // The nodes being read, innermost last: where each opened, and its children once it has some
  // (two stacks, not an object per node: a manifest has hundreds of nodes).
  readonly #openAt: number[] = [];
  readonly #openChildren: Array<SourceNode[] | undefined> = [];

  readonly listener = (event: string, state: { position: number; input: string; kind: string | null; result: unknown }): void => {
    if (event === 'open') {
      this.#openAt.push(state.position);
      this.#openChildren.push(undefined);
      return;
    }
    const opened = this.#openAt.pop();
    const children = this.#openChildren.pop() ?? NO_CHILDREN;
    if (opened === undefined) return;
    const text = state.input;
    let at = opened;
    for (;;) {
      const c = text.charCodeAt(at);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) at++;
      else if (c === 0x23) while (at < text.length && text.charCodeAt(at) !== 0x0a) at++;
      else break;
    }
    const kind = state.kind === 'mapping' || state.kind === 'sequence' ? state.kind : 'scalar';
    const end = state.position;
    // js-yaml opens some nodes twice (measured: a document's flow mapping, a sequence entry, a block
    // scalar): a collection whose only child is the same collection is that child; a scalar is what
    // it read, whatever empty attempt opened inside it.
    const only = children.length === 1 ? children[0] : undefined;
    let node: SourceNode;
    if (kind === 'scalar') node = { at, end, kind, value: state.result, children: NO_CHILDREN };
    else if (only !== undefined && only.kind === kind && only.at === at && only.end === end) node = only;
    else {
      // A mapping ends where js-yaml tried a next key and found none (`---`, a dedent): that empty
      // attempt is not a key.
      let items = kind === 'mapping' && children.length % 2 === 1 ? children.slice(0, -1) : children;
      // An empty entry (`- ` alone) is read as null without an event: put an empty node in its place,
      // so that an item's index finds its node.
      if (kind === 'sequence' && Array.isArray(state.result) && state.result.length > items.length)
        items = alignedItems(state.result, items);
      node = { at, end, kind, children: items };
    }
    const depth = this.#openChildren.length;
    if (depth === 0) this.roots.push(node);
    else (this.#openChildren[depth - 1] ??= []).push(node);
  };
}

const NO_CHILDREN: readonly SourceNode[] = Object.freeze([]);

/** The tree of a document read by the `yaml` package (the reference reader): its nodes keep their ranges. */
export function yamlTree(node: YamlNode | null | undefined, fallbackAt: number): SourceNode {
  if (node === null || node === undefined) return { at: fallbackAt, end: fallbackAt, kind: 'scalar', value: null, children: [] };
  const [at, , end] = node.range ?? [fallbackAt, fallbackAt, fallbackAt];
  if (isMap(node)) {
    const children: SourceNode[] = [];
    for (const pair of node.items) {
      const key = yamlTree(pair.key as YamlNode | null, at);
      children.push(key, yamlTree(pair.value as YamlNode | null, key.end));
    }
    return { at, end, kind: 'mapping', children };
  }
  if (isSeq(node)) return { at, end, kind: 'sequence', children: node.items.map((item) => yamlTree(item as YamlNode | null, at)) };
  return { at, end, kind: 'scalar', value: isScalar(node) ? node.value : undefined, children: [] };
}

/**
 * A sequence's item nodes, one per item. Every item that is not null has its node, in order; a null
 * item may have none (`- ` alone), so null items get an empty node where they stand.
 */
function alignedItems(items: readonly unknown[], nodes: readonly SourceNode[]): SourceNode[] {
  const valued = nodes.filter((n) => n.kind !== 'scalar' || n.value !== null);
  let next = 0;
  const out: SourceNode[] = [];
  for (const item of items) {
    const node = item === null ? undefined : valued[next++];
    const at = out[out.length - 1]?.end ?? valued[next]?.at ?? 0;
    out.push(node ?? { at, end: at, kind: 'scalar', value: null, children: [] });
  }
  return out;
}
