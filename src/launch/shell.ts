import { overlayEnvironment, type Environment } from './env.js';
import type { EnvValue, UnknownPart, Word } from './word.js';

/**
 * Enough of a POSIX shell (XCU "Shell Command Language", plus the bash forms control-plane pods use)
 * to find the programs a `sh -c SCRIPT` may run and the argv and environment each receives. The
 * script is parsed into its grammar (lists, `&&`/`||`, pipelines, `{ }`, `( )`, if/elif/else,
 * while/until/for, case, functions, `[[ ]]`, `(( ))`, `time`, `!`, redirections, here-documents)
 * and run symbolically: quoting, escapes, parameter expansion with field splitting, `"$@"`,
 * assignments (prefix, plain, export/declare/local, `set -a`), `unset`, `set --`, `exec`, `exit`,
 * `return` from a function, `&` (a subshell).
 * Where a path cannot be decided (a condition, how often a loop runs), every path is run and what
 * they disagree on becomes unknown; command substitution, arithmetic, `eval`, `read` and sourced
 * files are not run: whatever they may change is unknown, never guessed. Everything is bounded
 * (SHELL_LIMITS).
 */

export class ShellSyntaxError extends Error {
  override name = 'ShellSyntaxError';
}

type Segment =
  | { kind: 'lit'; text: string; quoted: boolean }
  | { kind: 'param'; name: string; quoted: boolean; fallback?: { text: string; ifEmpty: boolean } }
  | { kind: 'opaque'; raw: string; quoted: boolean; reason: string };

type WordToken = { kind: 'word'; segments: Segment[]; raw: string };
type Token = WordToken | { kind: 'op'; op: string };

export interface ShellCommand {
  /** The command's argv after expansion, with assignments and redirections removed. */
  readonly argv: Word[];
  /** The environment the command's process receives. */
  readonly env: Environment;
}

// `<<<` first: bash's here-string (`cmd <<< "$WORD"`: the word on stdin) is one redirection, not a
// here-document whose delimiter is `<` (which made the rest of a script its body).
const OPERATORS = ['&&', '||', ';;', '<<<', '<<-', '<<', '>>', '<&', '>&', '<>', '>|', '&>', '|&', ';', '&', '|', '(', ')', '<', '>'];
const REDIRECTIONS = new Set(['<', '>', '>>', '<&', '>&', '<>', '>|', '&>', '<<', '<<-', '<<<']);
/** First characters of OPERATORS: most characters of a word are not one, and need no further look. */
const OPERATOR_START = new Set(OPERATORS.map((o) => o[0] as string));
/**
 * A run of characters that are literal in an unquoted word: no blank, quote, escape, expansion or
 * operator character. Read in one slice instead of one character at a time.
 */
