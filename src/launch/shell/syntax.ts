/** The shell grammar: tokens in, a syntax tree out (XCU 2.9, plus the bash forms control-plane pods use). */
import { NAME, REDIRECTIONS, ShellSyntaxError, type Token, type WordToken } from './tokens.js';
import { SHELL_LIMITS, ShellLimitError } from './limits.js';

// ---------------------------------------------------------------------------------------------
// Parser: the shell grammar (XCU 2.9, plus bash's [[ ]], (( )), `function` and {NAME}> redirections)

export type Node =
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

export const LIST_SEPARATORS = new Set([';', '&', '\n']);
export const PIPELINE_END = new Set(['&&', '||', ';', '&', '\n', ';;', ')', '|', '|&']);

export class Parser {
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
export function dropIoNumbers(tokens: Token[]): Token[] {
  return tokens.filter((t, idx) => {
    if (t.kind !== 'word' || !/^([0-9]+|\{[A-Za-z_][A-Za-z0-9_]*\})$/.test(t.raw)) return true;
    const next = tokens[idx + 1];
    return !(next !== undefined && next.kind === 'op' && REDIRECTIONS.has(next.op));
  });
}
