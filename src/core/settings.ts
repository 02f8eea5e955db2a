import { parseGoBool, type ParsedFlags } from './flags.js';
import type { Component, Invocation } from './invocation.js';

/** Where a setting's value came from, for evidence in messages. */
export type SettingSource = 'argv' | 'env' | 'default';

/** One flag's effective value as the program will see it. */
export type Setting =
  | { readonly flag: string; readonly state: 'set'; readonly value: string; readonly source: 'argv' | 'env'; readonly envName?: string; readonly argIndex?: number }
  | { readonly flag: string; readonly state: 'absent'; readonly defaultValue: string }
  | { readonly flag: string; readonly state: 'unknown'; readonly reason: string };

/** The effective configuration of one program run, whatever the program. */
export interface ProgramConfig {
  readonly component: Component;
  /** Set when the program will not start with this configuration; the text says why. */
  readonly refusal?: string;
  /** Set when the program prints something and exits instead of serving (`--version`). */
  readonly exits?: string;
  /** Set when no setting can be known (config file on the node, unreadable argument...). */
  readonly opaque?: string;
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
  if (s.state === 'unknown') return undefined;
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
      return s.source === 'env' ? `${s.envName ?? ''}=${s.value} (env)` : `--${s.flag}=${s.value} (argv)`;
    case 'absent':
      return s.defaultValue === '' ? `--${s.flag} not set` : `--${s.flag} not set (default ${s.defaultValue})`;
    case 'unknown':
      return `--${s.flag} unknown: ${s.reason}`;
  }
}

/** A configuration of which nothing can be known; `outcome` adds a refusal or an early exit. */
export function opaqueConfig(component: Component, opaque: string, outcome: { refusal?: string; exits?: string } = {}): ProgramConfig {
  return { component, opaque, ...outcome, get: (flag) => ({ flag, state: 'unknown', reason: opaque }) };
}

/**
 * What ends the reading of a configuration before any setting: the container fails first, the
 * configuration is out of sight, the program rejects its argv or only prints and exits, or an
 * argument cannot be read. Undefined when the settings can be read.
 */
export function earlyOutcome(component: Component, inv: Invocation, parse: (inv: Invocation) => ParsedFlags): ProgramConfig | ParsedFlags {
  if (inv.startError !== undefined) return opaqueConfig(component, inv.startError, { refusal: inv.startError });
  if (inv.opaque !== undefined) return opaqueConfig(component, inv.opaque);
  const parsed = parse(inv);
  if (parsed.error !== undefined) return opaqueConfig(component, parsed.error, { refusal: parsed.error });
  if (parsed.exits !== undefined) return opaqueConfig(component, parsed.exits, { exits: parsed.exits });
  if (parsed.indeterminate !== undefined) return opaqueConfig(component, parsed.indeterminate);
  return parsed;
}
