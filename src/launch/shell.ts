import type { Environment } from './env.js';
import type { EnvValue, Word } from './word.js';

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

import { Lexer, NAME, type ShellCommand, type WordToken } from './shell/tokens.js';
import { SHELL_LIMITS, ShellLimitError } from './shell/limits.js';
import { assignmentValue, expandWord, isAssignmentWord, mergePaths, ShellState } from './shell/state.js';
import { dropIoNumbers, Parser, type Node } from './shell/syntax.js';

export { ShellSyntaxError, type ShellCommand } from './shell/tokens.js';
export { SHELL_LIMITS, ShellLimitError } from './shell/limits.js';

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
