import { parsePflags, type FlagOccurrence, type FlagSpec } from './flags.js';
import type { Invocation } from './invocation.js';
import { earlyOutcome, type ProgramConfig, type Setting } from './settings.js';

/**
 * kube-apiserver's boolean flags (NoOptDefVal "true": `--flag` alone means true and the next
 * argument is not its value), from `kube-apiserver --help` of Kubernetes 1.27–1.34 including the
 * klog/logs flags. Every other flag takes a value; flags we do not list are not judged, since the
 * set changes with each release.
 */
const BOOL_FLAGS = [
  'add-dir-header', 'aggregator-reject-forwarding-redirect', 'allow-privileged', 'alsologtostderr', 'anonymous-auth',
  'audit-log-batch-throttle-enable', 'audit-log-compress', 'audit-log-truncate-enabled', 'audit-webhook-batch-throttle-enable',
  'audit-webhook-truncate-enabled', 'contention-profiling', 'disable-http2-serving', 'emulation-forward-compatible',
  'enable-aggregator-routing', 'enable-bootstrap-token-auth', 'enable-garbage-collector', 'enable-logs-handler',
  'enable-priority-and-fairness', 'encryption-provider-config-automatic-reload', 'log-json-split-stream',
  'log-text-split-stream', 'logtostderr', 'one-output', 'permit-address-sharing', 'permit-port-sharing', 'profiling',
  'runtime-config-emulation-forward-compatible', 'service-account-extend-token-expiration', 'service-account-lookup',
  'shutdown-send-retry-after', 'skip-headers', 'skip-log-headers', 'version', 'watch-cache',
];

/** List flags (pflag StringSlice): every occurrence appends. */
const LIST_FLAGS = ['etcd-servers', 'etcd-servers-overrides'];

const APISERVER_FLAGS: ReadonlyMap<string, FlagSpec> = new Map<string, FlagSpec>([
  ...BOOL_FLAGS.map((name): [string, FlagSpec] => [name, { bool: true }]),
  ...LIST_FLAGS.map((name): [string, FlagSpec] => [name, { bool: false, accumulates: true }]),
]);

/** `-v` is klog's verbosity (`-v, --v Level`); `-h` is cobra's help. */
const SHORTHANDS: ReadonlyMap<string, string> = new Map([['v', 'v']]);

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
