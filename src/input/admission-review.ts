/**
 * admission.k8s.io/v1 AdmissionReview: the shapes etcd-tls-guard reads and writes, their schemas,
 * and small constructors for every kind of response.
 */
import { ajv, formatAjvErrors } from './schema.js';
import type { Decoded } from './pod.js';
import { decodePodOf, POD_SOURCES, replicasOf } from './workload.js';
import { isMirrorPod, type Pod } from '../launch/pod.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: { readonly group?: string; readonly version?: string; readonly kind: string };
  readonly resource?: { readonly group?: string; readonly version?: string; readonly resource: string };
  readonly subResource?: string;
  readonly operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  readonly namespace?: string;
  readonly name?: string;
  readonly userInfo?: { readonly username?: string; readonly groups?: readonly string[] };
  readonly object?: unknown;
  readonly oldObject?: unknown;
  readonly dryRun?: boolean;
}

export interface AdmissionReview {
  readonly apiVersion: string;
  readonly kind: string;
  readonly request: AdmissionRequest;
}

export interface ResponseStatus {
  readonly status: 'Failure';
  readonly code: number;
  readonly reason: string;
  readonly message: string;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: ResponseStatus;
  readonly warnings?: readonly string[];
  readonly auditAnnotations?: Readonly<Record<string, string>>;
}

const stringArray = { type: 'array', items: { type: 'string' } } as const;

const reviewSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'request'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    request: {
      type: 'object',
      required: ['uid', 'kind', 'operation'],
      properties: {
        uid: { type: 'string', minLength: 1 },
        kind: {
          type: 'object',
          required: ['kind'],
          properties: { group: { type: 'string' }, version: { type: 'string' }, kind: { type: 'string' } },
        },
        resource: { type: 'object', properties: { group: { type: 'string' }, version: { type: 'string' }, resource: { type: 'string' } } },
        subResource: { type: 'string' },
        operation: { type: 'string', enum: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] },
        namespace: { type: 'string' },
        name: { type: 'string' },
        userInfo: { type: 'object', properties: { username: { type: 'string' }, groups: stringArray } },
        dryRun: { type: 'boolean' },
      },
    },
  },
} as const;

const validateReview = ajv.compile(reviewSchema);

/** The uid of whatever was sent, when there is one, so that even an error response carries it. */
export function uidOf(body: unknown): string {
  if (typeof body !== 'object' || body === null) return '';
  const request = (body as { request?: unknown }).request;
  if (typeof request !== 'object' || request === null) return '';
  const uid = (request as { uid?: unknown }).uid;
  return typeof uid === 'string' ? uid : '';
}

/** Checks an AdmissionReview request body; returns the problems (empty when valid). */
export function checkAdmissionReview(body: unknown): string[] {
  if (!validateReview(body)) return formatAjvErrors(validateReview.errors, '');
  const review = body as AdmissionReview;
  if (review.apiVersion !== ADMISSION_API_VERSION || review.kind !== 'AdmissionReview') {
    return [
      `expected apiVersion ${ADMISSION_API_VERSION} and kind AdmissionReview, got ${JSON.stringify(review.apiVersion)} ${JSON.stringify(review.kind)}`,
    ];
  }
  return [];
}

/** What an admission request tells about its pod besides the pod: handed to the judgement as they are. */
export interface RequestFacts {
  /** A kubelet writing its own mirror pod (kubeletMirrorPods applies). */
  readonly kubeletMirror: boolean;
  /** A workload controller creating an object for the workload it manages (controllerPods applies). */
  readonly controllerCreated: boolean;
  /** The object before an UPDATE, decoded the same way (ratcheting). */
  readonly previous?: Pod;
  /** The copies of its pod a workload declares (workload.ts replicasOf). */
  readonly replicas?: number;
}

/** What a front door does with one admission request. */
export type AdmissionSubject =
  /** Nothing to judge (another kind, a DELETE, a subresource): allowed untouched, and why. */
  | { readonly judged: false; readonly reason: string }
  | {
      readonly judged: true;
      /** The pod, or the workload's pod template as a pod of the workload (kind, namespace, name). */
      readonly pod: Pod;
      readonly facts: RequestFacts;
    };

/**
 * The one decoding of an admission request, for the webhook and for `scan` alike, so that both
 * decide the same on every operation and kind. CREATE and UPDATE of a Pod or of a workload
 * (input/workload.ts) are judged; everything else is let through: a DELETE or CONNECT starts nothing,
 * and a subresource (pods/status, deployments/scale, pods/ephemeralcontainers) does not change the
 * pod spec the rules read — judging pods/status would block a kubelet's status updates of a pod that
 * already runs. Problems: the object cannot be judged (an HTTP 400 for the webhook, an input error
 * for scan); never allowed.
 */
