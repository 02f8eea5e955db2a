/**
 * `etcd-tls-guard node`: one node, read-only. What runs — the static pod manifests of the kubelet's
 * staticPodPath and the live etcd and kube-apiserver processes in /proc — and the files they name,
 * all read under the host root, go through the one judgement with the node rules; the report has
 * the shape `scan` prints.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodePodOf } from '../input/workload.js';
import { parseManifestText, type InputError } from '../input/manifests.js';
import { judgeNode, planNode, probeTargetsOfPlan, type NodePlan, type NodeSource } from '../judgement/judge.js';
import type { Observation } from '../judgement/judge.js';
import { DEFAULT_PROBE_OPTIONS, probeEndpoints, type ProbeOptions } from './probe.js';
import { parsePflags, type FlagSpec } from '../program-config/flags.js';
import { readGoYaml } from '../program-config/go-yaml.js';
import { findInvocations, processInvocations } from '../launch/invocation.js';
import type { Container, Pod } from '../launch/pod.js';
import type { Policy } from '../policy/policy.js';
import { reportOf, rowsOf, type Report, type ReportRow } from '../report/report.js';
import { HostNodeFiles, podPathMapping, processPathMapping } from './files.js';
import { HostRoot } from './host.js';
import { configFileOf, embeddedApiserverArgv, embeddedEtcdConfig, embeddedEtcdEndpoint, k3sServerSettings } from './k3s.js';
import { nodeProcesses, programOf, type NodeProcess } from './processes.js';

export interface NodeCheckOptions {
  /** Where the host's / is (default /; /host in a container). */
  readonly root: string;
  /** The host's /proc (default ROOT/proc). */
  readonly procDir?: string;
  /** Static pod directories, as host paths; default: the kubelet's staticPodPath. */
  readonly manifestDirs?: readonly string[];
  readonly policy: Policy;
  /** Milliseconds since the epoch. */
  readonly now: number;
  readonly expiryWarningMs: number;
  /** Only these processes (tests: the etcd they started). */
  readonly pids?: ReadonlySet<number>;
  /** What probes met, by endpoint URL (checkNodeProbing makes it); absent: the observed rules say not probed. */
  readonly observed?: ReadonlyMap<string, Observation>;
}

export interface NodeCheck {
  readonly rows: readonly ReportRow[];
  readonly errors: readonly InputError[];
  /** Manifests and processes read. */
  readonly documents: number;
  /** The static pod directories read, and how each was found. */
  readonly manifestDirs: ReadonlyArray<{ readonly path: string; readonly from: string }>;
  /** What was looked at, for a check that found nothing to judge: each directory and whether it exists, the process table. */
  readonly looked: {
    readonly manifestDirs: ReadonlyArray<{ readonly path: string; readonly from: string; readonly exists: boolean }>;
    readonly procDir: string;
    /** Processes listed in procDir (0: not the host's process table, or not readable). */
    readonly processes: number;
    /** What was found that runs none of ours, and why (a k3s agent, a k3s server on SQLite). */
    readonly notes: readonly string[];
  };
}

/** The kubelet's defaults where no kubelet tells otherwise: kubeadm's and RKE2's. */
const DEFAULT_STATIC_POD_DIRS = ['/etc/kubernetes/manifests', '/var/lib/rancher/rke2/agent/pod-manifests'];
/** Files read from one static pod directory at most (memory stays bounded whatever is there). */
const MAX_MANIFESTS = 1_000;
/** Where kubeadm writes the kubelet's configuration (staticPodPath). */
const KUBEADM_KUBELET_CONFIG = '/var/lib/kubelet/config.yaml';

/**
 * The two kubelet flags that say where its static pods are, read from its argv by the pflag parser
 * that reads kube-apiserver's (the kubelet's flags are pflag too: `--x v`, `--x=v`, the last wins; a
 * single dash is a shorthand, so `-config` is not `--config`). The kubelet's other flags are not in
 * our tables: they are tolerated, each read by the arity rule of unknown flags.
 */
const KUBELET_FLAGS: ReadonlyMap<string, FlagSpec> = new Map([
  ['pod-manifest-path', { bool: false }],
  ['config', { bool: false }],
]);

function kubeletFlag(argv: readonly string[], flag: 'pod-manifest-path' | 'config'): string | undefined {
  const parsed = parsePflags(
    argv.slice(1).map((text) => ({ text })),
    (name) => KUBELET_FLAGS.get(name),
    new Map(),
    'kubelet',
    true,
  );
  const occurrences = parsed.occurrences.get(flag);
  return occurrences?.[occurrences.length - 1]?.value.text;
}

