import { knownPrefix, sliceWord, type Word } from '../launch/word.js';

/** What a parser must know about one flag of a program. */
export interface FlagSpec {
  /** Boolean flags take no separate value argument (`--x` means true; `--x=false` to turn off). */
  readonly bool: boolean;
  /** Checks a value as the program's flag.Value.Set would; returns the error text, if any. */
  readonly validate?: (value: string) => string | undefined;
  /** Comma-separated list flag whose occurrences accumulate (pflag StringSlice). */
  readonly accumulates?: boolean;
}

export interface FlagOccurrence {
  readonly name: string;
  readonly value: Word;
  /** Index of the argument (in the program's args, 0-based) that named the flag. */
  readonly index: number;
  /**
   * Set when this argument may not be a flag at all: it follows a flag the tables do not know, which
   * may take it as its value. A setting whose last occurrence is uncertain is unknown.
   */
  readonly uncertain?: string;
}

/** A flag that no release in scope defines, met while the release is not covered by the tables. */
export interface UnrecognizedFlag {
  readonly name: string;
  /** Index of the argument that named it. */
  readonly index: number;
  /** How its value was read: `--x=v`, `--x v` (the next argument is not a flag), or bare. */
  readonly form: 'inline' | 'separate' | 'bare' | 'ambiguous';
}

/** Looks a flag up in the releases the program may be; undefined when none of them defines it. */
export type FlagLookup = (name: string) => FlagSpec | undefined;

export interface ParsedFlags {
  /** Occurrences by flag name, in argv order. */
  readonly occurrences: ReadonlyMap<string, readonly FlagOccurrence[]>;
  /** The program will exit with this error instead of starting. */
  readonly error?: string;
  /** The program will print something and exit 0 instead of serving (`--help`, `--version`). */
  readonly exits?: string;
  /** An argument the webhook cannot read (unknown value) that could set any flag. */
  readonly indeterminate?: string;
  /** Flags no release in scope defines, tolerated because the release is not covered (see `tolerate`). */
  readonly unrecognized: readonly UnrecognizedFlag[];
  /** With `error`: the flag whose name the program does not define. */
  readonly undefinedFlag?: string;
}

/**
 * Value syntax of Go's numeric flags: strconv.ParseInt/ParseUint with base 0 (0x, 0o, 0b prefixes,
 * `_` separators) and time.ParseDuration. Used to tell which values make a program exit.
 */
export const GO_VALUE_SYNTAX: Readonly<Record<'int' | 'uint' | 'duration', RegExp>> = {
  int: /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]*|[1-9][0-9_]*)$/,
  uint: /^(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]*|[1-9][0-9_]*)$/,
  duration: /^[+-]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$/,
};

/** strconv.ParseBool: exactly these spellings, nothing else (no yes/on/empty). */
const GO_TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

export function parseGoBool(value: string): boolean | undefined {
  if (GO_TRUE.has(value)) return true;
  if (GO_FALSE.has(value)) return false;
  return undefined;
}

class Collector {
  readonly occurrences = new Map<string, FlagOccurrence[]>();
  readonly unrecognized: UnrecognizedFlag[] = [];
  /** Set while the next argument may be the value of an unrecognised flag rather than a flag. */
  uncertainArg: { index: number; reason: string } | undefined;
  add(name: string, value: Word, index: number): void {
    const uncertain = this.uncertainArg?.index === index ? this.uncertainArg.reason : undefined;
    const occurrence: FlagOccurrence = uncertain === undefined ? { name, value, index } : { name, value, index, uncertain };
    const list = this.occurrences.get(name);
    if (list === undefined) this.occurrences.set(name, [occurrence]);
    else list.push(occurrence);
  }

  /**
   * An unrecognised flag, when tolerated. Its arity is unknown, so: `--x=v` is complete; `--x` last
   * is bare; `--x WORD` with WORD not starting with `-` takes WORD as its value (had --x been
   * boolean, WORD would be a positional argument, which both etcd and kube-apiserver refuse: the only
   * reading under which the program starts); `--x --y...` is ambiguous: --y is read as a flag but
   * marked uncertain, since it may be the value of --x.
   * Returns how many arguments it used (1 or 2).
   */
  unrecognizedFlag(name: string, hasInlineValue: boolean, index: number, next: Word | undefined, program: string): number {
    if (hasInlineValue) {
      this.unrecognized.push({ name, index, form: 'inline' });
      return 1;
    }
    if (next === undefined) {
      this.unrecognized.push({ name, index, form: 'bare' });
      return 1;
    }
    const nextPrefix = knownPrefix(next);
    if (nextPrefix.length > 0 && !nextPrefix.startsWith('-')) {
      this.unrecognized.push({ name, index, form: 'separate' });
      return 2;
    }
    this.unrecognized.push({ name, index, form: 'ambiguous' });
    this.uncertainArg = {
      index: index + 1,
      reason: `it follows --${name}, a flag etcd-tls-guard does not know for this ${program} release, which may take it as its value`,
    };
    return 1;
  }
}

function describeArg(arg: Word, index: number): string {
  return `argument ${index + 1} (${JSON.stringify(arg.text)})`;
}