export function decodeAdmissionRequest(request: AdmissionRequest): Decoded<AdmissionSubject> {
  const { kind, group = '' } = request.kind;
  const source = POD_SOURCES[kind];
  if (source === undefined || source.group !== group) {
    return { ok: true, value: { judged: false, reason: `${group === '' ? '' : `${group}/`}${kind} declares no pod` } };
  }
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE')
    return { ok: true, value: { judged: false, reason: `${request.operation} starts nothing` } };
  if (request.subResource !== undefined && request.subResource !== '')
    return { ok: true, value: { judged: false, reason: `subresource ${request.subResource}` } };
  const identity = { namespace: request.namespace, name: request.name };
  const decoded = decodePodOf(kind, request.object, 'request.object', identity);
  if (!decoded.ok) return { ok: false, problems: [`request.object is not a valid ${kind}: ${decoded.problems.join('; ')}`] };
  const pod = decoded.value;
  // An old object the API server sent is valid; one that is not (a fake, a test) only loses ratcheting.
  const old = request.operation === 'UPDATE' ? decodePodOf(kind, request.oldObject, 'request.oldObject', identity) : undefined;
  const replicas = replicasOf(kind, request.object);
  return {
    ok: true,
    value: {
      judged: true,
      pod,
      facts: {
        kubeletMirror: kind === 'Pod' && isKubeletMirrorRequest(request, pod),
        controllerCreated: isControllerRequest(request),
        ...(old?.ok === true ? { previous: old.value } : {}),
        ...(replicas !== undefined ? { replicas } : {}),
      },
    },
  };
}

/**
 * The identities kube-controller-manager's workload controllers write with: a service account each
 * with --use-service-account-credentials (kubeadm's default; cmd/kube-controller-manager/app:
 * ClientOrDie("replicaset-controller"), ("daemon-set-controller"), …), else the controller
 * manager's own user.
 */
const WORKLOAD_CONTROLLERS: ReadonlySet<string> = new Set([
  'system:kube-controller-manager',
  ...[
    'replicaset-controller',
    'replication-controller',
    'statefulset-controller',
    'daemon-set-controller',
    'job-controller',
    'cronjob-controller',
    'deployment-controller',
  ].map((name) => `system:serviceaccount:kube-system:${name}`),
]);

/**
 * A workload controller creating the pod of a ReplicaSet, StatefulSet, DaemonSet, Job… (or the
 * ReplicaSet of a Deployment, the Job of a CronJob): the workload's template was judged when it was
 * applied. The owner reference alone earns nothing, since anyone who can create a pod can write one;
 * the request must come from the controller's own identity.
 */
function isControllerRequest(request: AdmissionRequest): boolean {
  const user = request.userInfo?.username;
  if (user === undefined || !WORKLOAD_CONTROLLERS.has(user)) return false;
  // The object's own owners (for a ReplicaSet, not its template's), as the API server validated them.
  const owners = (request.object as { metadata?: { ownerReferences?: unknown } }).metadata?.ownerReferences;
  return (
    Array.isArray(owners) &&
    owners.some(
      (o: { kind?: unknown; controller?: unknown } | null) =>
        o?.controller === true && typeof o.kind === 'string' && o.kind !== 'Pod' && Object.hasOwn(POD_SOURCES, o.kind),
    )
  );
}

/**
 * Only a kubelet writing its own mirror pod gets the kubelet treatment: the node identity *and* the
 * mirror annotation. The annotation alone earns nothing, since anyone who can create a pod can set it.
 */
function isKubeletMirrorRequest(request: AdmissionRequest, pod: Pod): boolean {
  const user = request.userInfo;
  return (user?.username?.startsWith('system:node:') ?? false) && (user?.groups?.includes('system:nodes') ?? false) && isMirrorPod(pod);
}

export function reviewOf(response: AdmissionResponse): { apiVersion: string; kind: string; response: AdmissionResponse } {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

export function allowed(uid: string, extra: Pick<AdmissionResponse, 'warnings' | 'auditAnnotations'> = {}): AdmissionResponse {
  return { uid, allowed: true, ...nonEmpty(extra) };
}

export function denied(
  uid: string,
  message: string,
  extra: Pick<AdmissionResponse, 'warnings' | 'auditAnnotations'> = {},
): AdmissionResponse {
  return { uid, allowed: false, status: { status: 'Failure', code: 403, reason: 'Forbidden', message }, ...nonEmpty(extra) };
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  500: 'InternalError',
};

/** A response for a request that could not be judged; never allowed. */
export function errored(uid: string, code: number, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { status: 'Failure', code, reason: REASONS[code] ?? 'Failure', message } };
}

function nonEmpty(
  extra: Pick<AdmissionResponse, 'warnings' | 'auditAnnotations'>,
): Pick<AdmissionResponse, 'warnings' | 'auditAnnotations'> {
  return {
    ...(extra.warnings !== undefined && extra.warnings.length > 0 ? { warnings: extra.warnings } : {}),
    ...(extra.auditAnnotations !== undefined && Object.keys(extra.auditAnnotations).length > 0
      ? { auditAnnotations: extra.auditAnnotations }
      : {}),
  };
}
