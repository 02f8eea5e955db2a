import type { Container, EnvFromSource, EnvVarSource, Pod } from './pod.js';
import { expandKubernetesReferences } from './expand.js';
import { withPlaceholdersUnknown, type EnvValue, type Word } from './word.js';

/**
 * A process environment as far as it can be known at admission time.
 * `get` answers `undefined` only when the variable is certainly not set.
 */
export interface Environment {
  get(name: string): EnvValue | undefined;
  /** Names that are certainly defined (known or unknown value), in no particular order. */
  definedNames(): Iterable<string>;
  /**
   * Names outside definedNames() may be set (an envFrom source whose keys are not visible, a sourced
   * file): get() may answer for any name. When false, get() answers undefined for every other name
   * except the service-link-shaped ones (isServiceLinkName), so a reader may look only at those.
   */
  open(): boolean;
}

/**
 * Service links: the kubelet adds `<SVC>_SERVICE_HOST`, `<SVC>_PORT_443_TCP_ADDR`... for services it
 * knows (kubelet_pods.go getServiceEnvVarMap), and `$(VAR)` expansion sees them. Which services exist
 * is not known at admission, so an otherwise undefined name of that shape is unknown, not absent.
 */
const SERVICE_LINK_NAME = /_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$/;

const SERVICE_LINK_VALUE: EnvValue = Object.freeze({
  state: 'unknown',
  reason: 'may be a service link variable set by the kubelet',
  maybeUnset: true,
});
/** Memo of SERVICE_LINK_NAME: this runs for every ETCD_* name etcd could read, for every pod. */
const serviceLinkNames = new Map<string, boolean>();
export function isServiceLinkName(name: string): boolean {
  let known = serviceLinkNames.get(name);
  if (known === undefined) {
    known = SERVICE_LINK_NAME.test(name);
    // Names come from flag tables and pod specs; keep the memo bounded all the same.
    if (serviceLinkNames.size < 10_000) serviceLinkNames.set(name, known);
  }
  return known;
}

function describeSource(source: EnvVarSource): string {
  if (source.secretKeyRef) return `secretKeyRef ${source.secretKeyRef.name ?? ''}/${source.secretKeyRef.key}`;
  if (source.configMapKeyRef) return `configMapKeyRef ${source.configMapKeyRef.name ?? ''}/${source.configMapKeyRef.key}`;
  if (source.fieldRef) return `fieldRef ${source.fieldRef.fieldPath}`;
  if (source.resourceFieldRef) return `resourceFieldRef ${source.resourceFieldRef.resource}`;
  if (source.fileKeyRef) return `fileKeyRef ${source.fileKeyRef.path}`;
  return 'valueFrom';
}

function describeEnvFrom(source: EnvFromSource): string {
  if (source.secretRef) return `envFrom secretRef ${source.secretRef.name ?? ''}`;
  if (source.configMapRef) return `envFrom configMapRef ${source.configMapRef.name ?? ''}`;
  return 'envFrom';
}

/**
 * fieldRef values only known once the pod runs whose syntax is fixed: an IP address, or a DNS
 * subdomain or label (node, pod, namespace names; a uid). None contains `,`, `=` or whitespace.
 * (status.podIPs and status.hostIPs are comma-separated lists, so they are not here.)
 */
const SEPARATOR_FREE_FIELDS = new Set([
  'status.podIP',
  'status.hostIP',
  'spec.nodeName',
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.serviceAccountName',
]);

/**
 * fieldRef values that are fixed by the pod object itself and so known at admission; everything
 * else (status.podIP, status.hostIP, metadata.uid...) is only known once the pod runs.
 */
function resolveFieldRef(pod: Pod, fieldPath: string): string | undefined {
  const meta = pod.metadata ?? {};
  switch (fieldPath) {
    case 'metadata.name':
      return meta.name !== undefined && meta.name !== '' ? meta.name : undefined;
    case 'metadata.namespace':
      return meta.namespace !== undefined && meta.namespace !== '' ? meta.namespace : undefined;
    case 'spec.nodeName':
      return pod.spec.nodeName !== undefined && pod.spec.nodeName !== '' ? pod.spec.nodeName : undefined;
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName;
    default: {
      const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
      if (m !== null) {
        const map = m[1] === 'labels' ? meta.labels : meta.annotations;
        return map?.[m[2] as string];
      }
      return undefined;
    }
  }
}

class MapEnvironment implements Environment {
  constructor(
    private readonly entries: ReadonlyMap<string, EnvValue>,
    private readonly fallback: (name: string) => EnvValue | undefined,
    private readonly undeclared: boolean,
  ) {}

  open(): boolean {
    return this.undeclared;
  }

  get(name: string): EnvValue | undefined {
    return this.entries.get(name) ?? this.fallback(name);
  }

  definedNames(): Iterable<string> {
    return this.entries.keys();
  }
}

