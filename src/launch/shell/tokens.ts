/** The shell's tokens: words (with their quoting and expansions as segments) and operators, and the lexer that makes them (XCU 2.3). */
import type { Environment } from '../env.js';
import type { Word } from '../word.js';

export class ShellSyntaxError extends Error {
  override name = 'ShellSyntaxError';
}

export type Segment =
  | { kind: 'lit'; text: string; quoted: boolean }
  | { kind: 'param'; name: string; quoted: boolean; fallback?: { text: string; ifEmpty: boolean } }
  | { kind: 'opaque'; raw: string; quoted: boolean; reason: string };

export type WordToken = { kind: 'word'; segments: Segment[]; raw: string };
export type Token = WordToken | { kind: 'op'; op: string };

export interface ShellCommand {
  /** The command's argv after expansion, with assignments and redirections removed. */
  readonly argv: Word[];
  /** The environment the command's process receives. */
  readonly env: Environment;
}

// `<<<` first: bash's here-string (`cmd <<< "$WORD"`: the word on stdin) is one redirection, not a
// here-document whose delimiter is `<` (which made the rest of a script its body).
export const OPERATORS = [
  '&&',
  '||',
  ';;',
  '<<<',
  '<<-',
  '<<',
  '>>',
  '<&',
  '>&',
  '<>',
  '>|',
  '&>',
  '|&',
  ';',
  '&',
  '|',
  '(',
  ')',
  '<',
  '>',
];
export const REDIRECTIONS = new Set(['<', '>', '>>', '<&', '>&', '<>', '>|', '&>', '<<', '<<-', '<<<']);
/** First characters of OPERATORS: most characters of a word are not one, and need no further look. */
export const OPERATOR_START = new Set(OPERATORS.map((o) => o[0] as string));
/**
 * A run of characters that are literal in an unquoted word: no blank, quote, escape, expansion or
 * operator character. Read in one slice instead of one character at a time.
 */
export const PLAIN_RUN = /[^ \t\n\\'"$`&|;()<>]+/y;
export const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=/;

export class Lexer {
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