/** Checks a value as flag.Value.Set would, with the error text of Go's flag or of pflag. */
function checkValue(spec: FlagSpec, name: string, value: Word, style: 'go' | 'pflag'): string | undefined {
  if (value.unknown !== undefined) return undefined;
  if (spec.bool && spec.validate === undefined) {
    if (parseGoBool(value.text) !== undefined) return undefined;
    return style === 'go'
      ? `invalid boolean value ${JSON.stringify(value.text)} for -${name}: parse error`
      : `invalid argument ${JSON.stringify(value.text)} for "--${name}" flag: strconv.ParseBool: parsing ${JSON.stringify(value.text)}: invalid syntax`;
  }
  const problem = spec.validate?.(value.text);
  if (problem === undefined) return undefined;
  return style === 'go'
    ? `invalid value ${JSON.stringify(value.text)} for flag -${name}: ${problem}`
    : `invalid argument ${JSON.stringify(value.text)} for "--${name}" flag: ${problem}`;
}

/**
 * Go's standard `flag` package (FlagSet.Parse / parseOne), which etcd uses:
 * `-name` and `--name` are the same; `--name=value`; a non-boolean flag takes the next argument
 * whatever it looks like; a bare boolean flag means true; names are case-sensitive; the last
 * occurrence wins. Parsing stops at the first non-flag argument or after `--`; etcd then refuses any
 * argument left over ("'X' is not a valid flag"), as it refuses an unknown flag.
 */
export function parseGoFlags(args: readonly Word[], lookup: FlagLookup, program: string, tolerateUnknown = false): ParsedFlags {
  const found = new Collector();
  const done = (extra: Partial<ParsedFlags> = {}): ParsedFlags => ({
    occurrences: found.occurrences,
    unrecognized: found.unrecognized,
    ...extra,
  });
  let i = 0;
  while (i < args.length) {
    const arg = args[i] as Word;
    const prefix = knownPrefix(arg);
    if (arg.unknown !== undefined && !/^--?[^-=][^=]*=/.test(prefix)) {
      return done({ indeterminate: `${describeArg(arg, i)} could set any flag: ${arg.unknown.reason}` });
    }
    const s = arg.text;
    if (s.length < 2 || s[0] !== '-') break; // first non-flag argument
    const dashes = s[1] === '-' ? '--' : '-';
    if (s === '--') {
      i++;
      break;
    }
    const body = s.slice(dashes.length);
    if (body.length === 0 || body[0] === '-' || body[0] === '=') return done({ error: `bad flag syntax: ${s}` });
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const spec = lookup(name);
    if (spec === undefined) {
      if (name === 'help' || name === 'h') return done({ exits: `${dashes}${name} prints usage and exits` });
      if (!tolerateUnknown) return done({ error: `flag provided but not defined: -${name}`, undefinedFlag: name });
      i += found.unrecognizedFlag(name, eq !== -1, i, args[i + 1], program);
      continue;
    }
    let value: Word;
    if (eq !== -1) {
      value = sliceWord(arg, dashes.length + eq + 1);
    } else if (spec.bool) {
      value = { text: 'true' };
    } else {
      const next = args[i + 1];
      if (next === undefined) return done({ error: `flag needs an argument: -${name}` });
      value = next;
      i++;
    }
    const problem = checkValue(spec, name, value, 'go');
    if (problem !== undefined) return done({ error: problem });
    found.add(name, value, eq === -1 && !spec.bool ? i - 1 : i);
    i++;
  }
  if (i < args.length) {
    const left = args[i] as Word;
    if (left.unknown !== undefined && knownPrefix(left) === '') {
      return done({ indeterminate: `${describeArg(left, i)} ${left.unknown.reason}` });
    }
    // The classic mistake: `--client-cert-auth true`. The bare boolean already meant true; the
    // `true` after it ends flag parsing and etcd refuses it.
    const before = args[i - 1];
    const bareBool = before !== undefined && /^--?[^=]+$/.test(before.text) && lookup(before.text.replace(/^--?/, ''))?.bool === true;
    const hint =
      bareBool && parseGoBool(left.text) !== undefined ? `; ${before.text} is a boolean flag: write ${before.text}=${left.text}` : '';
    return done({ error: `'${left.text}' is not a valid flag (${program} accepts no positional arguments${hint})` });
  }
  return done();
}

/**
 * spf13/pflag (FlagSet.Parse), which kube-apiserver uses through cobra:
 * `--name=value` or `--name value` (the next argument is taken even when it starts with `--`);
 * boolean flags (NoOptDefVal "true") take no separate value; `_` in a name reads as `-`
 * (kube-apiserver's WordSepNormalizeFunc); a single dash starts shorthand flags, so `-etcd-cafile`
 * is the unknown shorthand `-e`; non-flag arguments are collected and parsing goes on; `--` ends the
 * flags. The last occurrence wins, except list flags, which accumulate.
 * `shorthands` maps one-letter shorthands to flag names. Then, in cobra's order: `--help` prints
 * usage, a positional argument is refused, `--version` prints the version. A flag `lookup` does
 * not know is an error ("unknown flag: --x"), unless `tolerateUnknown` (the release is not covered by
 * the tables): then it is recorded in `unrecognized` and read by the arity rule of Collector.
 */
