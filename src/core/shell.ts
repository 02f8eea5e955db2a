import { overlayEnvironment, type Environment, type EnvValue } from './env.js';
import type { UnknownPart, Word } from './word.js';

/**
 * Enough of a POSIX shell (XCU "Shell Command Language") to find the programs a `sh -c SCRIPT` runs
 * and the argv and environment each receives: quoting, escapes, comments, parameter expansion with
 * field splitting, `"$@"`, assignments (prefix, plain, `export`), `exec`, command lists
 * (`;` `&&` `||` `|` `&` newlines), compound-command keywords, redirections and here-documents.
 * Command substitution, arithmetic, `eval`, sourced files and unsupported `${...}` forms are not run:
 * whatever depends on them is unknown, never guessed.
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

const OPERATORS = ['&&', '||', ';;', '<<-', '<<', '>>', '<&', '>&', '<>', '>|', '&>', '|&', ';', '&', '|', '(', ')', '<', '>'];
const REDIRECTIONS = new Set(['<', '>', '>>', '<&', '>&', '<>', '>|', '&>', '<<', '<<-']);
const CONTROL = new Set(['&&', '||', ';;', ';', '&', '|', '|&', '(', ')', '\n']);
/** Reserved words after which a new command starts (XCU 2.4). */
const PREFIX_KEYWORDS = new Set(['!', '{', 'if', 'then', 'else', 'elif', 'while', 'until', 'do', 'time']);
const CLOSING_KEYWORDS = new Set(['}', 'fi', 'done', 'esac']);
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
    const delimiter = word.segments.map((seg) => (seg.kind === 'lit' ? seg.text : seg.kind === 'param' ? `$${seg.name}` : seg.raw)).join('');
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
      if (OPERATORS.some((o) => s.startsWith(o, this.i))) break;
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
        lit(c, false);
        this.i++;
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

/** Shell variables as the script sees them, layered over the container's environment. */
class ShellState {
  readonly assigned = new Map<string, EnvValue>();
  readonly exported = new Set<string>();
  /** Inherited variables removed with `unset`. */
  readonly removed = new Set<string>();
  /** Set when the script ran something that may change any variable (`.`, `source`, `eval`). */
  opaque: string | undefined;

  constructor(
    readonly env: Environment,
    public positional: Word[],
    readonly scriptName: Word,
  ) {}

  lookup(name: string): EnvValue | undefined {
    if (this.opaque !== undefined) return { state: 'unknown', reason: this.opaque };
    if (this.removed.has(name)) return undefined;
    return this.assigned.get(name) ?? this.env.get(name);
  }

  unset(name: string): void {
    this.assigned.delete(name);
    this.exported.delete(name);
    this.removed.add(name);
  }

  assign(name: string, value: EnvValue, exportIt: boolean): void {
    const wasRemoved = this.removed.delete(name);
    this.assigned.set(name, value);
    if (wasRemoved && !exportIt) return; // unset drops the export attribute
    // A variable inherited from the environment stays exported when reassigned (XCU 2.5.3).
    if (exportIt || this.env.get(name) !== undefined) this.exported.add(name);
  }

