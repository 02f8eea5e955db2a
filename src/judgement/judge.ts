/**
 * The one judgement every front door uses: a pod (and what is known about it from elsewhere) in,
 * a verdict grouped by container out, the policy's decision included. The webhook, `scan` and
 * `audit` only decode their input into pods and facts, call this, and print the verdict their way.
 *
 *   launch/        how the process is started: pod, env, $(VAR), shell, wrappers → invocations
 *   configuration/ how the program reads its flags: Go flag, pflag, release tables, etcd env/config
 *   rules/         the controls, one declaration each → findings
 *   policy/        the policy and what it does with each finding → decision
 *
 * Pure: no I/O, no clock; the same pod, policy and facts always give the same verdict.
 */
import { findInvocations, type Component, type Invocation } from '../launch/invocation.js';
import type { Container, Pod } from '../launch/pod.js';
import type { FileFacts, NodeFiles } from '../program-config/node-files.js';
import type { ProgramConfig } from '../program-config/settings.js';
import type { Neighbour } from '../rules/outcome.js';
import { probeTargetsOf, type Observation, type ProbeTarget } from '../rules/observed.js';

// The probes' data, for the node front door (node/probe.ts makes it; rules/observed.ts judges it).
export type { CertificateProbe, ClientIdentity, Observation, ProbeTarget, ServerCertificate } from '../rules/observed.js';
import { decide, type Decision } from '../policy/decide.js';
import type { Policy } from '../policy/policy.js';
import { evaluatePod, readConfig, type EvaluationOptions, type NodeView, type PodEvaluation } from '../rules/evaluate.js';

/** What is known about the pod besides its spec. */
export interface PodFacts {
  /** A kubelet (system:node:<n> in system:nodes) writing its own mirror pod: kubeletMirrorPods applies. */
  readonly kubeletMirror?: boolean;
  /** A workload controller creating an object for the workload it manages: controllerPods applies. */
  readonly controllerCreated?: boolean;
  /**
   * The pod before this UPDATE. An update cannot change what runs (command, args and env are
   * immutable), so rules that already failed on it warn instead of deny (ratcheting): a label or
   * finalizer change on a running pod is not blocked by what it already was.
   */
  readonly previous?: Pod;
  /**
   * etcd pods observed running beside this one (in a cluster, its namespace). With etcdTopology auto,
   * more than one means a multi-member etcd even when this pod's --initial-cluster lists one member:
   * etcd reads --initial-cluster only when a member first starts.
   */
  readonly observedEtcdMembers?: number;
  /**
   * The copies of its pod the workload declares (a StatefulSet's `spec.replicas`): with
   * etcdTopology auto, more than one means a multi-member etcd when the pod's own flags leave the
   * member list to run time.
   */
  readonly replicas?: number;
  /** A node check: the node's files, clock and other programs (node rules are evaluated). */
  readonly node?: NodeView;
  /** The runs of a container when known otherwise than from its spec (a process read from /proc). */
  readonly invocations?: (container: Container) => Invocation[] | undefined;
}

export interface Verdict extends Decision {
  /** Pod, or the workload whose pod template was judged. */
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  /** The pod carries the kubelet's mirror annotation. */
  readonly mirror: boolean;
}

function evaluationOptions(policy: Policy, facts: PodFacts): EvaluationOptions {
  return {
    etcdTopology: policy.etcdTopology,
    ...(facts.observedEtcdMembers !== undefined ? { observedEtcdMembers: facts.observedEtcdMembers } : {}),
    ...(facts.replicas !== undefined ? { replicas: facts.replicas } : {}),
    ...(facts.node !== undefined ? { node: facts.node } : {}),
    ...(facts.invocations !== undefined ? { invocations: facts.invocations } : {}),
  };
}

/** `container/rule` of every failing (or unverifiable) finding. */
function failingKeys(evaluation: PodEvaluation): Set<string> {
  const keys = new Set<string>();
  for (const r of evaluation.results)
    for (const f of r.findings) if (f.status === 'fail' || f.status === 'unknown') keys.add(`${r.container}/${f.rule}`);
  return keys;
}

/** Judges one pod under the policy. */
export function judgePod(pod: Pod, policy: Policy, facts: PodFacts = {}): Verdict {
  const options = evaluationOptions(policy, facts);
  const evaluation = evaluatePod(pod, options);
  const preexisting = facts.previous !== undefined ? failingKeys(evaluatePod(facts.previous, options)) : undefined;
  const decision = decide(evaluation, policy, {
    kubeletMirror: facts.kubeletMirror ?? false,
    controllerCreated: facts.controllerCreated ?? false,
    ...(preexisting !== undefined ? { preexisting } : {}),
  });
  return { kind: evaluation.kind, namespace: evaluation.namespace, name: evaluation.name, mirror: evaluation.mirror, ...decision };
}

/** Some container of the pod runs etcd (launch stage only: no flags read). */
function runsEtcd(pod: Pod): boolean {
  const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  return containers.some((c) => findInvocations(pod, c).some((i) => i.component === 'etcd'));
}