function staticPodPathOf(host: HostRoot, configFile: string): string | undefined {
  const r = host.read(configFile);
  if (!r.ok) return undefined;
  const read = readGoYaml(r.bytes.toString('utf8'));
  const path =
    read.ok && typeof read.value === 'object' && read.value !== null
      ? (read.value as { staticPodPath?: unknown }).staticPodPath
      : undefined;
  return typeof path === 'string' && path !== '' ? path : undefined;
}

/**
 * The kubelet's static pod directories: its --pod-manifest-path, or staticPodPath of its --config
 * (kubelet flags win over the file, as the kubelet reads them), else kubeadm's kubelet config, else
 * the defaults that exist.
 */
export function staticPodDirs(host: HostRoot, processes: readonly NodeProcess[]): Array<{ path: string; from: string }> {
  const dirs: Array<{ path: string; from: string }> = [];
  const add = (path: string, from: string): void => {
    if (!dirs.some((d) => d.path === path)) dirs.push({ path, from });
  };
  for (const p of processes.filter((x) => programOf(x.argv) === 'kubelet')) {
    const flag = kubeletFlag(p.argv, 'pod-manifest-path');
    const config = kubeletFlag(p.argv, 'config');
    const fromConfig = config !== undefined ? staticPodPathOf(host, config) : undefined;
    if (flag !== undefined && flag !== '') add(flag, `kubelet (pid ${p.pid}) --pod-manifest-path`);
    else if (fromConfig !== undefined) add(fromConfig, `kubelet (pid ${p.pid}) --config ${config ?? ''} staticPodPath`);
  }
  if (dirs.length > 0) return dirs;
  const kubeadm = staticPodPathOf(host, KUBEADM_KUBELET_CONFIG);
  if (kubeadm !== undefined) return [{ path: kubeadm, from: `${KUBEADM_KUBELET_CONFIG} staticPodPath` }];
  for (const d of DEFAULT_STATIC_POD_DIRS) {
    const at = host.locate(d);
    if (at.ok && at.stats.isDirectory()) add(d, 'default');
  }
  return dirs;
}

/** A process as a one-container pod: what the report names; its runs come from /proc, not from a spec. */
function processPod(p: NodeProcess): Pod {
  return {
    kind: 'Process',
    metadata: { name: `${programOf(p.argv) ?? 'process'} (pid ${p.pid})` },
    spec: { containers: [{ name: `pid-${p.pid}`, command: [...p.argv] }] },
  };
}

/** The node check without probes (the observed rules say so): pure reading of files and /proc. */
export function checkNode(options: NodeCheckOptions): NodeCheck {
  const prepared = prepareNode(options);
  return judgePrepared(prepared, planNode(prepared.sources), options);
}

/**
 * The node check with probes: the endpoints the node's etcd and kube-apiserver name are probed as a
 * client with no certificate (node/probe.ts) before the one judgement, which reads each run's
 * configuration once for both.
 */
export async function checkNodeProbing(options: NodeCheckOptions, probe: ProbeOptions = DEFAULT_PROBE_OPTIONS): Promise<NodeCheck> {
  const prepared = prepareNode(options);
  const plan = planNode(prepared.sources);
  const observed = await probeEndpoints(probeTargetsOfPlan(plan), probe);
  return judgePrepared(prepared, plan, { ...options, observed });
}

type Subject = { source: string; document: number; kind: string | null; namespace: string | null; name: string | null };

interface PreparedNode {
  readonly sources: ReadonlyArray<NodeSource & { subject: Subject }>;
  readonly errors: readonly InputError[];
  readonly dirs: ReadonlyArray<{ path: string; from: string }>;
  readonly looked: NodeCheck['looked'];
}

function judgePrepared(prepared: PreparedNode, plan: NodePlan, options: NodeCheckOptions): NodeCheck {
  const { sources } = prepared;
  const verdicts = judgeNode(plan, options.policy, {
    now: options.now,
    expiryWarningMs: options.expiryWarningMs,
    ...(options.observed !== undefined ? { observed: options.observed } : {}),
  });
  const rows = verdicts.flatMap((v, i) => rowsOf((sources[i] as (typeof sources)[number]).subject, v));
  return { rows, errors: prepared.errors, documents: sources.length, manifestDirs: prepared.dirs, looked: prepared.looked };
}