/**
 * The environment a container's process starts with, built the way the kubelet builds it
 * (kubelet_pods.go makeEnvironmentVariables): envFrom first, then `env` in order, each `value`
 * expanded with `$(VAR)` against what is defined so far; a later entry of the same name wins.
 */
export function containerEnvironment(pod: Pod, container: Container): Environment {
  const envFrom = container.envFrom ?? [];
  // A variable not named in `env` may still come from an envFrom source whose keys we cannot see,
  // unless the source's prefix rules the name out.
  const fromEnvFrom = (name: string): EnvValue | undefined => {
    for (let i = envFrom.length - 1; i >= 0; i--) {
      const source = envFrom[i] as EnvFromSource;
      if (name.startsWith(source.prefix ?? '')) {
        return { state: 'unknown', reason: `may be set by ${describeEnvFrom(source)}`, maybeUnset: true };
      }
    }
    return undefined;
  };
  const fromServiceLinks = (name: string): EnvValue | undefined => (isServiceLinkName(name) ? SERVICE_LINK_VALUE : undefined);
  const fallback = (name: string): EnvValue | undefined => fromEnvFrom(name) ?? fromServiceLinks(name);

  const entries = new Map<string, EnvValue>();
  const lookupSoFar = (name: string): EnvValue | undefined => entries.get(name) ?? fallback(name);
  for (const envVar of container.env ?? []) {
    let value: EnvValue;
    if (envVar.value !== undefined && envVar.value !== '') {
      const word: Word = withPlaceholdersUnknown(expandKubernetesReferences(envVar.value, lookupSoFar));
      value =
        word.unknown === undefined
          ? { state: 'known', value: word.text, origin: 'env' }
          : word.unknown.separatorFree === true
            ? { state: 'unknown', reason: word.unknown.reason, separatorFree: true, text: word.text }
            : { state: 'unknown', reason: word.unknown.reason };
    } else if (envVar.valueFrom !== undefined) {
      const fieldPath = envVar.valueFrom.fieldRef?.fieldPath;
      const resolved = fieldPath !== undefined ? resolveFieldRef(pod, fieldPath) : undefined;
      value =
        resolved !== undefined
          ? { state: 'known', value: resolved, origin: `env (fieldRef ${fieldPath})` }
          : fieldPath !== undefined && SEPARATOR_FREE_FIELDS.has(fieldPath)
            ? { state: 'unknown', reason: `comes from ${describeSource(envVar.valueFrom)}`, separatorFree: true, text: `$(${envVar.name})` }
            : { state: 'unknown', reason: `comes from ${describeSource(envVar.valueFrom)}` };
    } else {
      value = { state: 'known', value: '', origin: 'env' };
    }
    entries.set(envVar.name, value);
  }
  return new MapEnvironment(entries, fallback, envFrom.length > 0);
}

export interface OverlayOptions {
  /** Something ran that may have changed any variable (a sourced file): all values unknown. */
  readonly opaque?: string;
  /** Variables removed (`unset NAME`, `env -u NAME`); `env -i` removes everything. */
  readonly removed?: ReadonlySet<string> | 'all';
}

/** An environment with some variables overridden or removed (shell assignments, `env NAME=value cmd`). */
export function overlayEnvironment(base: Environment, overrides: ReadonlyMap<string, EnvValue>, options: OverlayOptions = {}): Environment {
  const { opaque, removed } = options;
  const inherited = (name: string): boolean => removed !== 'all' && removed?.has(name) !== true;
  const merged = new Map<string, EnvValue>();
  for (const name of base.definedNames()) {
    const v = base.get(name);
    if (v !== undefined && inherited(name)) merged.set(name, opaque !== undefined ? { state: 'unknown', reason: opaque } : v);
  }
  for (const [name, v] of overrides) merged.set(name, v);
  const fallback = (name: string): EnvValue | undefined => {
    if (!inherited(name)) return undefined;
    return opaque !== undefined ? { state: 'unknown', reason: opaque, maybeUnset: true } : base.get(name);
  };
  return new MapEnvironment(merged, fallback, removed !== 'all' && (opaque !== undefined || base.open()));
}

/** A running process's environment, read from the node (/proc/PID/environ): exactly these variables. */
export function processEnvironment(vars: ReadonlyMap<string, string>): Environment {
  const entries = new Map<string, EnvValue>();
  for (const [name, value] of vars) entries.set(name, { state: 'known', value, origin: 'process environment' });
  return new MapEnvironment(entries, () => undefined, false);
}

/** A process whose environment cannot be read (/proc/PID/environ needs ptrace access): any variable may be set. */
export function unreadableEnvironment(reason: string): Environment {
  const value: EnvValue = { state: 'unknown', reason, maybeUnset: true };
  return new MapEnvironment(new Map(), () => value, true);
}
