import { readApiserverConfig } from '../program-config/apiserver.js';
import { fixLocation } from './fix-location.js';
import { etcdMembership, readEtcdConfig, type Membership } from '../program-config/etcd.js';
import { findInvocations, type Component, type Invocation } from '../launch/invocation.js';
import { isMirrorPod, type Container, type Pod } from '../launch/pod.js';
import { RULES, type Rule, type Status } from './rules.js';
import type { NodeFiles } from '../program-config/node-files.js';
import type { FindingDetails, NodeContext } from './outcome.js';
import { releaseScope } from '../program-config/releases.js';
import type { ProgramConfig } from '../program-config/settings.js';

export type EtcdTopology = 'auto' | 'single' | 'cluster';

export interface EvaluationOptions {
  /** What to assume when --initial-cluster does not tell how many members etcd has. */
  readonly etcdTopology: EtcdTopology;
  /**
   * etcd pods seen running beside this one (the audit of a cluster). With etcdTopology auto, more
   * than one means a multi-member etcd even when this pod's --initial-cluster lists one member:
   * etcd reads --initial-cluster only when a member first starts, so the first kubeadm node keeps a
   * one-member list after the others joined.
   */
  readonly observedEtcdMembers?: number;
  /** The copies of the pod its workload declares (judgement PodFacts.replicas). */
  readonly replicas?: number;
  /** Set by a node check: the node's files and clock; node rules are evaluated only then. */
  readonly node?: NodeView;
  /** The runs of a container when they are known otherwise (a process read from /proc). */
  readonly invocations?: (container: Container) => Invocation[] | undefined;
}

/** What a node check knows about one pod or process: NodeContext, with files per container. */
export interface NodeView extends Omit<NodeContext, 'files'> {
  readonly filesFor: (container: Container) => NodeFiles;
}

/** One rule's verdict on one run of a program. The rule's CIS numbers and title stay in its declaration (ruleById). */
export interface Finding {
  readonly rule: string;
  readonly status: Status;
  readonly message: string;
  readonly remediation: string;
  readonly evidence: readonly string[];
  /** Node rules: the file, certificate subject and expiry, and a warning for a pass that will not last. */
  readonly details?: FindingDetails;
}

export interface ComponentResult {
  readonly component: Component;
  readonly container: string;
  readonly initContainer: boolean;
  /** How the program's argv was found: "command/args", "sh -c script", "image default". */
  readonly origin: string;
  /** Which release of the program runs, as far as the image tells: `etcd 3.5.15 (image tag)`. */
  readonly release: string;
  readonly findings: readonly Finding[];
}

export interface PodEvaluation {
  /** The kind of the object that declares the pod: Pod, or the workload whose template it is. */
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly mirror: boolean;
  /** One entry per container that runs etcd or kube-apiserver; empty for any other pod. */
  readonly results: readonly ComponentResult[];
}

/** Membership only means something for etcd; kube-apiserver rules are never multi-member-only. */
const NOT_ETCD: { multi: boolean; membership: Membership } = { multi: false, membership: { kind: 'undetermined', evidence: 'not etcd' } };

/**
 * How many members the run's etcd has: its own flags first (etcdMembership); with etcdTopology auto,
 * what is known from outside the pod — etcd pods observed beside it, or the replicas its workload
 * declares when the flags leave the member list to run time (a chart's start script that lists the
 * StatefulSet's peers) — and otherwise the policy's etcdTopology.
 */