/** What runs on the node, read from the static pod directories and /proc. */
function prepareNode(options: NodeCheckOptions): PreparedNode {
  const host = new HostRoot(options.root);
  let accounts: ReturnType<HostRoot['accounts']> | undefined;
  const accountsOf = (): ReturnType<HostRoot['accounts']> => (accounts ??= host.accounts());
  const procDir = options.procDir ?? join(host.root, 'proc');
  const processes = nodeProcesses(procDir, options.pids);
  const dirs =
    options.manifestDirs !== undefined
      ? options.manifestDirs.map((path) => ({ path, from: '--manifests' }))
      : staticPodDirs(host, processes);
  const errors: InputError[] = [];
  const sources: Array<NodeSource & { subject: Subject }> = [];

  const lookedDirs: Array<{ path: string; from: string; exists: boolean }> = [];
  for (const dir of dirs) {
    const at = host.locate(dir.path);
    lookedDirs.push({ ...dir, exists: at.ok && at.stats.isDirectory() });
    if (!at.ok || !at.stats.isDirectory()) {
      if (options.manifestDirs !== undefined) errors.push({ source: dir.path, message: at.ok ? 'not a directory' : at.reason });
      continue;
    }
    // The kubelet reads every file of the directory except hidden ones (pkg/kubelet/config/file.go).
    const all = readdirSync(at.real)
      .filter((n) => !n.startsWith('.'))
      .sort();
    // A node runs a handful of static pods; a directory of thousands is not one to judge whole.
    if (all.length > MAX_MANIFESTS)
      errors.push({ source: dir.path, message: `${all.length} files: only the first ${MAX_MANIFESTS} are read` });
    const names = all.slice(0, MAX_MANIFESTS);
    for (const name of names) {
      const path = `${dir.path.replace(/\/+$/, '')}/${name}`;
      const read = host.read(path);
      if (!read.ok) {
        if (read.problem !== 'unreadable' || !/not a regular file/.test(read.reason)) errors.push({ source: path, message: read.reason });
        continue;
      }
      const parsed = parseManifestText(read.bytes.toString('utf8'), path);
      errors.push(...parsed.errors);
      const files = new HostNodeFiles(host, () => ({ hostPath: path, via: path }), accountsOf);
      const manifest = files.stat(path);
      for (const doc of parsed.documents) {
        // The kubelet runs only Pods from its static pod directory; a Pod it would reject is an error here.
        const decoded = decodePodOf('Pod', doc.object, '');
        if (!decoded.ok) {
          if ((doc.object as { kind?: unknown }).kind === 'Pod')
            errors.push({ source: path, document: doc.document, message: `not a valid Pod: ${decoded.problems.join('; ')}` });
          continue;
        }
        const pod = decoded.value;
        // A script's sourced files (`. /etc/etcd/etcd.conf`) are read through the container's volumes.
        const filesOf = new Map<Container, HostNodeFiles>();
        const filesFor = (c: Container): HostNodeFiles => {
          let f = filesOf.get(c);
          if (f === undefined) filesOf.set(c, (f = new HostNodeFiles(host, podPathMapping(pod, c), accountsOf)));
          return f;
        };
        sources.push({
          pod,
          kind: 'manifest',
          where: path,
          manifest,
          filesFor,
          invocations: (c) => {
            const files = filesFor(c);
            return findInvocations(pod, c, {
              sourced: (p) => {
                const t = files.text(p);
                return t.state === 'read' ? { text: t.text } : { reason: t.reason };
              },
            });
          },
          subject: {
            source: path,
            document: doc.document,
            kind: 'Pod',
            namespace: pod.metadata?.namespace ?? null,
            name: pod.metadata?.name ?? null,
          },
        });
      }
    }
  }
  const notes: string[] = [];
  for (const p of processes) {
    const program = programOf(p.argv);
    if (program === 'kubelet') continue;
    if (program === 'k3s agent') {
      notes.push(`k3s agent (pid ${p.pid}): an agent node runs no etcd or kube-apiserver`);
      continue;
    }
    let invocations = processInvocations(p.argv, p.env);
    if (program === 'k3s server') {
      const embedded = k3sServerRuns(host, p);
      if (typeof embedded === 'string') {
        notes.push(`k3s server (pid ${p.pid}) without embedded etcd: ${embedded}`);
        continue;
      }
      invocations = embedded;
    }
    const processRoot = new HostRoot(join(procDir, String(p.pid), 'root'));
    sources.push({
      pod: processPod(p),
      kind: 'process',
      where: `pid ${p.pid}`,
      filesFor: () => new HostNodeFiles(processRoot, processPathMapping(p.pid), accountsOf, p.uid),
      invocations: () => invocations,
      subject: {
        source: `/proc/${p.pid}`,
        document: 0,
        kind: 'Process',
        namespace: null,
        name: `${programOf(p.argv) ?? ''} (pid ${p.pid})`,
      },
    });
  }
  return { sources, errors, dirs, looked: { manifestDirs: lookedDirs, procDir, processes: countProcesses(procDir), notes } };
}

