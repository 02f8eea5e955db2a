/**
 * k3s's embedded etcd. A k3s server runs etcd inside its own process (no etcd process, no static
 * pod), configured by the file k3s writes before starting it: `<data-dir>/server/db/etcd/config`,
 * etcd's own YAML configuration file, with every `etcd-arg` of k3s already merged into it
 * (k3s-io/k3s pkg/daemons/executor/executor.go at 0097157b, `ETCDConfig.ToConfigFile(extraArgs)`:
 * each `--etcd-arg=key=value` becomes a key of that YAML map before it is written). So what etcd reads is
 * that file: the node check judges it as etcd's `--config-file`, and the fix goes to `etcd-arg`.
 *
 * The data directory is k3s's `--data-dir` / `-d` (a flag beats the configuration file), else
 * `data-dir:` in /etc/rancher/k3s/config.yaml and then the files of config.yaml.d in name order
 * (a later file's scalar replaces an earlier one: k3s's pkg/configfilearg), else
 * /var/lib/rancher/k3s, k3s's default when it runs as root.
 */
import { parseGoFlags } from '../program-config/flags.js';
import { readGoYaml } from '../program-config/go-yaml.js';

export const K3S_DEFAULT_DATA_DIR = '/var/lib/rancher/k3s';
export const K3S_CONFIG = '/etc/rancher/k3s/config.yaml';
export const K3S_CONFIG_DIR = '/etc/rancher/k3s/config.yaml.d';

/**
 * `--data-dir` (alias `-d`) in a k3s server's argv after `server`. k3s's CLI (urfave/cli v2) parses
 * with Go's flag package, which program-config/flags.ts models: `-d X`, `--data-dir=X`, `-data-dir X`
 * alike, the last occurrence wins, parsing stops at the first argument that is not a flag. k3s's
 * other flags are not in our tables: tolerated, each read by the arity rule of unknown flags.
 */
export function dataDirFlag(args: readonly string[]): string | undefined {
  const parsed = parseGoFlags(
    args.map((text) => ({ text })),
    (name) => (name === 'data-dir' || name === 'd' ? { bool: false } : undefined),
    'k3s',
    true,
  );
  const last = [...(parsed.occurrences.get('data-dir') ?? []), ...(parsed.occurrences.get('d') ?? [])]
    .sort((x, y) => x.index - y.index)
    .pop();
  return last?.value.text;
}

/** `data-dir` of k3s configuration files, read in order (the last that sets it wins). */
export function dataDirOfConfigs(texts: readonly string[]): string | undefined {
  let value: string | undefined;
  for (const text of texts) {
    // A file k3s itself could not read stops k3s; nothing to take from it here.
    const read = readGoYaml(text);
    const v =
      read.ok && typeof read.value === 'object' && read.value !== null ? (read.value as Record<string, unknown>)['data-dir'] : undefined;
    if (typeof v === 'string' && v !== '') value = v;
  }
  return value;
}

/** The etcd configuration file k3s writes for its embedded etcd. */
export function embeddedEtcdConfig(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, '')}/server/db/etcd/config`;
}
