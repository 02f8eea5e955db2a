/**
 * What the script's variables may hold as it runs: the shell state of one path, how paths merge, and
 * word expansion (XCU 2.6), all within SHELL_LIMITS.
 */
import { overlayEnvironment, type Environment } from '../env.js';
import type { EnvValue, UnknownPart, Word } from '../word.js';
import { ASSIGNMENT, NAME, type Segment, type WordToken } from './tokens.js';
import type { Node } from './syntax.js';
import { SHELL_LIMITS, ShellLimitError } from './limits.js';

export interface Budget {
  steps: number;
  chars: number;
}

/** A variable as a branch of the script may leave it: set, removed (`unset`), or as inherited. */
export type Binding = { readonly kind: 'set'; readonly value: EnvValue } | { readonly kind: 'removed' };

/** Whether a variable is exported: certainly, or only on some paths through the script. */
export type ExportState = 'yes' | 'maybe';

/** Shell variables as the script sees them, layered over the container's environment. */
export class ShellState {
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

export function sameValue(a: Binding | undefined, b: Binding | undefined): boolean {
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
export function mergePaths(paths: readonly ShellState[], construct: string): ShellState {
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
export function expandWord(segments: readonly Segment[], state: ShellState, split: boolean): Word[] {
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

export function isAssignmentWord(token: WordToken): string | undefined {
  const first = token.segments[0];
  if (first === undefined || first.kind !== 'lit' || first.quoted) return undefined;
  return ASSIGNMENT.exec(first.text)?.[1];
}

export function assignmentValue(token: WordToken, name: string, state: ShellState): EnvValue {
  const [first, ...rest] = token.segments;
  const head = first as Segment & { kind: 'lit' };
  const segments: Segment[] = [{ kind: 'lit', text: head.text.slice(name.length + 1), quoted: true }, ...rest];
  const word = expandWord(segments, state, false)[0] ?? { text: '' };
  if (word.unknown === undefined) return { state: 'known', value: word.text, origin: 'shell' };
  return word.unknown.separatorFree === true
    ? { state: 'unknown', reason: word.unknown.reason, separatorFree: true, text: word.text }
    : { state: 'unknown', reason: word.unknown.reason };
}