/**
 * A k3s server's embedded etcd and kube-apiserver as the runs k3s makes of them (node/k3s.ts): etcd
 * reading the configuration file k3s writes for it, kube-apiserver with k3s's storage defaults and
 * the server's kube-apiserver-arg; a reason instead when there is no embedded etcd (SQLite, or an
 * external datastore: --datastore-endpoint).
 */
function k3sServerRuns(host: HostRoot, p: NodeProcess): ReturnType<typeof processInvocations> | string {
  const args = p.argv.slice(2);
  const env: ReadonlyMap<string, string> = p.env instanceof Map ? p.env : new Map();
  const configFile = configFileOf(args, env);
  const configTexts =
    configFile === ''
      ? []
      : [configFile, ...configDropIns(host, `${configFile}.d`)].flatMap((f) => {
          const r = host.read(f);
          return r.ok ? [r.bytes.toString('utf8')] : [];
        });
  const settings = k3sServerSettings(args, configTexts, env);
  const etcdConfig = embeddedEtcdConfig(settings.dataDir);
  const read = host.read(etcdConfig);
  if (!read.ok) return `no ${etcdConfig} (its datastore is SQLite or external: --datastore-endpoint)`;
  const etcd = processInvocations(['etcd', `--config-file=${etcdConfig}`], new Map()).map((inv) => ({
    ...inv,
    origin: `embedded in k3s server: the configuration k3s writes (${etcdConfig}, etcd-arg merged in)`,
  }));
  const endpoint = embeddedEtcdEndpoint(read.bytes.toString('utf8'));
  if (endpoint === undefined) return etcd;
  const apiserver = processInvocations(embeddedApiserverArgv(settings, endpoint), new Map()).map((inv) => ({
    ...inv,
    origin: `embedded in k3s server: k3s's storage flags, then kube-apiserver-arg of ${configFile === '' ? 'the command line' : `${configFile}, ${configFile}.d and the command line`}`,
  }));
  return [...etcd, ...apiserver];
}

/** The drop-in files of a k3s configuration file, in name order (os.ReadDir), .yaml and .yml only. */
function configDropIns(host: HostRoot, dir: string): string[] {
  const at = host.locate(dir);
  if (!at.ok || !at.stats.isDirectory()) return [];
  return readdirSync(at.real)
    .filter((n) => /\.ya?ml$/i.test(n))
    .sort()
    .map((n) => `${dir}/${n}`);
}

/** The report `scan` prints, from a node check. */
export function nodeReport(check: NodeCheck): Report {
  return reportOf(check.rows, check.errors, check.documents);
}

/** How many processes a /proc lists (numeric entries); 0 when it cannot be read. */
function countProcesses(procDir: string): number {
  try {
    return readdirSync(procDir).filter((e) => /^\d+$/.test(e)).length;
  } catch {
    return 0;
  }
}

/**
 * What a check that found no etcd and no kube-apiserver looked at, in one sentence: a worker node, or
 * a container without the host's filesystem and process table, looks exactly like a compliant node
 * otherwise.
 */
export function nothingFound(check: NodeCheck): string {
  const dirs =
    check.looked.manifestDirs.length > 0
      ? `static pod manifests in ${check.looked.manifestDirs.map((d) => `${d.path} (${d.from}${d.exists ? '' : ', not there'})`).join(', ')}`
      : `a static pod directory (no running kubelet names one; no ${KUBEADM_KUBELET_CONFIG}, ${DEFAULT_STATIC_POD_DIRS.join(' or ')})`;
  const procs =
    check.looked.processes === 0
      ? `${check.looked.procDir} lists no process (not the host's process table: run with hostPID, or on the host)`
      : `none of the ${check.looked.processes} processes in ${check.looked.procDir} runs etcd or kube-apiserver`;
  const notes = check.looked.notes.length > 0 ? `; ${check.looked.notes.join('; ')}` : '';
  return `no etcd or kube-apiserver found on this node: looked for ${dirs}, and ${procs}${notes}; a worker node has nothing to check, and a container needs the host's filesystem (--root) and process table`;
}
