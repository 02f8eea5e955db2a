import { parseGoBool } from './flags.js';

/** Where a setting's value came from, for evidence in messages. */
export type SettingSource = 'argv' | 'env' | 'default';

/** One flag's effective value as the program will see it. */
export type Setting =
  | { readonly flag: string; readonly state: 'set'; readonly value: string; readonly source: 'argv' | 'env'; readonly envName?: string; readonly argIndex?: number }
  | { readonly flag: string; readonly state: 'absent'; readonly defaultValue: string }
  | { readonly flag: string; readonly state: 'unknown'; readonly reason: string };

/** The effective configuration of one program run, whatever the program. */
export interface ProgramConfig {
  readonly component: 'etcd' | 'kube-apiserver';
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