export function parsePflags(
  args: readonly Word[],
  lookup: FlagLookup,
  shorthands: ReadonlyMap<string, string>,
  program: string,
  tolerateUnknown = false,
): ParsedFlags & { readonly positional: readonly Word[] } {
  const found = new Collector();
  const positional: Word[] = [];
  const done = (extra: Partial<ParsedFlags> = {}): ParsedFlags & { positional: readonly Word[] } => ({
    occurrences: found.occurrences,
    unrecognized: found.unrecognized,
    positional,
    ...extra,
  });
  const normalize = (name: string): string => name.replaceAll('_', '-');
  let i = 0;
  while (i < args.length) {
    const arg = args[i] as Word;
    const prefix = knownPrefix(arg);
    if (arg.unknown !== undefined && !/^--[^-=][^=]*=/.test(prefix)) {
      if (prefix.length > 0 && !prefix.startsWith('-')) {
        positional.push(arg);
        i++;
        continue;
      }
      return done({ indeterminate: `${describeArg(arg, i)} could set any flag: ${arg.unknown.reason}` });
    }
    const s = arg.text;
    if (s === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (s.length < 2 || s[0] !== '-') {
      positional.push(arg);
      i++;
      continue;
    }
    if (s.startsWith('--')) {
      const body = s.slice(2);
      if (body.length === 0 || body[0] === '-' || body[0] === '=') return done({ error: `bad flag syntax: ${s}` });
      const eq = body.indexOf('=');
      const name = normalize(eq === -1 ? body : body.slice(0, eq));
      const spec = lookup(name);
      if (spec === undefined) {
        if (!tolerateUnknown) return done({ error: `unknown flag: --${name}`, undefinedFlag: name });
        i += found.unrecognizedFlag(name, eq !== -1, i, args[i + 1], program);
        continue;
      }
      let value: Word;
      if (eq !== -1) value = sliceWord(arg, 2 + eq + 1);
      else if (spec.bool) value = { text: 'true' };
      else {
        const next = args[i + 1];
        if (next === undefined) return done({ error: `flag needs an argument: --${name}` });
        value = next;
        i++;
      }
      const problem = checkValue(spec, name, value, 'pflag');
      if (problem !== undefined) return done({ error: problem });
      found.add(name, value, eq === -1 && !spec.bool ? i - 1 : i);
      i++;
      continue;
    }
    // Shorthand cluster: -abc, -v=2, -v 2, -v2.
    const shorts = s.slice(1);
    let consumedNext = false;
    for (let j = 0; j < shorts.length; j++) {
      const c = shorts[j] as string;
      const name = shorthands.get(c);
      if (name === undefined) {
        if (!tolerateUnknown) return done({ error: `unknown shorthand flag: '${c}' in ${s}` });
        // A shorthand no release in scope defines: its cluster and arity are unknown; read it as one
        // unrecognised flag named by the whole argument.
        consumedNext = found.unrecognizedFlag(s.slice(1).split('=')[0] as string, s.includes('='), i, args[i + 1], program) === 2;
        break;
      }
      const spec: FlagSpec = lookup(name) ?? { bool: false };
      let value: Word;
      if (shorts[j + 1] === '=') {
        value = sliceWord(arg, 1 + j + 2);
        j = shorts.length;
      } else if (spec.bool) {
        value = { text: 'true' };
      } else if (j + 1 < shorts.length) {
        value = sliceWord(arg, 1 + j + 1);
        j = shorts.length;
      } else {
        const next = args[i + 1];
        if (next === undefined) return done({ error: `flag needs an argument: '${c}' in ${s}` });
        value = next;
        consumedNext = true;
      }
      const problem = checkValue(spec, name, value, 'pflag');
      if (problem !== undefined) return done({ error: problem });
      found.add(name, value, i);
    }
    i += consumedNext ? 2 : 1;
  }
  // Then as cobra does: help first, then the Args check, then kube-apiserver's --version.
  const last = (name: string): Word | undefined => {
    const list = found.occurrences.get(name);
    return list?.[list.length - 1]?.value;
  };
  const help = last('help');
  if (help !== undefined && help.unknown === undefined && parseGoBool(help.text) === true)
    return done({ exits: '--help prints usage and exits' });
  const stray = positional.find((p) => p.unknown !== undefined || p.text.length > 0);
  if (stray !== undefined) {
    // kube-apiserver's cobra Args check: `"kube-apiserver" does not take any arguments`.
    if (stray.unknown !== undefined) return done({ indeterminate: `an argument (${JSON.stringify(stray.text)}) ${stray.unknown.reason}` });
    return done({ error: `"${program}" does not take any arguments, got ${JSON.stringify(stray.text)}` });
  }
  const version = last('version');
  if (version !== undefined && version.unknown === undefined && version.text !== 'false')
    return done({ exits: '--version prints the version and exits' });
  return done();
}
