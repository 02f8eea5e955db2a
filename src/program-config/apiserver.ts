import { APISERVER_FLAG_TABLE, APISERVER_RELEASES } from './apiserver-flags.js';
import { FlagCatalog } from './flag-catalog.js';
import { GO_VALUE_SYNTAX, parseGoBool, parsePflags, type FlagOccurrence, type FlagSpec } from './flags.js';
import { readGoYaml } from './go-yaml.js';
import type { Invocation } from '../launch/invocation.js';
import type { NodeFiles } from './node-files.js';
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
      return {
        bool: true,
        validate: (v) => (v === 'raw' || parseGoBool(v) !== undefined ? undefined : `invalid value ${JSON.stringify(v)}`),
      };
    case 'list':
      return { bool: false, accumulates: true };
    case 'int':
    case 'uint':
      return {
        bool: false,
        validate: (v) =>
          GO_VALUE_SYNTAX[kind].test(v)
            ? undefined
            : `strconv.Parse${kind === 'int' ? 'Int' : 'Uint'}: parsing ${JSON.stringify(v)}: invalid syntax`,
      };
    case 'duration':
      return {
        bool: false,
        validate: (v) => (GO_VALUE_SYNTAX.duration.test(v) ? undefined : `time: invalid duration ${JSON.stringify(v)}`),
      };
    default:
      return { bool: false };
  }
}

const APISERVER_CATALOG = new FlagCatalog(APISERVER_RELEASES, APISERVER_FLAG_TABLE, specFor);

/** kube-apiserver's connection to etcd, and its client CA: the settings the rules read. */
const ETCD_CLIENT_FLAGS = ['etcd-servers', 'etcd-servers-overrides', 'etcd-cafile', 'etcd-certfile', 'etcd-keyfile', 'client-ca-file'];

/**
 * KubeAPIServerConfig (kubecontrolplane.config.openshift.io/v1) → flags, as openshift/kubernetes's
 * openshiftkubeapiserver ConfigToFlags builds them: `apiServerArguments` (flag → list of values)
 * first, then storageConfig and servingInfo.clientCA only where those left a flag unset
 * (SetIfUnset). kube-apiserver parses the result after its own argv, so a value from the file wins.
 */
const FROM_OPENSHIFT_CONFIG: ReadonlyArray<readonly [flag: string, path: readonly string[]]> = [
  ['etcd-servers', ['storageConfig', 'urls']],
  ['etcd-cafile', ['storageConfig', 'ca']],
  ['etcd-certfile', ['storageConfig', 'certFile']],
  ['etcd-keyfile', ['storageConfig', 'keyFile']],
  ['client-ca-file', ['servingInfo', 'clientCA']],
];

function field(obj: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>(
    (o, k) => (typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, unknown>)[k] : undefined),
    obj,
  );
}

function asValue(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(',');
  return undefined;
}

/** The etcd connection settings an OpenShift KubeAPIServerConfig makes; undefined when it is not one. */
export function readOpenShiftConfig(text: string, file: string): ReadonlyMap<string, Setting> | string {
  const read = readGoYaml(text);
  if (!read.ok) return `${file} is not valid YAML or JSON: ${read.error}`;
  const doc = read.value;
  if (typeof doc !== 'object' || doc === null) return `${file} is not a KubeAPIServerConfig`;
  const out = new Map<string, Setting>();
  const args = field(doc, ['apiServerArguments']);
  for (const flag of ETCD_CLIENT_FLAGS) {
    const v = asValue(field(args, [flag]));
    if (v !== undefined) out.set(flag, { flag, state: 'set', value: v, source: 'config-file', file, key: `apiServerArguments.${flag}` });
  }
  for (const [flag, path] of FROM_OPENSHIFT_CONFIG) {
    const v = asValue(field(doc, path));
    if (!out.has(flag) && v !== undefined && v !== '')
      out.set(flag, { flag, state: 'set', value: v, source: 'config-file', file, key: path.join('.') });
  }
  return out;
}

/**
 * Flags of distribution builds that move kube-apiserver's configuration into a file on the node.
 * OpenShift 4's kube-apiserver (openshift/kubernetes, cluster-kube-apiserver-operator's pod.yaml)
 * takes `--openshift-config=/etc/kubernetes/static-pod-resources/configmaps/config/config.yaml`, a
 * KubeAPIServerConfig whose storageConfig (urls, ca, certFile, keyFile) becomes the --etcd-* flags.
 */
const CONFIG_FILE_FLAGS: Readonly<Record<string, string>> = {
  'openshift-config':
    "OpenShift's kube-apiserver reads its etcd connection (storageConfig: urls, ca, certFile, keyFile) from the KubeAPIServerConfig file",
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
  if (uncertain?.uncertain !== undefined)
    return { flag, state: 'unknown', reason: `--${flag} (argument ${uncertain.index + 1}) ${uncertain.uncertain}` };
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
export function readApiserverConfig(inv: Invocation, files?: NodeFiles): ProgramConfig {
  const early = readFlags('kube-apiserver', inv, APISERVER_CATALOG, (lookup, tolerate) =>
    parsePflags(inv.args, lookup, SHORTHANDS, 'kube-apiserver', tolerate),
  );
  if ('component' in early) return early;
  const { parsed, releases } = early;
  const notes = [...early.notes];
  const lookup = APISERVER_CATALOG.lookupFor(releases);
  const fromArgv = (flag: string): Setting => settingFrom(flag, parsed.occurrences.get(flag), lookup(flag)?.accumulates === true);
  const configFile = parsed.unrecognized.find((u) => CONFIG_FILE_FLAGS[u.name] !== undefined);
  if (configFile !== undefined) {
    const arg = inv.args[configFile.index]?.text ?? `--${configFile.name}`;
    const path = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (inv.args[configFile.index + 1]?.text ?? '');
    const read = files?.text(path);
    if (read?.state === 'read') {
      const fromFile = readOpenShiftConfig(read.text, path);
      if (typeof fromFile !== 'string')
        return { component: 'kube-apiserver', releases, notes, configFile: path, get: (flag) => fromFile.get(flag) ?? fromArgv(flag) };
      notes.push(fromFile);
    }
    const why =
      read === undefined
        ? 'which the webhook cannot see'
        : read.state === 'read'
          ? 'which cannot be read as one'
          : `which cannot be read on the node: ${read.reason}`;
    const reason = `${CONFIG_FILE_FLAGS[configFile.name] ?? ''} ${path} on the node (--${configFile.name}), ${why}`;
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
    return {
      ...config,
      get: (flag) =>
        ETCD_CLIENT_FLAGS.includes(flag) && config.get(flag).state === 'absent' ? { flag, state: 'unknown', reason } : config.get(flag),
    };
  }
  return config;
}
