/**
 * Where an object declares the pods it runs: a Pod itself, or the pod template of a workload. etcd
 * and kube-apiserver are not only static pods: hosted control planes (HyperShift, Kamaji) run them as
 * Deployments and StatefulSets, etcd charts and operators as StatefulSets, bootkube-style clusters
 * kube-apiserver as a DaemonSet. The same judgement reads the template as it reads a pod (as
 * Kyverno's autogen applies a pod rule to these kinds: pkg/autogen).
 */
import type { Pod } from '../launch/pod.js';
import { decodePod, type Decoded } from './pod.js';

export interface PodSource {
  /** API group of the kind (`""` for the core group). */
  readonly group: string;
  /** Path from the object to its pod (an empty path: the object is the pod). */
  readonly path: readonly string[];
  /** The kind runs `spec.replicas` copies of its pod (default 1). */
  readonly replicated?: boolean;
}

/** The kinds whose pods are judged, and where each keeps its pod template (core/v1, apps/v1, batch/v1). */
export const POD_SOURCES: Readonly<Record<string, PodSource>> = {
  Pod: { group: '', path: [] },
  PodTemplate: { group: '', path: ['template'] },
  ReplicationController: { group: '', path: ['spec', 'template'], replicated: true },
  Deployment: { group: 'apps', path: ['spec', 'template'], replicated: true },
  StatefulSet: { group: 'apps', path: ['spec', 'template'], replicated: true },
  DaemonSet: { group: 'apps', path: ['spec', 'template'] },
  ReplicaSet: { group: 'apps', path: ['spec', 'template'], replicated: true },
  Job: { group: 'batch', path: ['spec', 'template'] },
  CronJob: { group: 'batch', path: ['spec', 'jobTemplate', 'spec', 'template'] },
};

/** The workload kinds (every POD_SOURCES kind but Pod itself). */
export const WORKLOAD_KINDS: readonly string[] = Object.keys(POD_SOURCES).filter((k) => k !== 'Pod');

function field(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null && Object.hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The object's identity where the request or the workload gives it, for a pod that lacks it. */
export interface Identity {
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
}

/**
 * The pod an object of `kind` declares, decoded into the view the judgement reads, or the problems
 * that keep it from being judged. A workload's template is judged as a pod of the workload: its
 * namespace, its name (exemptions match on them), and `kind` the workload's (messages and fixes
 * name `StatefulSet tenant-a/etcd`). `identity` fills a namespace or name the object does not carry
 * (the API server's request has them before defaulting). `root` names the object in messages.
 */
export function decodePodOf(kind: string, object: unknown, root: string, identity: Identity = {}): Decoded<Pod> {
  const source = POD_SOURCES[kind];
  if (source === undefined) return { ok: false, problems: [`${root}: ${kind} declares no pod`] };
  const meta = field(object, 'metadata');
  const namespace = text(field(meta, 'namespace')) ?? identity.namespace;
  const name = text(field(meta, 'name')) ?? identity.name;
  if (source.path.length === 0) {
    const decoded = decodePod(object, root);
    if (!decoded.ok) return decoded;
    const pod = decoded.value;
    // A pod created with generateName has its name only after admission; the request names it when it can.
    if (pod.metadata?.namespace === namespace && pod.metadata?.name === name) return decoded;
    return {
      ok: true,
      value: {
        ...pod,
        metadata: { ...pod.metadata, ...(namespace !== undefined ? { namespace } : {}), ...(name !== undefined ? { name } : {}) },
      },
    };
  }
  const template = source.path.reduce<unknown>((o, k) => field(o, k), object);
  const at = `${root === '' ? '' : `${root}.`}${source.path.join('.')}`;
  if (template === undefined || template === null) return { ok: false, problems: [`${at}: required field is missing`] };
  const decoded = decodePod(template, at);
  if (!decoded.ok) return decoded;
  const pod = decoded.value;
  return {
    ok: true,
    value: {
      ...pod,
      kind,
      metadata: { ...pod.metadata, ...(namespace !== undefined ? { namespace } : {}), ...(name !== undefined ? { name } : {}) },
    },
  };
}

/**
 * How many copies of its pod a workload declares (`spec.replicas`, 1 when absent or null, as the API
 * server defaults it); undefined for a kind without replicas (a Pod, a DaemonSet: one per node) or a
 * value that is not a count. Evidence of an etcd cluster's size when its member list is built only
 * when the pod runs.
 */
export function replicasOf(kind: string, object: unknown): number | undefined {
  if (POD_SOURCES[kind]?.replicated !== true) return undefined;
  const replicas = field(field(object, 'spec'), 'replicas');
  if (replicas === undefined || replicas === null) return 1;
  return typeof replicas === 'number' && Number.isSafeInteger(replicas) && replicas >= 0 ? replicas : undefined;
}