function membershipFor(config: ProgramConfig, pod: Pod, options: EvaluationOptions): { multi: boolean; membership: Membership } {
  if (config.component !== 'etcd') return NOT_ETCD;
  const { etcdTopology: topology, observedEtcdMembers: observed, replicas } = options;
  const membership = etcdMembership(config);
  if (topology === 'auto' && observed !== undefined && observed > 1 && membership.kind !== 'cluster') {
    return {
      multi: true,
      membership: {
        kind: 'cluster',
        evidence: `${observed} etcd pods run in the namespace (${membership.evidence}, but etcd reads it only when a member first starts)`,
      },
    };
  }
  // The replicas of a workload whose flags leave the member list to run time (a chart's script that
  // lists the StatefulSet's peers), or tell only how a member first starts (a script's re-join
  // branch): more than one replica are the members. Peers that only listen locally stay single.
  const replicated = replicas !== undefined && replicas > 1 && topology === 'auto';
  if (replicated && (membership.kind === 'undetermined' || (membership.kind === 'single' && membership.firstStartOnly === true))) {
    const why =
      membership.kind === 'single' ? `${membership.evidence}, but etcd reads it only when a member first starts` : membership.evidence;
    return { multi: true, membership: { kind: 'cluster', evidence: `${workloadOf(pod)} declares ${replicas} replicas (${why})` } };
  }
  if (membership.kind !== 'undetermined') return { multi: membership.kind === 'cluster', membership };
  if (replicas !== undefined) {
    // One replica says nothing lasting: scaling it (statefulsets/scale) re-judges nothing.
    const declared = `${workloadOf(pod)} declares ${replicas} ${replicas === 1 ? 'replica, and scaling it up adds members' : 'replicas'}`;
    return { multi: topology !== 'single', membership: { kind: 'undetermined', evidence: `${membership.evidence}; ${declared}` } };
  }
  return { multi: topology !== 'single', membership };
}

/** `StatefulSet tenant-a/etcd`: the workload a pod template belongs to, as messages name it. */
const workloadOf = (pod: Pod): string => `${pod.kind ?? 'Pod'} ${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`;

/**
 * A fix that names a flag the pod sets through its ETCD_* variable names the variable instead: the
 * same flag added beside it stops etcd 3.4 and later ("conflicting environment variable … is
 * shadowed by corresponding command-line flag", configuration/etcd.ts envShadowedIsFatal, measured).
 */
function inTermsOfVariables(template: string, config: ProgramConfig): string {
  const variables = config.variables;
  if (variables === undefined) return template;
  let viaEnv = false;
  const text = template.replace(/--([a-z][a-z0-9-]*)/g, (written, flag: string) => {
    const envName = variables.get(flag);
    if (envName === undefined) return written;
    viaEnv = true;
    return envName;
  });
  return viaEnv
    ? `${text} (the pod sets it as an ETCD_* variable: change the variable; the same flag beside it stops etcd 3.4 and later)`
    : text;
}

/** One rule on one run. */
function evaluateRule(
  rule: Rule,
  config: ProgramConfig,
  multi: { multi: boolean; membership: Membership },
  topology: EtcdTopology,
  fixAt: string,
  node: NodeContext | undefined,
): Finding {
  const program = rule.component;
  const finding = (status: Status, message: string, template: string, evidence: readonly string[], details?: FindingDetails): Finding => ({
    rule: rule.id,
    status,
    message,
    remediation: inTermsOfVariables(template, config).replace('{file}', fixAt),
    evidence,
    ...(details !== undefined ? { details } : {}),
  });
  if (config.refusal !== undefined)
    return finding('fail', `${program} will refuse to start: ${config.refusal}`, `Correct the ${program} arguments in {file}`, [
      ...config.notes,
    ]);
  if (config.exits !== undefined)
    return finding('fail', `${program} will not serve: ${config.exits}`, `Correct the ${program} arguments in {file}`, []);
  if (rule.multiMemberOnly && !multi.multi) {
    const why = multi.membership.kind === 'single' ? multi.membership.evidence : `${multi.membership.evidence} and etcdTopology is single`;
    return finding('not-applicable', `etcd has a single member (${why})`, rule.remediation, []);
  }
  const outcome = rule.check(config, node);
  // A peer rule that does not pass says why peers matter here: the branch membership took.
  const message =
    !rule.multiMemberOnly || outcome.status === 'pass'
      ? outcome.message
      : multi.membership.kind === 'undetermined'
        ? `${outcome.message} (treated as a multi-member etcd: ${multi.membership.evidence}; etcdTopology is ${topology})`
        : `${outcome.message} (a multi-member etcd: ${multi.membership.evidence})`;
  // What the reader noticed (flags no release in scope knows, an ETCD_* twin etcd 3.3 ignores...)
  // goes with every finding of the run: it is part of what the verdict rests on.
  const evidence = config.notes.length === 0 ? outcome.evidence : [...outcome.evidence, ...config.notes];
  const template =
    node === undefined
      ? rule.remediation
      : rule.remediation.replace('{manifest}', node.manifest?.path ?? node.manifestConfig?.where ?? 'the process');
  return finding(outcome.status, message, template, evidence, outcome.details);
}

