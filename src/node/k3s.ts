/**
 * A k3s server: etcd and kube-apiserver run inside its own process (no etcd or kube-apiserver
 * process, no static pod). What they run with is what k3s gives them, modelled here from k3s's
 * source (test/fixtures/distributions/SOURCES.md, k3s):
 *
 * - **k3s's own settings**: its configuration files — config.yaml, then config.yaml.d's files in name
 *   order, a later key replacing an earlier one and `key+` appending to it — become flags inserted
 *   before the command line's (pkg/configfilearg/parser.go, readConfigFile and Parse); urfave/cli
 *   then parses them with Go's flag package, so the command line's single value wins and lists
 *   (`kube-apiserver-arg`) gather the files' entries, then the command line's. The file is
 *   `--config`/`-c` or $K3S_CONFIG_FILE, else /etc/rancher/k3s/config.yaml.
 * - **etcd** reads the configuration file k3s writes before starting it,
 *   `<data-dir>/server/db/etcd/config`, with every `etcd-arg` already merged into it
 *   (pkg/daemons/executor/executor.go, `ETCDConfig.ToConfigFile(extraArgs)`): the node check judges
 *   that file as etcd's `--config-file`.
 * - **kube-apiserver** gets k3s's defaults, then each `kube-apiserver-arg` (pkg/util/args.go
 *   GetArgs: `key=value` replaces the default and repeats accumulate, `key+=` appends to it, `key-=`
 *   prepends), sorted by name, and parses them with its own pflag flag set. With the embedded etcd
 *   the defaults that matter here are its storage (pkg/daemons/control/server.go
 *   setupStorageBackend; pkg/etcd/etcd.go sets the endpoint and the client certificate):
 *   `--etcd-servers=https://<loopback>:2379`, `--etcd-cafile=<data-dir>/server/tls/etcd/server-ca.crt`,
 *   `--etcd-certfile=…/client.crt`, `--etcd-keyfile=…/client.key`.
 *
 * The data directory is k3s's `--data-dir` / `-d` (command line, then files), else $K3S_DATA_DIR, else
 * /var/lib/rancher/k3s, k3s's default as root.
 */
import { parseGoFlags } from '../program-config/flags.js';
import { readGoYaml } from '../program-config/go-yaml.js';

export const K3S_DEFAULT_DATA_DIR = '/var/lib/rancher/k3s';
export const K3S_CONFIG = '/etc/rancher/k3s/config.yaml';

/**
 * k3s's configuration files flattened into the flags k3s inserts before its command line's: keys in
 * the order first seen, a later file's value replacing an earlier one, `key+` appending (a scalar
 * counts as a one-item list), a list one flag per item (configfilearg.readConfigFile). A file that
 * is not YAML stops k3s; it adds nothing here.
 */
export function configFileArgs(texts: readonly string[]): string[] {
  const values = new Map<string, unknown>();
  for (const text of texts) {
    const read = readGoYaml(text);
    if (!read.ok || typeof read.value !== 'object' || read.value === null || Array.isArray(read.value)) continue;
    for (const [rawKey, value] of Object.entries(read.value as Record<string, unknown>)) {
      const append = rawKey.endsWith('+');
      const key = append ? rawKey.slice(0, -1) : rawKey;
      const old = values.get(key);
      values.set(key, append && old !== undefined ? [...asList(old), ...asList(value)] : value);
    }
  }
  return [...values].flatMap(([key, value]) => {
    const prefix = key.length === 1 ? '-' : '--';
    return (Array.isArray(value) ? value : [value]).map((v) => `${prefix}${key}=${asText(v)}`);
  });
}

function asList(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [v];
  const text = asText(v).trim();
  return text === '' ? [] : [text];
}

/** wrangler's convert.ToString, for the scalars YAML gives. */
function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return v === null || v === undefined ? '' : JSON.stringify(v);
}

/**
 * The configuration file of a k3s server: $K3S_CONFIG_FILE, else `--config`/`-c` (as configfilearg
 * finds it: exactly those spellings), else the default; '' when none is read.
 */
export function configFileOf(args: readonly string[], env: ReadonlyMap<string, string>): string {
  const fromEnv = env.get('K3S_CONFIG_FILE');
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    // A flag with nothing after it: k3s reads no file (and its CLI then refuses the flag).
    if (a === '--config' || a === '-c') return args[i + 1] ?? '';
    if (a.startsWith('--config=')) return a.slice('--config='.length);
    if (a.startsWith('-c=')) return a.slice('-c='.length);
  }
  return K3S_CONFIG;
}

/** What the node check needs of a k3s server's settings. */
export interface K3sServerSettings {
  readonly dataDir: string;
  /** `kube-apiserver-arg` entries: the configuration files' first, then the command line's. */
  readonly kubeApiserverArgs: readonly string[];
}

