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
import { findInvocations } from '../launch/invocation.js';
import type { Pod } from '../launch/pod.js';
import { decide, type Decision } from '../policy/decide.js';
import type { Policy } from '../policy/policy.js';
import { evaluatePod, type EvaluationOptions, type PodEvaluation } from '../rules/evaluate.js';

/** What is known about the pod besides its spec. */
export interface PodFacts {
  /** A kubelet (system:node:<n> in system:nodes) writing its own mirror pod: kubeletMirrorPods applies. */
  readonly kubeletMirror?: boolean;
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
}

export interface Verdict extends Decision {
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  /** The pod carries the kubelet's mirror annotation. */
  readonly mirror: boolean;
}

function evaluationOptions(policy: Policy, facts: PodFacts): EvaluationOptions {
  return { etcdTopology: policy.etcdTopology, ...(facts.observedEtcdMembers !== undefined ? { observedEtcdMembers: facts.observedEtcdMembers } : {}) };
}

/** `container/rule` of every failing (or unverifiable) finding. */
function failingKeys(evaluation: PodEvaluation): Set<string> {
  const keys = new Set<string>();
  for (const r of evaluation.results) for (const f of r.findings) if (f.status === 'fail' || f.status === 'unknown') keys.add(`${r.container}/${f.rule}`);
  return keys;
}

/** Judges one pod under the policy. */
export function judgePod(pod: Pod, policy: Policy, facts: PodFacts = {}): Verdict {
  const options = evaluationOptions(policy, facts);
  const evaluation = evaluatePod(pod, options);
  const preexisting = facts.previous !== undefined ? failingKeys(evaluatePod(facts.previous, options)) : undefined;
  const decision = decide(evaluation, policy, { kubeletMirror: facts.kubeletMirror ?? false, ...(preexisting !== undefined ? { preexisting } : {}) });
  return { namespace: evaluation.namespace, name: evaluation.name, mirror: evaluation.mirror, ...decision };
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