const PLAIN_RUN = /[^ \t\n\\'"$`&|;()<>]+/y;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=/;

class Lexer {
  private i = 0;
  private readonly tokens: Token[] = [];
  private readonly pendingHeredocs: Array<{ delimiter: string; stripTabs: boolean }> = [];

  constructor(private readonly src: string) {}

  lex(): Token[] {
    const s = this.src;
    while (this.i < s.length) {
      const c = s[this.i] as string;
      if (c === ' ' || c === '\t') {
        this.i++;
      } else if (c === '\\' && s[this.i + 1] === '\n') {
        this.i += 2;
      } else if (c === '#') {
        while (this.i < s.length && s[this.i] !== '\n') this.i++;
      } else if (c === '\n') {
        this.i++;
        this.tokens.push({ kind: 'op', op: '\n' });
        this.skipHeredocBodies();
      } else {
        const op = OPERATORS.find((o) => s.startsWith(o, this.i));
        if (op !== undefined) {
          this.i += op.length;
          this.tokens.push({ kind: 'op', op });
          if (op === '<<' || op === '<<-') this.readHeredocDelimiter(op === '<<-');
        } else {
          this.tokens.push(this.readWord());
        }
      }
    }
    return this.tokens;
  }

  private readHeredocDelimiter(stripTabs: boolean): void {
    while (this.src[this.i] === ' ' || this.src[this.i] === '\t') this.i++;
    const word = this.readWord();
    const delimiter = word.segments
      .map((seg) => (seg.kind === 'lit' ? seg.text : seg.kind === 'param' ? `$${seg.name}` : seg.raw))
      .join('');
    this.tokens.push(word);
    this.pendingHeredocs.push({ delimiter, stripTabs });
  }

  private skipHeredocBodies(): void {
    while (this.pendingHeredocs.length > 0) {
      const { delimiter, stripTabs } = this.pendingHeredocs.shift() as { delimiter: string; stripTabs: boolean };
      for (;;) {
        if (this.i >= this.src.length) throw new ShellSyntaxError(`here-document delimited by "${delimiter}" is not terminated`);
        const end = this.src.indexOf('\n', this.i);
        const line = this.src.slice(this.i, end === -1 ? this.src.length : end);
        this.i = end === -1 ? this.src.length : end + 1;
        if ((stripTabs ? line.replace(/^\t+/, '') : line) === delimiter) break;
      }
    }
  }

  private readWord(): WordToken {
    const s = this.src;
    const start = this.i;
    const segments: Segment[] = [];
    const lit = (text: string, quoted: boolean): void => {
      const last = segments[segments.length - 1];
      if (last !== undefined && last.kind === 'lit' && last.quoted === quoted) last.text += text;
      else segments.push({ kind: 'lit', text, quoted });
    };
    while (this.i < s.length) {
      const c = s[this.i] as string;
      if (c === ' ' || c === '\t' || c === '\n') break;
      if (OPERATOR_START.has(c) && OPERATORS.some((o) => s.startsWith(o, this.i))) break;
      if (c === '\\') {
        if (s[this.i + 1] === '\n') {
          this.i += 2;
        } else if (this.i + 1 < s.length) {
          lit(s[this.i + 1] as string, true);
          this.i += 2;
        } else {
          lit('\\', false);
          this.i++;
        }
      } else if (c === "'") {
        const end = s.indexOf("'", this.i + 1);
        if (end === -1) throw new ShellSyntaxError('unterminated single quote');
        lit(s.slice(this.i + 1, end), true);
        this.i = end + 1;
      } else if (c === '"') {
        this.readDoubleQuoted(segments, lit);
      } else if (c === '$') {
        this.readDollar(segments, lit, false);
      } else if (c === '`') {
        segments.push(this.readBackquote(false));
      } else {
        PLAIN_RUN.lastIndex = this.i;
        const run = PLAIN_RUN.exec(s);
        const text = run === null ? c : run[0];
        lit(text, false);
        this.i += text.length;
      }
    }
    return { kind: 'word', segments, raw: s.slice(start, this.i) };
  }

  private readDoubleQuoted(segments: Segment[], lit: (text: string, quoted: boolean) => void): void {
    const s = this.src;
    this.i++;
    let closed = false;
    // An empty "" still makes a (quoted, empty) field.
    lit('', true);
    while (this.i < s.length) {
      const c = s[this.i] as string;
      if (c === '"') {
        this.i++;
        closed = true;
        break;
      }
      if (c === '\\') {
        const n = s[this.i + 1];
        // Inside double quotes a backslash escapes only $ ` " \ and newline (XCU 2.2.3).
        if (n === '\n') this.i += 2;
        else if (n === '$' || n === '`' || n === '"' || n === '\\') {
          lit(n, true);
          this.i += 2;
        } else {
          lit('\\', true);
          this.i++;
        }
      } else if (c === '$') {
        this.readDollar(segments, lit, true);
      } else if (c === '`') {
        segments.push(this.readBackquote(true));
      } else {
        lit(c, true);
        this.i++;
      }
    }
    if (!closed) throw new ShellSyntaxError('unterminated double quote');
  }

  private readBackquote(quoted: boolean): Segment {
    const s = this.src;
    let j = this.i + 1;
    while (j < s.length && s[j] !== '`') j += s[j] === '\\' ? 2 : 1;
    if (j >= s.length) throw new ShellSyntaxError('unterminated command substitution (`)');
    const raw = s.slice(this.i, j + 1);
    this.i = j + 1;
    return { kind: 'opaque', raw, quoted, reason: `the command substitution ${raw} is only known when the script runs` };
  }

  /** Index just after the parenthesis that closes the one at `open`, honouring quotes and nesting. */
  private matchParen(open: number): number {
    const s = this.src;
    let depth = 0;
    for (let j = open; j < s.length; j++) {
      const c = s[j];
      if (c === '\\') j++;
      else if (c === "'") {
        const end = s.indexOf("'", j + 1);
        if (end === -1) break;
        j = end;
      } else if (c === '(') depth++;
      else if (c === ')') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new ShellSyntaxError('unterminated $( command substitution');
  }

  private readDollar(segments: Segment[], lit: (text: string, quoted: boolean) => void, quoted: boolean): void {
    const s = this.src;
    const n = s[this.i + 1];
    if (n === '(') {
      const end = this.matchParen(this.i + 1);
      const raw = s.slice(this.i, end);
      this.i = end;
      const what = raw.startsWith('$((') ? 'arithmetic expansion' : 'command substitution';
      segments.push({ kind: 'opaque', raw, quoted, reason: `the ${what} ${raw} is only known when the script runs` });
      return;
    }
    if (n === '{') {
      const end = s.indexOf('}', this.i + 2);
      if (end === -1) throw new ShellSyntaxError('unterminated ${');
      const body = s.slice(this.i + 2, end);
      const raw = s.slice(this.i, end + 1);
      this.i = end + 1;
      const simple = /^([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])$/.exec(body);
      const withDefault = /^([A-Za-z_][A-Za-z0-9_]*)(:?)-([^$`'"\\]*)$/.exec(body);
      if (simple !== null) segments.push({ kind: 'param', name: simple[1] as string, quoted });
      else if (withDefault !== null)
        segments.push({
          kind: 'param',
          name: withDefault[1] as string,
          quoted,
          fallback: { text: withDefault[3] as string, ifEmpty: withDefault[2] === ':' },
        });
      else segments.push({ kind: 'opaque', raw, quoted, reason: `the expansion ${raw} is not evaluated by etcd-tls-guard` });
      return;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(this.i + 1));
    if (name !== null) {
      segments.push({ kind: 'param', name: name[0], quoted });
      this.i += 1 + name[0].length;
      return;
    }
    if (n !== undefined && /[0-9@*#?$!-]/.test(n)) {
      segments.push({ kind: 'param', name: n, quoted });
      this.i += 2;
      return;
    }
    lit('$', quoted);
    this.i++;
  }
}

/**
 * Limits of the interpreter, so that no script (however hostile) makes it run long or build large
 * strings: a script is at most what fits in a pod (1.5 MiB in etcd), but `A=$A$A` doubles a value
 * per line and a loop or function can repeat work. Reaching a limit throws ShellLimitError: what the
 * script runs is then unknown, never guessed.
 */
export const SHELL_LIMITS = {
  /** Simple commands evaluated, loop passes and function calls included. */
  steps: 20_000,
  /** Characters produced by expansions, over the whole script. */
  expandedChars: 8 * 1024 * 1024,
  /** Characters of one variable's value; a longer value becomes unknown. */
  valueChars: 256 * 1024,
  /** Nesting of compound commands and function calls. */
  depth: 64,
} as const;

export class ShellLimitError extends Error {
  override name = 'ShellLimitError';
}

interface Budget {
  steps: number;
  chars: number;
}

/** A variable as a branch of the script may leave it: set, removed (`unset`), or as inherited. */
type Binding = { readonly kind: 'set'; readonly value: EnvValue } | { readonly kind: 'removed' };

/** Whether a variable is exported: certainly, or only on some paths through the script. */
type ExportState = 'yes' | 'maybe';

/** Shell variables as the script sees them, layered over the container's environment. */
class ShellState {
  bindings = new Map<string, Binding>();
  exported = new Map<string, ExportState>();
  /** `set -a`: every assignment is exported. */
  allExport: 'on' | 'off' | 'maybe' = 'off';
  /** Set when the script ran something that may change any variable (`.`, `source`, `eval`). */
  opaque: string | undefined;
  /** The script has ended on this path (`exit`, or `exec` of a program). */
  terminated = false;
  functions = new Map<string, Node>();

  constructor(
    readonly env: Environment,
    public positional: Word[],
    readonly scriptName: Word,
    readonly budget: Budget,
  ) {}

  clone(): ShellState {
    const c = new ShellState(this.env, this.positional, this.scriptName, this.budget);
    c.bindings = new Map(this.bindings);
    c.exported = new Map(this.exported);
    c.allExport = this.allExport;
    c.opaque = this.opaque;
    c.terminated = this.terminated;
    c.functions = new Map(this.functions);
    return c;
  }

  lookup(name: string): EnvValue | undefined {
    const b = this.bindings.get(name);
    if (b !== undefined) return b.kind === 'set' ? b.value : undefined;
    if (this.opaque !== undefined) return { state: 'unknown', reason: this.opaque };
    return this.env.get(name);
  }

  /** After `.`, `source` or `eval`: any variable may have changed; later assignments are known again. */
  makeOpaque(reason: string): void {
    this.opaque = reason;
    this.bindings.clear();
  }

  unset(name: string): void {
    this.bindings.set(name, { kind: 'removed' });
    this.exported.delete(name);
  }

  assign(name: string, value: EnvValue, exportIt: boolean): void {
    const bounded =
      value.state === 'known' && value.value.length > SHELL_LIMITS.valueChars
        ? { state: 'unknown' as const, reason: `is longer than ${SHELL_LIMITS.valueChars} characters, more than etcd-tls-guard follows` }
        : value;
    const wasRemoved = this.bindings.get(name)?.kind === 'removed';
    this.bindings.set(name, { kind: 'set', value: bounded });
    if (exportIt || this.allExport === 'on') this.exported.set(name, 'yes');
    else if (this.allExport === 'maybe' && this.exported.get(name) !== 'yes') this.exported.set(name, 'maybe');
    // A variable inherited from the environment stays exported when reassigned (XCU 2.5.3), unless
    // `unset` dropped it first.
    else if (!wasRemoved && this.env.get(name) !== undefined) this.exported.set(name, 'yes');
  }

  processEnvironment(prefixAssignments: ReadonlyMap<string, EnvValue>): Environment {
    const overrides = new Map<string, EnvValue>();
    const removed = new Set<string>();
    for (const [name, b] of this.bindings) {
      if (b.kind === 'removed') removed.add(name);
    }
    for (const [name, how] of this.exported) {
      const b = this.bindings.get(name);
      if (b?.kind !== 'set') continue;
      const inherited = this.env.get(name) !== undefined;
      if (how === 'yes' || inherited) overrides.set(name, b.value);
      else overrides.set(name, { state: 'unknown', reason: 'is exported on some paths through the script only', maybeUnset: true });
    }
    for (const [k, v] of prefixAssignments) overrides.set(k, v);
    return overlayEnvironment(this.env, overrides, { ...(this.opaque !== undefined ? { opaque: this.opaque } : {}), removed });
  }

  /** Counts one step of work; throws when the script needs more than the interpreter gives it. */
  step(): void {
    if (++this.budget.steps > SHELL_LIMITS.steps) throw new ShellLimitError(`the script runs more than ${SHELL_LIMITS.steps} commands`);
  }

  charge(chars: number): void {
    this.budget.chars += chars;
    if (this.budget.chars > SHELL_LIMITS.expandedChars)
      throw new ShellLimitError(`the script builds more than ${SHELL_LIMITS.expandedChars} characters`);
  }
}

function sameValue(a: Binding | undefined, b: Binding | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.kind !== b.kind) return false;
  if (a.kind === 'removed' || b.kind === 'removed') return true;
  return a.value.state === 'known' && b.value.state === 'known' && a.value.value === b.value.value;
}

/**
 * The state after one of several paths was taken (if/elif/else arms, a loop that runs its body or
 * not, the right side of && and ||): what all live paths agree on stays known; a variable they
 * disagree on is unknown, with the construct that changes it as the reason.
 */
function mergePaths(paths: readonly ShellState[], construct: string): ShellState {
  const live = paths.filter((p) => !p.terminated);
  const first = paths[0] as ShellState;
  if (live.length === 0) {
    const ended = first.clone();
    ended.terminated = true;
    return ended;
  }
  if (live.length === 1) return live[0] as ShellState;
  const out = (live[0] as ShellState).clone();
  const names = new Set<string>();
  for (const p of live) for (const n of p.bindings.keys()) names.add(n);
  for (const name of names) {
    const values = live.map((p) => p.bindings.get(name));
    if (values.every((v) => sameValue(v, values[0]))) continue;
    const maybeUnset = values.some((v) => (v === undefined ? live[0]?.env.get(name) === undefined : v.kind === 'removed'));
    const reason = `may be changed by ${construct}`;
    out.bindings.set(name, {
      kind: 'set',
      value: maybeUnset ? { state: 'unknown', reason, maybeUnset: true } : { state: 'unknown', reason },
    });
  }
  const exportNames = new Set<string>();
  for (const p of live) for (const n of p.exported.keys()) exportNames.add(n);
  out.exported = new Map();
  for (const name of exportNames) out.exported.set(name, live.every((p) => p.exported.get(name) === 'yes') ? 'yes' : 'maybe');
  out.allExport = live.every((p) => p.allExport === 'on') ? 'on' : live.every((p) => p.allExport === 'off') ? 'off' : 'maybe';
  out.opaque = live.find((p) => p.opaque !== undefined)?.opaque;
  for (const p of live) for (const [n, f] of p.functions) out.functions.set(n, f);
  return out;
}

/** Expands one word: parameters, `"$@"`, and field splitting of unquoted expansions (default IFS). */
function expandWord(segments: readonly Segment[], state: ShellState, split: boolean): Word[] {
  const fields: Word[] = [];
  let text = '';
  let unknown: UnknownPart | undefined;
  let started = false; // a field exists even if empty (quoted "" or a literal)
  const flush = (): void => {
    if (started) fields.push(unknown === undefined ? { text } : { text, unknown });
    text = '';
    unknown = undefined;
    started = false;
  };
  const appendUnknown = (raw: string, reason: string, quoted: boolean, separatorFree = false): void => {
    // An unquoted unknown expansion may also split into several fields, so nothing in this field,
    // not even what precedes it, can be taken as one argument, unless its value holds no
    // whitespace (separatorFree: an IP address, a node name).
    if (unknown === undefined)
      unknown = { at: quoted || !split || separatorFree ? text.length : 0, reason, ...(separatorFree ? { separatorFree } : {}) };
    else if (!separatorFree && unknown.separatorFree === true) unknown = { at: unknown.at, reason: unknown.reason };
    text += raw;
    started = true;
  };
  const appendValue = (value: string, quoted: boolean): void => {
    if (text.length + value.length > SHELL_LIMITS.expandedChars)
      throw new ShellLimitError(`the script builds an argument longer than ${SHELL_LIMITS.expandedChars} characters`);
    if (quoted || !split) {
      text += value;
      started = true;
      return;
    }
    const parts = value.split(/[ \t\n]+/);
    parts.forEach((part, idx) => {
      if (idx > 0) flush();
      if (part !== '') {
        text += part;
        started = true;
      }
    });
  };
  for (const seg of segments) {
    if (seg.kind === 'lit') {
      text += seg.text;
      if (seg.text !== '' || seg.quoted) started = true;
      continue;
    }
    if (seg.kind === 'opaque') {
      appendUnknown(seg.raw, seg.reason, seg.quoted);
      continue;
    }
    const name = seg.name;
    if (name === '@' || name === '*') {
      const params = state.positional;
      if (seg.quoted && name === '@') {
        params.forEach((p, idx) => {
          if (idx > 0) flush();
          if (p.unknown !== undefined && unknown === undefined) unknown = { at: text.length + p.unknown.at, reason: p.unknown.reason };
          text += p.text;
          started = true;
        });
      } else {
        const joined = params.map((w) => w.text).join(' ');
        const u = params.find((p) => p.unknown !== undefined);
        if (u?.unknown !== undefined) appendUnknown(joined, u.unknown.reason, seg.quoted);
        else appendValue(joined, seg.quoted);
      }
      continue;
    }
    let value: EnvValue | undefined;
    if (/^[0-9]+$/.test(name)) {
      const n = Number(name);
      const w = n === 0 ? state.scriptName : state.positional[n - 1];
      value =
        w === undefined
          ? undefined
          : w.unknown === undefined
            ? { state: 'known', value: w.text, origin: 'shell' }
            : { state: 'unknown', reason: w.unknown.reason };
    } else if (name === '#') {
      value = { state: 'known', value: String(state.positional.length), origin: 'shell' };
    } else if (NAME.test(name)) {
      value = state.lookup(name);
    } else {
      value = { state: 'unknown', reason: `the special parameter $${name} is only known when the script runs` };
    }
    const raw = `\${${name}}`;
    if (value === undefined || (value.state === 'known' && value.value === '' && seg.fallback?.ifEmpty === true)) {
      appendValue(seg.fallback?.text ?? '', seg.quoted);
    } else if (value.state === 'known') {
      appendValue(value.value, seg.quoted);
    } else {
      appendUnknown(raw, `$${name} ${value.reason}`, seg.quoted, value.separatorFree === true);
    }
  }
  flush();
  return fields;
}

function isAssignmentWord(token: WordToken): string | undefined {
  const first = token.segments[0];
  if (first === undefined || first.kind !== 'lit' || first.quoted) return undefined;
  return ASSIGNMENT.exec(first.text)?.[1];
}

function assignmentValue(token: WordToken, name: string, state: ShellState): EnvValue {
  const [first, ...rest] = token.segments;
  const head = first as Segment & { kind: 'lit' };
  const segments: Segment[] = [{ kind: 'lit', text: head.text.slice(name.length + 1), quoted: true }, ...rest];
  const word = expandWord(segments, state, false)[0] ?? { text: '' };
  if (word.unknown === undefined) return { state: 'known', value: word.text, origin: 'shell' };
  return word.unknown.separatorFree === true
    ? { state: 'unknown', reason: word.unknown.reason, separatorFree: true, text: word.text }
    : { state: 'unknown', reason: word.unknown.reason };
}

// ---------------------------------------------------------------------------------------------
// Parser: the shell grammar (XCU 2.9, plus bash's [[ ]], (( )), `function` and {NAME}> redirections)

type Node =
  | { readonly kind: 'simple'; readonly words: readonly WordToken[] }
  | { readonly kind: 'list'; readonly items: readonly Node[] }
  | { readonly kind: 'andor'; readonly first: Node; readonly rest: ReadonlyArray<{ readonly op: string; readonly node: Node }> }
  | { readonly kind: 'pipeline'; readonly commands: readonly Node[] }
  | { readonly kind: 'group'; readonly body: Node; readonly subshell: boolean }
  | { readonly kind: 'if'; readonly arms: ReadonlyArray<{ readonly cond: Node; readonly body: Node }>; readonly elseBody?: Node }
  | { readonly kind: 'loop'; readonly what: 'while' | 'until'; readonly cond: Node; readonly body: Node }
  | { readonly kind: 'for'; readonly name?: string; readonly words?: readonly WordToken[]; readonly body: Node }
  | { readonly kind: 'case'; readonly arms: readonly Node[] }
  | { readonly kind: 'function'; readonly name: string; readonly body: Node }
  /** `[[ ... ]]` and `(( ... ))`: tests; arithmetic may assign the variables it names. */
  | { readonly kind: 'test'; readonly assigns: readonly string[] };

const LIST_SEPARATORS = new Set([';', '&', '\n']);
const PIPELINE_END = new Set(['&&', '||', ';', '&', '\n', ';;', ')', '|', '|&']);

class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parseScript(): Node {
    const list = this.parseList(new Set());
    const t = this.tokens[this.i];
    if (t !== undefined) throw new ShellSyntaxError(`syntax error near unexpected token \`${t.kind === 'op' ? t.op : t.raw}'`);
    return list;
  }

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private isWord(t: Token | undefined, raw: string): boolean {
    return t !== undefined && t.kind === 'word' && t.raw === raw;
  }

  private isOp(t: Token | undefined, op: string): boolean {
    return t !== undefined && t.kind === 'op' && t.op === op;
  }

  private skipNewlines(): void {
    while (this.isOp(this.peek(), '\n')) this.i++;
  }

  private expectWord(raw: string): void {
    this.skipNewlines();
    if (!this.isWord(this.peek(), raw)) {
      const t = this.peek();
      throw new ShellSyntaxError(
        `expected \`${raw}' but found ${t === undefined ? 'the end of the script' : `\`${t.kind === 'op' ? t.op : t.raw}'`}`,
      );
    }
    this.i++;
  }

  /** An and-or list per line or `;`, up to a reserved word in `until` (in command position) or `)`/`;;`. */
  private parseList(until: ReadonlySet<string>): Node {
    if (++this.depth > SHELL_LIMITS.depth)
      throw new ShellLimitError(`the script nests compound commands more than ${SHELL_LIMITS.depth} deep`);
    const items: Node[] = [];
    for (;;) {
      while (this.peek() !== undefined && this.peek()?.kind === 'op' && LIST_SEPARATORS.has((this.peek() as { op: string }).op)) this.i++;
      const t = this.peek();
      if (t === undefined) break;
      if (t.kind === 'op' && (t.op === ')' || t.op === ';;')) break;
      if (t.kind === 'word' && until.has(t.raw)) break;
      const item = this.parseAndOr();
      // `cmd &`: an asynchronous list runs in a subshell (XCU 2.9.3.1): what it starts is started,
      // but its assignments and its `exit` (`collect_member &` whose function ends in `exit 0`)
      // do not reach the script.
      items.push(this.isOp(this.peek(), '&') ? { kind: 'group', body: item, subshell: true } : item);
    }
    this.depth--;
    return { kind: 'list', items };
  }

  private parseAndOr(): Node {
    const first = this.parsePipeline();
    const rest: Array<{ op: string; node: Node }> = [];
    for (;;) {
      const t = this.peek();
      if (!(this.isOp(t, '&&') || this.isOp(t, '||'))) break;
      this.i++;
      this.skipNewlines();
      rest.push({ op: (t as { op: string }).op, node: this.parsePipeline() });
    }
    return rest.length === 0 ? first : { kind: 'andor', first, rest };
  }

  private parsePipeline(): Node {
    // `!` and `time [-p]` prefix a pipeline (XCU 2.9.2; `time` is a bash reserved word).
    for (;;) {
      const t = this.peek();
      if (this.isWord(t, '!')) this.i++;
      else if (this.isWord(t, 'time')) {
        this.i++;
        if (this.isWord(this.peek(), '-p')) this.i++;
      } else break;
    }
    const commands = [this.parseCommand()];
    while (this.isOp(this.peek(), '|') || this.isOp(this.peek(), '|&')) {
      this.i++;
      this.skipNewlines();
      commands.push(this.parseCommand());
    }
    return commands.length === 1 ? (commands[0] as Node) : { kind: 'pipeline', commands };
  }

  private parseCommand(): Node {
    const t = this.peek();
    if (t === undefined) throw new ShellSyntaxError('syntax error: unexpected end of the script');
    let node: Node;
    if (t.kind === 'op' && t.op === '(') {
      this.i++;
      if (this.isOp(this.peek(), '(')) node = this.parseArithmetic();
      else {
        const body = this.parseList(new Set());
        if (!this.isOp(this.peek(), ')')) throw new ShellSyntaxError('syntax error: `(` is not closed');
        this.i++;
        node = { kind: 'group', body, subshell: true };
      }
    } else if (t.kind === 'op') {
      throw new ShellSyntaxError(`syntax error near unexpected token \`${t.op}'`);
    } else {
      switch (t.raw) {
        case '{': {
          this.i++;
          const body = this.parseList(new Set(['}']));
          this.expectWord('}');
          node = { kind: 'group', body, subshell: false };
          break;
        }
        case 'if':
          node = this.parseIf();
          break;
        case 'while':
        case 'until': {
          this.i++;
          const cond = this.parseList(new Set(['do']));
          this.expectWord('do');
          const body = this.parseList(new Set(['done']));
          this.expectWord('done');
          node = { kind: 'loop', what: t.raw, cond, body };
          break;
        }
        case 'for':
          node = this.parseFor();
          break;
        case 'case':
          node = this.parseCase();
          break;
        case 'function': {
          this.i++;
          const name = this.peek();
          if (name === undefined || name.kind !== 'word') throw new ShellSyntaxError('syntax error: `function` without a name');
          this.i++;
          if (this.isOp(this.peek(), '(')) {
            this.i++;
            if (!this.isOp(this.peek(), ')')) throw new ShellSyntaxError('syntax error in function definition');
            this.i++;
          }
          this.skipNewlines();
          node = { kind: 'function', name: name.raw, body: this.parseCommand() };
          break;
        }
        case '[[':
          node = this.parseDoubleBracket();
          break;
        default: {
          const next = this.tokens[this.i + 1];
          const after = this.tokens[this.i + 2];
          if (NAME.test(t.raw) && this.isOp(next, '(') && this.isOp(after, ')')) {
            this.i += 3;
            this.skipNewlines();
            node = { kind: 'function', name: t.raw, body: this.parseCommand() };
          } else {
            return this.parseSimple();
          }
        }
      }
    }
    this.skipRedirections();
    return node;
  }

  private parseIf(): Node {
    const arms: Array<{ cond: Node; body: Node }> = [];
    let elseBody: Node | undefined;
    this.i++; // if
    for (;;) {
      const cond = this.parseList(new Set(['then']));
      this.expectWord('then');
      const body = this.parseList(new Set(['elif', 'else', 'fi']));
      arms.push({ cond, body });
      this.skipNewlines();
      const t = this.peek();
      if (this.isWord(t, 'elif')) {
        this.i++;
        continue;
      }
      if (this.isWord(t, 'else')) {
        this.i++;
        elseBody = this.parseList(new Set(['fi']));
      }
      this.expectWord('fi');
      break;
    }
    return elseBody === undefined ? { kind: 'if', arms } : { kind: 'if', arms, elseBody };
  }

  private parseFor(): Node {
    this.i++; // for
    if (this.isOp(this.peek(), '(')) {
      // for (( init; cond; step )): an arithmetic loop; its variables are not followed.
      this.i++;
      const arith = this.parseArithmetic();
      this.skipSeparators();
      this.expectWord('do');
      const body = this.parseList(new Set(['done']));
      this.expectWord('done');
      return { kind: 'list', items: [arith, { kind: 'loop', what: 'while', cond: { kind: 'list', items: [] }, body }] };
    }
    const name = this.peek();
    if (name === undefined || name.kind !== 'word' || !NAME.test(name.raw))
      throw new ShellSyntaxError('syntax error: `for` needs a variable name');
    this.i++;
    this.skipNewlines();
    let words: WordToken[] | undefined;
    if (this.isWord(this.peek(), 'in')) {
      this.i++;
      words = [];
      for (let t = this.peek(); t !== undefined && t.kind === 'word'; t = this.peek()) {
        words.push(t);
        this.i++;
      }
    }
    this.skipSeparators();
    this.expectWord('do');
    const body = this.parseList(new Set(['done']));
    this.expectWord('done');
    return words === undefined ? { kind: 'for', name: name.raw, body } : { kind: 'for', name: name.raw, words, body };
  }

  private skipSeparators(): void {
    while (this.isOp(this.peek(), ';') || this.isOp(this.peek(), '\n')) this.i++;
  }

  private parseCase(): Node {
    this.i++; // case
    const subject = this.peek();
    if (subject === undefined || subject.kind !== 'word') throw new ShellSyntaxError('syntax error: `case` needs a word');
    this.i++;
    this.expectWord('in');
    const arms: Node[] = [];
    for (;;) {
      this.skipNewlines();
      if (this.isWord(this.peek(), 'esac')) {
        this.i++;
        break;
      }
      if (this.isOp(this.peek(), '(')) this.i++;
      // Patterns: words separated by `|`, up to `)`.
      for (;;) {
        const p = this.peek();
        if (p === undefined) throw new ShellSyntaxError('syntax error: `case` is not closed with `esac`');
        this.i++;
        if (p.kind === 'op' && p.op === ')') break;
      }
      arms.push(this.parseList(new Set(['esac'])));
      if (this.isOp(this.peek(), ';;')) this.i++;
      else if (!this.isWord(this.peek(), 'esac') && this.peek() !== undefined) throw new ShellSyntaxError('syntax error in `case` arm');
    }
    return { kind: 'case', arms };
  }

  /** `((` … `))` with the first `(` consumed: the names it mentions may be assigned. */
  private parseArithmetic(): Node {
    this.i++; // second (
    const assigns: string[] = [];
    let depth = 0;
    for (;;) {
      const t = this.peek();
      if (t === undefined) throw new ShellSyntaxError('syntax error: `((` is not closed');
      this.i++;
      if (t.kind === 'op' && t.op === '(') depth++;
      else if (t.kind === 'op' && t.op === ')') {
        if (depth === 0) {
          if (!this.isOp(this.peek(), ')')) throw new ShellSyntaxError('syntax error: `((` is not closed with `))`');
          this.i++;
          break;
        }
        depth--;
      } else if (t.kind === 'word') {
        for (const m of t.raw.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)) assigns.push(m[0]);
      }
    }
    return { kind: 'test', assigns };
  }

  private parseDoubleBracket(): Node {
    this.i++; // [[
    for (;;) {
      const t = this.peek();
      if (t === undefined) throw new ShellSyntaxError('syntax error: `[[` is not closed with `]]`');
      this.i++;
      if (t.kind === 'word' && t.raw === ']]') break;
    }
    return { kind: 'test', assigns: [] };
  }

  private skipRedirections(): void {
    while (this.peek()?.kind === 'op' && REDIRECTIONS.has((this.peek() as { op: string }).op)) {
      this.i++;
      if (this.peek()?.kind === 'word') this.i++;
    }
  }

  private parseSimple(): Node {
    const words: WordToken[] = [];
    for (;;) {
      const t = this.peek();
      if (t === undefined) break;
      if (t.kind === 'op') {
        if (REDIRECTIONS.has(t.op)) {
          this.i++;
          if (this.peek()?.kind === 'word') this.i++; // the redirection's target is not an argument
          continue;
        }
        if (PIPELINE_END.has(t.op) || t.op === '(') break;
        throw new ShellSyntaxError(`syntax error near unexpected token \`${t.op}'`);
      }
      words.push(t);
      this.i++;
    }
    return { kind: 'simple', words };
  }
}

/**
 * An IO number (`2>&1`) or bash's IO variable (`exec {FD}>file`) is lexed as a word directly
 * followed by a redirection: drop it.
 */
function dropIoNumbers(tokens: Token[]): Token[] {
  return tokens.filter((t, idx) => {
    if (t.kind !== 'word' || !/^([0-9]+|\{[A-Za-z_][A-Za-z0-9_]*\})$/.test(t.raw)) return true;
    const next = tokens[idx + 1];
    return !(next !== undefined && next.kind === 'op' && REDIRECTIONS.has(next.op));
  });
}

// ---------------------------------------------------------------------------------------------
// Interpreter: runs the script symbolically. Every program it may execute is recorded with its argv
// and environment; where a path cannot be decided (a condition, a loop count), each path is run and
// their states merged (mergePaths), so only what a path may change becomes unknown.

/** A `for` over at most this many known words is run once per word. */
const FOR_UNROLL = 16;

/**
 * Files a script may source (`. FILE`, `source FILE`), read on the node by a node check: the text,
 * or why it cannot be read. Without it (the webhook, scan), a sourced file makes the environment unknown.
 */
export type SourcedFiles = (path: string) => { readonly text: string } | { readonly reason: string };

class Interpreter {
  readonly commands: ShellCommand[] = [];
  private callDepth = 0;
  /** For each function being run, the states in which it returned (`return` ends only the function). */
  private readonly returns: ShellState[][] = [];
  private recording = true;
  constructor(private readonly sourced?: SourcedFiles) {}

  run(node: Node, state: ShellState): ShellState {
    if (state.terminated) return state;
    switch (node.kind) {
      case 'list': {
        let s = state;
        for (const item of node.items) {
          s = this.run(item, s);
          if (s.terminated) break;
        }
        return s;
      }
      case 'andor': {
        // `a && b`, `a || b`: whether b runs depends on a's status, which is not known.
        let s = this.run(node.first, state);
        for (const { op, node: right } of node.rest) s = mergePaths([s, this.run(right, s.clone())], `the right side of \`${op}\``);
        return s;
      }
      case 'pipeline': {
        // Each command of a pipeline runs in a subshell: what it assigns does not last.
        for (const c of node.commands) this.run(c, state.clone());
        return state;
      }
      case 'group': {
        if (!node.subshell) return this.run(node.body, state);
        // A subshell's assignments and `exit` end with it.
        this.run(node.body, state.clone());
        return state;
      }
      case 'if': {
        const paths: ShellState[] = [];
        let s = state;
        for (const arm of node.arms) {
          s = this.run(arm.cond, s);
          paths.push(this.run(arm.body, s.clone()));
        }
        paths.push(node.elseBody !== undefined ? this.run(node.elseBody, s.clone()) : s);
        return mergePaths(paths, 'an `if`');
      }
      case 'loop':
      case 'for':
        return this.loop(node, state);
      case 'case':
        return mergePaths([state, ...node.arms.map((arm) => this.run(arm, state.clone()))], 'a `case`');
      case 'function':
        state.functions.set(node.name, node.body);
        return state;
      case 'test':
        for (const name of node.assigns) {
          if (state.lookup(name) !== undefined || state.bindings.has(name))
            state.assign(name, { state: 'unknown', reason: 'may be changed by an arithmetic command' }, false);
        }
        return state;
      case 'simple':
        return this.simple(node.words, state);
    }
  }

  /**
   * A loop runs its body zero or more times. The body is run once without recording (to learn what
   * it changes), the states merged, and run again from the merged state, recording: that pass stands
   * for every iteration, since whatever an iteration may change is unknown in it. A `for` over a
   * short list of known words runs once per word instead, exactly.
   */
  private loop(node: Node & { kind: 'loop' | 'for' }, state: ShellState): ShellState {
    const construct = node.kind === 'for' ? 'a `for` loop' : `a \`${node.what}\` loop`;
    if (node.kind === 'for') {
      const values = node.words === undefined ? undefined : node.words.flatMap((w) => expandWord(w.segments, state, true));
      if (values !== undefined && values.length <= FOR_UNROLL && values.every((v) => v.unknown === undefined)) {
        let s = state;
        for (const v of values) {
          const next = s.clone();
          next.assign(node.name ?? '', { state: 'known', value: v.text, origin: 'shell' }, false);
          s = this.run(node.body, next);
          if (s.terminated) break;
        }
        return mergePaths([state, s], construct);
      }
    }
    const entry = node.kind === 'loop' ? this.run(node.cond, state) : state;
    const pass = (s: ShellState): ShellState => {
      const c = s.clone();
      if (node.kind === 'for') c.assign(node.name ?? '', { state: 'unknown', reason: `is set by ${construct}` }, false);
      const after = this.run(node.body, c);
      return node.kind === 'loop' ? this.quietly(() => this.run(node.cond, after)) : after;
    };
    const once = mergePaths([entry, this.quietly(() => pass(entry))], construct);
    return mergePaths([once, pass(once)], construct);
  }

  /** Runs without recording the commands met (a loop's first, exploratory pass). */
  private quietly(f: () => ShellState): ShellState {
    const saved = this.recording;
    this.recording = false;
    try {
      return f();
    } finally {
      this.recording = saved;
    }
  }

  private simple(words: readonly WordToken[], state: ShellState): ShellState {
    state.step();
    let k = 0;
    const prefix = new Map<string, EnvValue>();
    while (k < words.length) {
      const w = words[k] as WordToken;
      const name = isAssignmentWord(w);
      if (name === undefined) break;
      prefix.set(name, assignmentValue(w, name, state));
      k++;
    }
    if (k >= words.length) {
      for (const [name, v] of prefix) state.assign(name, v, false);
      return state;
    }
    const argv = words.slice(k).flatMap((w) => expandWord(w.segments, state, true));
    for (const w of argv) state.charge(w.text.length);
    const program = argv[0];
    if (program === undefined) return state;
    if (program.unknown === undefined && (program.text === '.' || program.text === 'source') && this.sourced !== undefined) {
      const read = this.readSourced(argv);
      if ('tree' in read) return this.call(read.tree, state.positional, state);
      state.makeOpaque(
        `may be set by \`${argv
          .map((w) => w.text)
          .join(' ')
          .slice(0, 200)}\`: ${read.reason}`,
      );
      return state;
    }
    if (program.unknown === undefined) {
      const handled = this.builtin(program.text, words.slice(k + 1), argv, state);
      if (handled) return state;
      const fn = state.functions.get(program.text);
      if (fn !== undefined) return this.call(fn, argv.slice(1), state);
    }
    if (this.recording) this.commands.push({ argv, env: state.processEnvironment(prefix) });
    // `exec PROGRAM` replaces the shell; if it cannot, a non-interactive shell exits (XCU exec).
    if (program.text === 'exec' && argv.length > 1) state.terminated = true;
    return state;
  }

  /** A sourced file, parsed: it runs in the current shell (XCU dot), its depth counted like a call's. */
  private readSourced(argv: readonly Word[]): { tree: Node } | { reason: string } {
    const file = argv[1];
    if (file === undefined) return { reason: 'no file is named' };
    if (file.unknown !== undefined) return { reason: `the file's name ${file.unknown.reason}` };
    if (argv.length > 2) return { reason: 'a sourced file with arguments is not followed' };
    const read = (this.sourced as SourcedFiles)(file.text);
    if ('reason' in read) return { reason: `${file.text} cannot be read on the node: ${read.reason}` };
    try {
      return { tree: new Parser(dropIoNumbers(new Lexer(read.text).lex())).parseScript() };
    } catch (e) {
      return { reason: `${file.text} is not a shell script the shell can run (${(e as Error).message})` };
    }
  }

  private call(body: Node, args: Word[], state: ShellState): ShellState {
    if (++this.callDepth > SHELL_LIMITS.depth) throw new ShellLimitError(`the script calls functions more than ${SHELL_LIMITS.depth} deep`);
    const saved = state.positional;
    state.positional = args;
    // `exit` and `exec` in a function end the whole script (XCU 2.9.5); `return` ends the function:
    // the paths that returned go on after the call, merged with the one that ran to the end.
    this.returns.push([]);
    const ran = this.run(body, state);
    const returned = this.returns.pop() as ShellState[];
    const after = returned.length === 0 ? ran : mergePaths([ran, ...returned], 'a function that may `return`');
    after.positional = saved;
    this.callDepth--;
    return after;
  }

  /** Shell builtins that change what later commands see. True when `program` was one of them. */
  private builtin(program: string, rawArgs: readonly WordToken[], argv: readonly Word[], state: ShellState): boolean {
    switch (program) {
      case 'export':
      case 'readonly':
      case 'declare':
      case 'typeset':
      case 'local': {
        const exportIt =
          program === 'export' || ((program === 'declare' || program === 'typeset') && argv.some((w) => /^-[a-zA-Z]*x/.test(w.text)));
        for (const w of rawArgs) {
          const name = isAssignmentWord(w);
          if (name !== undefined) state.assign(name, assignmentValue(w, name, state), exportIt);
          else if (NAME.test(w.raw) && exportIt) {
            const v = state.lookup(w.raw);
            if (v !== undefined) state.assign(w.raw, v, true);
            else state.exported.set(w.raw, 'yes');
          }
        }
        return true;
      }
      case 'unset':
        for (const w of argv.slice(1)) if (!w.text.startsWith('-')) state.unset(w.text);
        return true;
      case 'set':
        this.set(argv.slice(1), state);
        return true;
      case '.':
      case 'source':
      case 'eval':
        state.makeOpaque(
          program === 'eval'
            ? `may be set by \`${argv
                .map((w) => w.text)
                .join(' ')
                .slice(0, 200)}\`, which is not run`
            : `may be set by \`${argv
                .map((w) => w.text)
                .join(' ')
                .slice(0, 200)}\`, a file the webhook cannot see`,
        );
        return true;
      case 'read':
      case 'getopts':
      case 'mapfile':
      case 'readarray':
        for (const w of argv.slice(1))
          if (NAME.test(w.text))
            state.assign(w.text, { state: 'unknown', reason: `is read by \`${program}\` when the script runs` }, false);
        return true;
      case 'shift':
        state.positional = state.positional.slice(argv[1] !== undefined ? Number(argv[1].text) || 1 : 1);
        return true;
      case 'exit':
        state.terminated = true;
        return true;
      case 'return': {
        // Inside a function: this path leaves the function here (call() goes on with it). Outside
        // one, dash ends the script and bash reports an error and carries on (both measured here):
        // what follows may run, so the path goes on.
        const frame = this.returns[this.returns.length - 1];
        if (frame !== undefined) {
          frame.push(state.clone());
          state.terminated = true;
        }
        return true;
      }
      case ':':
      case 'true':
      case 'false':
        return true;
      default:
        return false;
    }
  }

  /** `set [-abefhmnuvxC] [-o option] [--] [arg...]`: -a/allexport, and positional parameters. */
  private set(args: readonly Word[], state: ShellState): void {
    let k = 0;
    for (; k < args.length; k++) {
      const t = (args[k] as Word).text;
      if (t === '--') {
        state.positional = args.slice(k + 1);
        return;
      }
      if (!/^[-+][A-Za-z]+$/.test(t)) break;
      const on = t.startsWith('-');
      const letters = t.slice(1);
      if (letters.includes('a')) state.allExport = on ? 'on' : 'off';
      if (letters.includes('o')) {
        const option = args[++k]?.text;
        if (option === 'allexport') state.allExport = on ? 'on' : 'off';
      }
    }
    if (k < args.length) state.positional = args.slice(k);
  }
}

/**
 * Runs the script symbolically and returns every command it may execute (in order), with the argv
 * and environment of each. `scriptName` and `positional` are `$0` and `$1...` (the words after the
 * script in `sh -c SCRIPT NAME ARGS...`).
 * Throws ShellSyntaxError when the shell would reject the script, ShellLimitError when following it
 * needs more than SHELL_LIMITS.
 */
export function parseShellScript(
  script: string,
  env: Environment,
  scriptName: Word,
  positional: Word[],
  sourced?: SourcedFiles,
): ShellCommand[] {
  const tokens = dropIoNumbers(new Lexer(script).lex());
  const tree = new Parser(tokens).parseScript();
  const interpreter = new Interpreter(sourced);
  interpreter.run(tree, new ShellState(env, positional, scriptName, { steps: 0, chars: 0 }));
  return interpreter.commands;
}