/**
 * Judges the pods of a cluster, in the order given. Pods of one namespace are judged knowing how
 * many etcd pods run there (PodFacts.observedEtcdMembers): a cluster can tell what one pod cannot.
 */
export function judgeCluster(pods: readonly Pod[], policy: Policy): Verdict[] {
  const etcdPods = new Map<string, number>();
  for (const pod of pods) {
    if (!runsEtcd(pod)) continue;
    const ns = pod.metadata?.namespace ?? '';
    etcdPods.set(ns, (etcdPods.get(ns) ?? 0) + 1);
  }
  return pods.map((pod) => judgePod(pod, policy, { observedEtcdMembers: etcdPods.get(pod.metadata?.namespace ?? '') ?? 0 }));
}

/** One thing that runs (or would run) on a node: a static pod manifest, or a live process. */
export interface NodeSource {
  /** A manifest's pod, or a process as a one-container pod (its command is the process's argv). */
  readonly pod: Pod;
  readonly kind: 'manifest' | 'process';
  /** Where it is, for messages: the manifest's path, `pid 4242`. */
  readonly where: string;
  /** The manifest file's mode and owner (kind manifest). */
  readonly manifest?: FileFacts;
  /** The files each container's programs see. */
  readonly filesFor: (container: Container) => NodeFiles;
  /** A process's runs, read from /proc rather than from a spec. */
  readonly invocations?: (container: Container) => Invocation[] | undefined;
}

export interface NodeJudgementOptions {
  readonly now: number;
  readonly expiryWarningMs: number;
  /** What probes met at each endpoint, by configured URL (rules/observed.ts); absent: nothing probed. */
  readonly observed?: ReadonlyMap<string, Observation>;
}

/** Everything that runs on a node, each run's configuration read once: judged, and probed before. */
export interface NodePlan {
  readonly sources: readonly NodeSource[];
  readonly runs: ReadonlyArray<ReadonlyArray<{ component: Component; config: ProgramConfig; files: NodeFiles }>>;
}

export function planNode(sources: readonly NodeSource[]): NodePlan {
  return { sources, runs: sources.map(runsOf) };
}

/**
 * The etcd endpoints the node's running processes name (rules/observed.ts), for the probes, with
 * the files of the program that names them (kube-apiserver's client certificate is read there). Only
 * processes: what runs is what listens; a manifest's URLs may name a member that is not running, or
 * an address that is someone else's.
 */
export function probeTargetsOfPlan(plan: NodePlan): Array<{ target: ProbeTarget; files: NodeFiles }> {
  return plan.sources.flatMap((s, i) =>
    s.kind === 'process'
      ? (plan.runs[i] ?? []).flatMap((r) => probeTargetsOf(r.component, r.config).map((target) => ({ target, files: r.files })))
      : [],
  );
}

/** Every run of a source, with its configuration read through its own view of the node. */
function runsOf(source: NodeSource): Array<{ component: Component; config: ProgramConfig; files: NodeFiles }> {
  const containers = [...(source.pod.spec.initContainers ?? []), ...source.pod.spec.containers];
  return containers.flatMap((c) => {
    const files = source.filesFor(c);
    const invocations = source.invocations?.(c) ?? findInvocations(source.pod, c);
    return invocations.map((inv) => ({ component: inv.component, config: readConfig(inv, files), files }));
  });
}

/**
 * Judges everything that runs on one node: each manifest and process with the node rules, knowing
 * the node's other etcd and kube-apiserver runs (CA comparisons) and, for a process, the
 * configuration its manifest gives (drift). Pure: files come in as NodeFiles, the clock as `now`.
 */
export function judgeNode(plan: NodePlan, policy: Policy, options: NodeJudgementOptions): Verdict[] {
  const { sources, runs } = plan;
  const observed = options.observed;
  const neighbours: Neighbour[] = runs.flat().map(({ config, files }) => ({ config, files }));
  const manifestRuns = sources.flatMap((s, i) => (s.kind === 'manifest' ? (runs[i] ?? []).map((r) => ({ ...r, where: s.where })) : []));
  return sources.map((source, i) => {
    const own = runs[i] ?? [];
    const component = own[0]?.component;
    const counterpart = source.kind === 'process' ? (manifestRuns.find((m) => m.component === component) ?? null) : undefined;
    const node: NodeView = {
      now: options.now,
      expiryWarningMs: options.expiryWarningMs,
      neighbours,
      filesFor: source.filesFor,
      ...(observed !== undefined && source.kind === 'process' ? { observed: (url: string) => observed.get(url) } : {}),
      ...(source.manifest !== undefined ? { manifest: source.manifest } : {}),
      ...(counterpart !== undefined
        ? { manifestConfig: counterpart === null ? null : { config: counterpart.config, where: counterpart.where } }
        : {}),
    };
    return judgePod(source.pod, policy, { node, ...(source.invocations !== undefined ? { invocations: source.invocations } : {}) });
  });
}
