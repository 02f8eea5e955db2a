import { APISERVER_FLAG_TABLE, APISERVER_RELEASES } from './apiserver-flags.js';
import { FlagCatalog } from './flag-catalog.js';
import { GO_VALUE_SYNTAX, parseGoBool, parsePflags, type FlagOccurrence, type FlagSpec } from './flags.js';
import type { Invocation } from '../launch/invocation.js';
import { readFlags, type ProgramConfig, type Setting } from './settings.js';

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

const APISERVER_CATALOG = new FlagCatalog(APISERVER_RELEASES, APISERVER_FLAG_TABLE, specFor);

/** kube-apiserver's connection to etcd: the settings the rules read. */
const ETCD_CLIENT_FLAGS = ['etcd-servers', 'etcd-servers-overrides', 'etcd-cafile', 'etcd-certfile', 'etcd-keyfile'];

/**
 * Flags of distribution builds that move kube-apiserver's configuration into a file on the node.
 * OpenShift 4's kube-apiserver (openshift/kubernetes, cluster-kube-apiserver-operator's pod.yaml)
 * takes `--openshift-config=/etc/kubernetes/static-pod-resources/configmaps/config/config.yaml`, a
 * KubeAPIServerConfig whose storageConfig (urls, ca, certFile, keyFile) becomes the --etcd-* flags.
 */
const CONFIG_FILE_FLAGS: Readonly<Record<string, string>> = {
  'openshift-config': "OpenShift's kube-apiserver reads its etcd connection (storageConfig: urls, ca, certFile, keyFile) from the KubeAPIServerConfig file",
};

/** `-v` is klog's verbosity (`-v, --v Level`); `-h` is cobra's help. */
const SHORTHANDS: ReadonlyMap<string, string> = new Map([
  ['v', 'v'],
  ['h', 'help'],
]);

function settingFrom(flag: string, list: readonly FlagOccurrence[] | undefined, accumulates: boolean): Setting {
  if (list === undefined || list.length === 0) return { flag, state: 'absent', defaultValue: '' };
  const used = accumulates ? list : [list[list.length - 1] as FlagOccurrence];
  const uncertain = used.find((o) => o.uncertain !== undefined);
  if (uncertain?.uncertain !== undefined) return { flag, state: 'unknown', reason: `--${flag} (argument ${uncertain.index + 1}) ${uncertain.uncertain}` };
  const unknown = used.find((o) => o.value.unknown !== undefined);
  if (unknown?.value.unknown !== undefined) {
    const reason = `--${flag} ${unknown.value.unknown.reason}`;
    return unknown.value.unknown.at > 0 ? { flag, state: 'unknown', reason, nonEmpty: true } : { flag, state: 'unknown', reason };
  }
  const value = used
    .map((o) => o.value.text)
    .filter((v) => !accumulates || v !== '')
    .join(',');
  return { flag, state: 'set', value, source: 'argv', argIndex: (used[used.length - 1] as FlagOccurrence).index };
}

/**
 * kube-apiserver's effective configuration for one run. Upstream it reads only its argv
 * (spf13/pflag, no environment, no config file for these flags); `--etcd-servers` is required
 * (etcd options Validate: "--etcd-servers must be specified"). A distribution flag that loads a
 * configuration file (CONFIG_FILE_FLAGS) makes the etcd connection unknown: it lives on the node.
 */
export function readApiserverConfig(inv: Invocation): ProgramConfig {
  const early = readFlags('kube-apiserver', inv, APISERVER_CATALOG, (lookup, tolerate) => parsePflags(inv.args, lookup, SHORTHANDS, 'kube-apiserver', tolerate));
  if ('component' in early) return early;
  const { parsed, releases, notes } = early;
  const lookup = APISERVER_CATALOG.lookupFor(releases);
  const fromArgv = (flag: string): Setting => settingFrom(flag, parsed.occurrences.get(flag), lookup(flag)?.accumulates === true);
  const configFile = parsed.unrecognized.find((u) => CONFIG_FILE_FLAGS[u.name] !== undefined);
  if (configFile !== undefined) {
    const arg = inv.args[configFile.index]?.text ?? `--${configFile.name}`;
    const path = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (inv.args[configFile.index + 1]?.text ?? '');
    const reason = `${CONFIG_FILE_FLAGS[configFile.name] ?? ''} ${path} on the node (--${configFile.name}), which the webhook cannot see`;
    return {
      component: 'kube-apiserver',
      releases,
      notes,
      get: (flag) => (ETCD_CLIENT_FLAGS.includes(flag) ? { flag, state: 'unknown', reason } : fromArgv(flag)),
    };
  }
  const config: ProgramConfig = { component: 'kube-apiserver', releases, notes, get: fromArgv };
  const servers = config.get('etcd-servers');
  if (servers.state === 'absent' || (servers.state === 'set' && servers.value === '')) {
    if (parsed.unrecognized.length === 0) return { ...config, refusal: '--etcd-servers must be specified' };
    // A flag no release in scope knows may be a distribution's way to configure etcd (as OpenShift's
    // --openshift-config is): the refusal holds only for upstream kube-apiserver, so do not claim it.
    const names = parsed.unrecognized.map((u) => `--${u.name}`).join(', ');
    const reason = `--etcd-servers is not set: upstream kube-apiserver refuses to start without it, unless ${names}, which etcd-tls-guard does not know for this release, configures etcd`;
    return { ...config, get: (flag) => (ETCD_CLIENT_FLAGS.includes(flag) && config.get(flag).state === 'absent' ? { flag, state: 'unknown', reason } : config.get(flag)) };
  }
  return config;
}