/** Each component's rules, in the table's order: those the pod spec decides, and all (a node check). */
const POD_RULES_OF: Readonly<Record<Component, readonly Rule[]>> = {
  etcd: RULES.filter((r) => r.component === 'etcd' && r.scope !== 'node'),
  'kube-apiserver': RULES.filter((r) => r.component === 'kube-apiserver' && r.scope !== 'node'),
};
const NODE_RULES_OF: Readonly<Record<Component, readonly Rule[]>> = {
  etcd: RULES.filter((r) => r.component === 'etcd'),
  'kube-apiserver': RULES.filter((r) => r.component === 'kube-apiserver'),
};

const COMPONENTS = ['etcd', 'kube-apiserver'] as const;

const SEVERITY: Readonly<Record<Status, number>> = { fail: 3, unknown: 2, pass: 1, 'not-applicable': 0 };

/** A run's configuration; with the node's files, what a configuration file on the node says too. */
export function readConfig(inv: Invocation, files?: NodeFiles): ProgramConfig {
  return inv.component === 'etcd' ? readEtcdConfig(inv, files) : readApiserverConfig(inv, files);
}

function evaluateContainer(pod: Pod, container: Container, initContainer: boolean, options: EvaluationOptions): ComponentResult[] {
  const invocations = options.invocations?.(container) ?? findInvocations(pod, container);
  const results: ComponentResult[] = [];
  if (invocations.length === 0) return results;
  const files = options.node?.filesFor(container);
  const node: NodeContext | undefined = options.node !== undefined && files !== undefined ? { ...options.node, files } : undefined;
  for (const component of COMPONENTS) {
    const runs = invocations.filter((i) => i.component === component).map((inv) => ({ inv, config: readConfig(inv, files) }));
    if (runs.length === 0) continue;
    // `etcd --version && exec etcd ...`: a run that only prints and exits does not serve; judge the
    // serving runs, and if a script has several, the worst of them.
    const serving = runs.filter((r) => r.config.exits === undefined);
    const judged = serving.length > 0 ? serving : runs;
    const perRun = judged.map(({ config }) => {
      const fixAt = fixLocation({
        pod,
        component,
        text: [container.image ?? '', ...(container.command ?? []), ...(container.args ?? [])].join(' '),
        ...(config.configFile !== undefined ? { configFile: config.configFile } : {}),
      });
      const multi = membershipFor(config, pod, options);
      return (node === undefined ? POD_RULES_OF : NODE_RULES_OF)[component].map((rule) =>
        evaluateRule(rule, config, multi, options.etcdTopology, fixAt, node),
      );
    });
    const findings =
      perRun.length === 1
        ? (perRun[0] as Finding[])
        : (perRun[0] as Finding[]).map((first, idx) =>
            perRun.reduce<Finding>((worst, run) => {
              const f = run[idx] as Finding;
              return SEVERITY[f.status] > SEVERITY[worst.status] ? f : worst;
            }, first),
          );
    const first = (judged[0] as { inv: Invocation }).inv;
    results.push({
      component,
      container: container.name,
      initContainer,
      origin: first.origin,
      release: releaseScope(component, first.image).description,
      findings,
    });
  }
  return results;
}

/**
 * Launch → program configuration → rules for one pod: which containers run etcd or kube-apiserver, and every
 * rule's verdict for each. Pure: no I/O, no clock. Front doors call judgePod (judgement/), which adds
 * the policy's decision.
 */
export function evaluatePod(pod: Pod, options: EvaluationOptions): PodEvaluation {
  const results = [
    ...(pod.spec.initContainers ?? []).flatMap((c) => evaluateContainer(pod, c, true, options)),
    ...pod.spec.containers.flatMap((c) => evaluateContainer(pod, c, false, options)),
  ];
  return { kind: pod.kind ?? 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, mirror: isMirrorPod(pod), results };
}