  processEnvironment(prefixAssignments: ReadonlyMap<string, EnvValue>): Environment {
    const overrides = new Map<string, EnvValue>();
    for (const name of this.exported) {
      const v = this.assigned.get(name);
      if (v !== undefined) overrides.set(name, v);
    }
    for (const [k, v] of prefixAssignments) overrides.set(k, v);
    return overlayEnvironment(this.env, overrides, { ...(this.opaque !== undefined ? { opaque: this.opaque } : {}), removed: this.removed });
  }
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
  const appendUnknown = (raw: string, reason: string, quoted: boolean): void => {
    // An unquoted unknown expansion may also split into several fields, so nothing in this field,
    // not even what precedes it, can be taken as one argument.
    if (unknown === undefined) unknown = { at: quoted || !split ? text.length : 0, reason };
    text += raw;
    started = true;
  };
  const appendValue = (value: string, quoted: boolean): void => {
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
      appendUnknown(raw, `$${name} ${value.reason}`, seg.quoted);
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
  return word.unknown === undefined ? { state: 'known', value: word.text, origin: 'shell' } : { state: 'unknown', reason: word.unknown.reason };
}

/** Splits the token stream into simple commands. */
function simpleCommands(tokens: readonly Token[]): Array<Array<WordToken>> {
  const out: Array<Array<WordToken>> = [];
  let current: Array<WordToken> = [];
  let skipNext = false;
  for (const t of tokens) {
    if (t.kind === 'op') {
      if (CONTROL.has(t.op)) {
        if (current.length > 0) out.push(current);
        current = [];
      } else if (REDIRECTIONS.has(t.op)) {
        skipNext = true; // the redirection's target is not an argument
      }
      continue;
    }
    if (skipNext) {
      skipNext = false;
      continue;
    }
    current.push(t);
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** An IO number (`2>&1`) is lexed as a word directly followed by a redirection: drop it. */
function dropIoNumbers(tokens: Token[]): Token[] {
  return tokens.filter((t, idx) => {
    if (t.kind !== 'word' || !/^[0-9]+$/.test(t.raw)) return true;
    const next = tokens[idx + 1];
    return !(next !== undefined && next.kind === 'op' && REDIRECTIONS.has(next.op));
  });
}

/**
 * Runs the script symbolically and returns every command it would execute (in order), with the
 * argv and environment of each. `scriptName` and `positional` are `$0` and `$1...` (the words
 * after the script in `sh -c SCRIPT NAME ARGS...`).
 * Throws ShellSyntaxError when the shell would reject the script.
 */
export function parseShellScript(script: string, env: Environment, scriptName: Word, positional: Word[]): ShellCommand[] {
  const tokens = dropIoNumbers(new Lexer(script).lex());
  const state = new ShellState(env, positional, scriptName);
  const commands: ShellCommand[] = [];
  for (const words of simpleCommands(tokens)) {
    let k = 0;
    while (k < words.length && PREFIX_KEYWORDS.has((words[k] as WordToken).raw)) k++;
    const first = words[k];
    if (first === undefined || CLOSING_KEYWORDS.has(first.raw)) continue;
    // `for NAME in WORDS`, `case WORD in` and a case pattern `PATTERN)` do not run a program; their
    // bodies are separate commands.
    if (first.raw === 'for' || first.raw === 'case' || first.raw === 'function' || /^[^$`]*\)$/.test(first.raw)) continue;

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
      continue;
    }
    const argv = words.slice(k).flatMap((w) => expandWord(w.segments, state, true));
    const program = argv[0];
    if (program === undefined) continue;
    if (program.unknown === undefined) {
      const builtin = program.text;
      if (builtin === 'export' || builtin === 'readonly') {
        for (const w of words.slice(k + 1)) {
          const name = isAssignmentWord(w);
          if (name !== undefined) state.assign(name, assignmentValue(w, name, state), true);
          else if (NAME.test(w.raw)) {
            const v = state.lookup(w.raw);
            if (v !== undefined) state.assign(w.raw, v, true);
          }
        }
        continue;
      }
      if (builtin === 'unset') {
        for (const w of argv.slice(1)) if (!w.text.startsWith('-')) state.unset(w.text);
        continue;
      }
      if (builtin === 'set') {
        const dashdash = argv.findIndex((w) => w.text === '--');
        if (dashdash !== -1) state.positional = argv.slice(dashdash + 1);
        continue;
      }
      if (builtin === '.' || builtin === 'source' || builtin === 'eval') {
        state.opaque = `the script runs \`${argv.map((w) => w.text).join(' ')}\`, which may change any variable`;
        continue;
      }
      if (builtin === 'shift') {
        state.positional = state.positional.slice(argv[1] !== undefined ? Number(argv[1].text) || 1 : 1);
        continue;
      }
    }
    commands.push({ argv, env: state.processEnvironment(prefix) });
  }
  return commands;
}