/**
 * A k3s server's settings from its command line after `server` and its configuration files' texts
 * (in order), parsed as urfave/cli parses them: Go's flag package (program-config/flags.ts) over the
 * files' flags followed by the command line's. k3s's other flags are not in our tables: tolerated,
 * each read by the arity rule of unknown flags.
 */
export function k3sServerSettings(
  args: readonly string[],
  configTexts: readonly string[],
  env: ReadonlyMap<string, string> = new Map(),
): K3sServerSettings {
  const parsed = parseGoFlags(
    [...configFileArgs(configTexts), ...args].map((text) => ({ text })),
    (name) => (name === 'data-dir' || name === 'd' || name === 'kube-apiserver-arg' ? { bool: false } : undefined),
    'k3s',
    true,
  );
  const dataDir = [...(parsed.occurrences.get('data-dir') ?? []), ...(parsed.occurrences.get('d') ?? [])]
    .sort((x, y) => x.index - y.index)
    .pop()?.value.text;
  return {
    // urfave/cli applies a flag's variable ($K3S_DATA_DIR, cmds/server.go DataDirFlag) only where
    // the arguments — the command line's and the files' — leave it unset.
    dataDir: dataDir !== undefined && dataDir !== '' ? dataDir : env.get('K3S_DATA_DIR') || K3S_DEFAULT_DATA_DIR,
    kubeApiserverArgs: (parsed.occurrences.get('kube-apiserver-arg') ?? []).map((o) => o.value.text),
  };
}

/**
 * k3s's GetArgs (pkg/util/args.go): its defaults, then each extra `key=value` (`--` dropped, no `=`
 * means true): `key` replaces the default and a repeated key accumulates, `key+` appends to the
 * default, `key-` prepends to it; the result sorted by name, a repeated key's values in order.
 */
export function k3sArgs(defaults: ReadonlyMap<string, string>, extra: readonly string[]): string[] {
  const initial = new Map(defaults);
  const multi = new Map<string, string[]>();
  for (const raw of extra) {
    const unprefixed = raw.startsWith('--') ? raw.slice(2) : raw;
    const eq = unprefixed.indexOf('=');
    const arg = eq === -1 ? unprefixed : unprefixed.slice(0, eq);
    const value = eq === -1 ? 'true' : unprefixed.slice(eq + 1);
    const key = arg.replace(/[-+]+$/, '');
    const first = initial.get(key);
    const existing = multi.get(key) ?? [];
    const withFirst = first !== undefined ? [first] : [];
    multi.set(
      key,
      arg.endsWith('+')
        ? [...withFirst, ...existing, value]
        : arg.endsWith('-')
          ? [value, ...withFirst, ...existing]
          : [...existing, value],
    );
    initial.delete(key);
  }
  for (const [key, value] of initial) multi.set(key, [value]);
  return [...multi.keys()].sort().flatMap((key) => (multi.get(key) ?? []).map((v) => `--${key}=${v}`));
}

/**
 * The argv of the kube-apiserver a k3s server with embedded etcd runs: k3s's storage defaults (the
 * embedded etcd on the loopback it listens on, k3s's etcd client certificate) and the server's
 * `kube-apiserver-arg`. k3s's other defaults (serving certificates, authorization…) are left out:
 * no rule here reads them.
 */
export function embeddedApiserverArgv(settings: K3sServerSettings, etcdEndpoint: string): string[] {
  const tls = `${settings.dataDir.replace(/\/+$/, '')}/server/tls/etcd`;
  const defaults = new Map([
    ['storage-backend', 'etcd3'],
    ['etcd-servers', etcdEndpoint],
    ['etcd-cafile', `${tls}/server-ca.crt`],
    ['etcd-certfile', `${tls}/client.crt`],
    ['etcd-keyfile', `${tls}/client.key`],
  ]);
  return ['kube-apiserver', ...k3sArgs(defaults, settings.kubeApiserverArgs)];
}

/**
 * The endpoint k3s gives kube-apiserver for its embedded etcd: `https://<loopback>:2379`, the
 * loopback of the cluster's address family (127.0.0.1, or [::1] on an IPv6-only cluster), which is
 * also the first URL k3s writes into etcd's listen-client-urls.
 */
export function embeddedEtcdEndpoint(etcdConfigText: string): string | undefined {
  const read = readGoYaml(etcdConfigText);
  const urls =
    read.ok && typeof read.value === 'object' && read.value !== null
      ? (read.value as Record<string, unknown>)['listen-client-urls']
      : undefined;
  if (typeof urls !== 'string') return undefined;
  return urls
    .split(',')
    .map((u) => u.trim())
    .find((u) => u === 'https://127.0.0.1:2379' || u === 'https://[::1]:2379');
}

/** The etcd configuration file k3s writes for its embedded etcd. */
export function embeddedEtcdConfig(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, '')}/server/db/etcd/config`;
}
