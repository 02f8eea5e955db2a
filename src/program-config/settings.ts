import type { FlagCatalog } from './flag-catalog.js';
import { parseGoBool, type FlagLookup, type ParsedFlags } from './flags.js';
import type { Component, Invocation } from '../launch/invocation.js';
import { describeReleases, releaseScope } from './releases.js';

/** Where a setting's value came from, for evidence in messages. */
export type SettingSource = 'argv' | 'env' | 'config-file' | 'default';

/** One flag's effective value as the program will see it. */
export type Setting =
  | {
      readonly flag: string;
      readonly state: 'set';
      readonly value: string;
      readonly source: 'argv' | 'env';
      readonly envName?: string;
      readonly argIndex?: number;
    }
  | {
      readonly flag: string;
      readonly state: 'set';
      readonly value: string;
      readonly source: 'config-file';
      /** The file on the node and the key in it (`client-transport-security.client-cert-auth`). */
      readonly file: string;
      readonly key: string;
    }
  | { readonly flag: string; readonly state: 'absent'; readonly defaultValue: string }
  | {
      readonly flag: string;
      readonly state: 'unknown';
      readonly reason: string;
      /** The value as written, when its unknown parts hold no `,`, `=` or whitespace (UnknownPart.separatorFree). */
      readonly separatorFreeText?: string;
      /** The value starts with known text, so it is certainly not empty (`/etc/pki/$(NODE).crt`). */
      readonly nonEmpty?: boolean;
    };

/** The effective configuration of one program run, whatever the program. */
export interface ProgramConfig {
  readonly component: Component;
  /** Set when the program will not start with this configuration; the text says why. */
  readonly refusal?: string;
  /** Set when the program prints something and exits instead of serving (`--version`). */
  readonly exits?: string;
  /** Set when no setting can be known (config file on the node, unreadable argument...). */
  readonly opaque?: string;
  /**
   * Releases of the tables this run may be: the image's release, narrowed by the flags it uses (a
   * flag that exists only in some releases means, if the program starts, it is one of those).
   * Behaviour that differs between releases is claimed only when all of them agree.
   */
  readonly releases: readonly string[];
  /** What the reader noticed that is not a setting: flags no release in scope knows, narrowing. */
  readonly notes: readonly string[];
  /** The configuration file the program reads its settings from, when it reads one (etcd --config-file). */
  readonly configFile?: string;
  /**
   * The flags set through a variable (etcd's ETCD_*), by flag: their variable's name. A fix for one of
   * them names the variable (rules/evaluate.ts inTermsOfVariables). Absent when none is.
   */
  readonly variables?: ReadonlyMap<string, string>;
  get(flag: string): Setting;
}

/** A boolean setting: true/false, or undefined when unknown. Absent means the flag's default. */
export function boolValue(s: Setting): boolean | undefined {
  if (s.state === 'unknown') return undefined;
  if (s.state === 'absent') return parseGoBool(s.defaultValue) ?? false;
  return parseGoBool(s.value);
}

/** "Is set" in the CIS sense: present with a non-empty value; undefined when unknown. */
export function isNonEmpty(s: Setting): boolean | undefined {
  if (s.state === 'unknown') return s.nonEmpty === true ? true : undefined;
  return s.state === 'set' && s.value !== '';
}

/** The value the program uses: the set value or the default; undefined when unknown. */
export function effectiveValue(s: Setting): string | undefined {
  if (s.state === 'unknown') return undefined;
  return s.state === 'set' ? s.value : s.defaultValue;
}

/** Human-readable evidence: `--client-cert-auth=false (argv)`, `--cert-file not set`. */
export function describeSetting(s: Setting): string {
  switch (s.state) {
    case 'set':
      if (s.source === 'config-file') return `${s.key}: ${s.value} (${s.file})`;
      return s.source === 'env' ? `${s.envName ?? ''}=${s.value} (env)` : `--${s.flag}=${s.value} (argv)`;
    case 'absent':
      return s.defaultValue === '' ? `--${s.flag} not set` : `--${s.flag} not set (default ${s.defaultValue})`;
    case 'unknown':
      return `--${s.flag} unknown: ${s.reason}`;
  }
}

