// The subset of core/v1 Pod that etcd-tls-guard reads, and nothing else: every front door decodes its
// input into this view with input/pod.ts, whose schema the compiler checks against these types. A
// rule that reads another field adds it here; the schema then fails to compile until it has it too.

export interface EnvVarSource {
  fieldRef?: { fieldPath: string; apiVersion?: string };
  resourceFieldRef?: { resource: string; containerName?: string };
  configMapKeyRef?: { name?: string; key: string; optional?: boolean };
  secretKeyRef?: { name?: string; key: string; optional?: boolean };
  fileKeyRef?: { path: string; volumeName?: string; key?: string };
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: EnvVarSource;
}

export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name?: string; optional?: boolean };
  secretRef?: { name?: string; optional?: boolean };
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  /** Read only by the node check (where a path is on the node). */
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string }>;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ kind?: string; name?: string; apiVersion?: string; uid?: string; controller?: boolean }>;
}

export interface PodSpec {
  nodeName?: string;
  serviceAccountName?: string;
  containers: Container[];
  initContainers?: Container[];
  /** Read only by the node check (hostPath volumes). */
  volumes?: Array<{ name: string; hostPath?: { path?: string } }>;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec: PodSpec;
}

/** The annotation the kubelet puts on every mirror pod of a static pod (pkg/kubelet/types). */
export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

export function isMirrorPod(pod: Pod): boolean {
  return pod.metadata?.annotations?.[MIRROR_ANNOTATION] !== undefined;
}
