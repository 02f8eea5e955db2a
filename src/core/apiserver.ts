import { APISERVER_FLAG_KINDS } from './apiserver-flags.js';
import { GO_VALUE_SYNTAX, parseGoBool, parsePflags, type FlagOccurrence, type FlagSpec } from './flags.js';
import type { Invocation } from './invocation.js';
import { earlyOutcome, type ProgramConfig, type Setting } from './settings.js';

/**
 * kube-apiserver's flags, from its own flag set (see apiserver-flags.ts): boolean flags take no
 * separate value, list flags accumulate, and a flag none of the versions knows stops kube-apiserver
 * ("unknown flag: --x").
 */
function specFor(kind: string): FlagSpec {
  switch (kind) {
    case 'bool':
      return { bool: true };
    case 'version':
      // component-base verflag: --version, --version=raw, or a boolean.
      return { bool: true, validate: (v) => (v === 'raw' || parseGoBool(v) !== undefined ? undefined : `invalid value ${JSON.stringify(v)}`) };
    case 'list':
      return { bool: false, accumulates: true };
    case 'int':
    case 'uint':
      return { bool: false, validate: (v) => (GO_VALUE_SYNTAX[kind].test(v) ? undefined : `strconv.Parse${kind === 'int' ? 'Int' : 'Uint'}: parsing ${JSON.stringify(v)}: invalid syntax`) };
    case 'duration':
      return { bool: false, validate: (v) => (GO_VALUE_SYNTAX.duration.test(v) ? undefined : `time: invalid duration ${JSON.stringify(v)}`) };
    default:
      return { bool: false };
  }
}

const APISERVER_FLAGS: ReadonlyMap<string, FlagSpec> = new Map(Object.entries(APISERVER_FLAG_KINDS).map(([name, kind]) => [name, specFor(kind)]));

/** `-v` is klog's verbosity (`-v, --v Level`); `-h` is cobra's help. */
const SHORTHANDS: ReadonlyMap<string, string> = new Map([
  ['v', 'v'],
  ['h', 'help'],
]);

function settingFrom(flag: string, list: readonly FlagOccurrence[] | undefined, accumulates: boolean): Setting {
  if (list === undefined || list.length === 0) return { flag, state: 'absent', defaultValue: '' };
  const used = accumulates ? list : [list[list.length - 1] as FlagOccurrence];
  const unknown = used.find((o) => o.value.unknown !== undefined);
  if (unknown?.value.unknown !== undefined) return { flag, state: 'unknown', reason: `--${flag} ${unknown.value.unknown.reason}` };
  const value = used
    .map((o) => o.value.text)
    .filter((v) => !accumulates || v !== '')
    .join(',');
  return { flag, state: 'set', value, source: 'argv', argIndex: (used[used.length - 1] as FlagOccurrence).index };
}

/**
 * kube-apiserver's effective configuration for one run. It reads only its argv (spf13/pflag, no
 * environment, no config file for these flags); `--etcd-servers` is required
 * (etcd options Validate: "--etcd-servers must be specified").
 */
export function readApiserverConfig(inv: Invocation): ProgramConfig {
  const early = earlyOutcome('kube-apiserver', inv, (i) => parsePflags(i.args, APISERVER_FLAGS, SHORTHANDS, 'kube-apiserver'));
  if ('component' in early) return early;
  const parsed = early;
  const config: ProgramConfig = {
    component: 'kube-apiserver',
    get: (flag) => settingFrom(flag, parsed.occurrences.get(flag), APISERVER_FLAGS.get(flag)?.accumulates === true),
  };
  const servers = config.get('etcd-servers');
  if (servers.state === 'absent' || (servers.state === 'set' && servers.value === '')) {
    return { ...config, refusal: '--etcd-servers must be specified' };
  }
  return config;
}