/** A configuration of which nothing can be known; `outcome` adds a refusal or an early exit. */
export function opaqueConfig(
  component: Component,
  opaque: string,
  outcome: { refusal?: string; exits?: string; releases?: readonly string[]; notes?: readonly string[]; configFile?: string } = {},
): ProgramConfig {
  const { releases = [], notes = [], ...rest } = outcome;
  return { component, opaque, ...rest, releases, notes, get: (flag) => ({ flag, state: 'unknown', reason: opaque }) };
}

/** Flags read from argv, with the releases the run may be and what was noticed on the way. */
export interface FlagReading {
  readonly parsed: ParsedFlags;
  readonly releases: readonly string[];
  readonly notes: readonly string[];
}

const FORM: Readonly<Record<string, string>> = {
  inline: 'its value is given with =',
  separate: 'the argument after it is read as its value, the only reading under which the program starts',
  bare: 'it is last and so takes no value',
  ambiguous: 'the flag after it may be its value, so what that flag sets is unknown',
};

/**
 * Reads argv with the flags of the releases the run may be (from inv.image), or ends the reading
 * early: the container fails first, the configuration is out of sight, the program rejects its argv
 * or only prints and exits, or an argument cannot be read.
 * A flag no candidate release defines is a refusal only when the tables cover the release exactly
 * (ReleaseScope.flagsCovered); otherwise it is noted, read by its form, and the rest decides.
 */
export function readFlags(
  component: Component,
  inv: Invocation,
  catalog: FlagCatalog,
  parse: (lookup: FlagLookup, tolerateUnknown: boolean) => ParsedFlags,
): ProgramConfig | FlagReading {
  const scope = releaseScope(component, inv.image);
  if (inv.startError !== undefined) return opaqueConfig(component, inv.startError, { refusal: inv.startError, releases: scope.candidates });
  if (inv.opaque !== undefined) return opaqueConfig(component, inv.opaque, { releases: scope.candidates });
  const parsed = parse(catalog.lookupFor(scope.candidates), !scope.flagsCovered);
  if (parsed.error !== undefined) {
    const elsewhere = parsed.undefinedFlag === undefined ? [] : catalog.releasesOf(parsed.undefinedFlag);
    const why =
      parsed.undefinedFlag === undefined
        ? ''
        : ` (${scope.description} has no such flag${elsewhere.length > 0 ? `; it exists in ${describeReleases(component, elsewhere)}` : ''})`;
    const refusal = `${parsed.error}${why}`;
    return opaqueConfig(component, refusal, { refusal, releases: scope.candidates });
  }
  if (parsed.exits !== undefined) return opaqueConfig(component, parsed.exits, { exits: parsed.exits, releases: scope.candidates });
  if (parsed.indeterminate !== undefined) return opaqueConfig(component, parsed.indeterminate, { releases: scope.candidates });

  const notes: string[] = [];
  for (const u of parsed.unrecognized) {
    notes.push(
      `--${u.name} is not a flag of ${describeReleases(component, scope.candidates)} (${FORM[u.form] ?? u.form}); ${scope.description}`,
    );
  }
  // If the program starts, it is a release that defines every flag it was given.
  let releases = scope.candidates;
  const narrowedBy: string[] = [];
  for (const name of releases.length > 1 ? parsed.occurrences.keys() : []) {
    const definedIn = catalog.releasesOf(name);
    const defining = releases.filter((r) => definedIn.includes(r));
    if (defining.length > 0 && defining.length < releases.length) {
      narrowedBy.push(`--${name}`);
      releases = defining;
    } else if (defining.length === 0) {
      notes.push(`no release of the tables defines --${name} together with the other flags given: the release is outside the tables`);
      releases = scope.candidates;
      narrowedBy.length = 0;
      break;
    }
  }
  if (narrowedBy.length > 0) {
    notes.push(
      `if it starts, it is ${describeReleases(component, releases)}: ${narrowedBy.join(', ')} ${narrowedBy.length > 1 ? 'are not flags' : 'is not a flag'} of the other releases in scope`,
    );
  }
  return { parsed, releases, notes };
}
