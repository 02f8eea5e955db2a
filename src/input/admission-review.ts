/**
 * admission.k8s.io/v1 AdmissionReview: the shapes etcd-tls-guard reads and writes, their schemas,
 * and small constructors for every kind of response.
 */
import { ajv, formatAjvErrors } from './schema.js';
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

const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
const stringArray = { type: 'array', items: { type: 'string' } } as const;

const containerSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string' },
    image: { type: 'string' },
    command: stringArray,
    args: stringArray,
    env: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string' }, value: { type: 'string' }, valueFrom: { type: 'object' } },
      },
    },
    envFrom: {
      type: 'array',
      items: {
        type: 'object',
        properties: { prefix: { type: 'string' }, configMapRef: { type: 'object' }, secretRef: { type: 'object' } },
      },
    },
  },
} as const;

/** Only the fields the core reads are checked; everything else is the API server's business. */
export const podSchema = {
  type: 'object',
  required: ['spec'],
  properties: {
    metadata: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        generateName: { type: 'string' },
        namespace: { type: 'string' },
        labels: stringMap,
        annotations: stringMap,
        ownerReferences: { type: 'array', items: { type: 'object' } },
      },
    },
    spec: {
      type: 'object',
      required: ['containers'],
      properties: {
        nodeName: { type: 'string' },
        serviceAccountName: { type: 'string' },
        containers: { type: 'array', items: containerSchema },
        initContainers: { type: 'array', items: containerSchema },
      },
    },
  },
} as const;

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
        kind: { type: 'object', required: ['kind'], properties: { group: { type: 'string' }, version: { type: 'string' }, kind: { type: 'string' } } },
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
const validatePodShape = ajv.compile(podSchema);

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
    return [`expected apiVersion ${ADMISSION_API_VERSION} and kind AdmissionReview, got ${JSON.stringify(review.apiVersion)} ${JSON.stringify(review.kind)}`];
  }
  return [];
}

/** Checks the fields of a Pod that the core reads; `root` names it in messages. */
export function checkPod(object: unknown, root: string): string[] {
  return validatePodShape(object) ? [] : formatAjvErrors(validatePodShape.errors, root);
}

export function isPod(object: unknown): object is Pod {
  return validatePodShape(object);
}

/**
 * Only a kubelet writing its own mirror pod gets the kubelet treatment: the node identity *and* the
 * mirror annotation. The annotation alone earns nothing, since anyone who can create a pod can set it.
 */
export function isKubeletMirrorRequest(request: AdmissionRequest, pod: Pod): boolean {
  const user = request.userInfo;
  return (user?.username?.startsWith('system:node:') ?? false) && (user?.groups?.includes('system:nodes') ?? false) && isMirrorPod(pod);
}

export function reviewOf(response: AdmissionResponse): { apiVersion: string; kind: string; response: AdmissionResponse } {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

export function allowed(uid: string, extra: Pick<AdmissionResponse, 'warnings' | 'auditAnnotations'> = {}): AdmissionResponse {
  return { uid, allowed: true, ...nonEmpty(extra) };
}

export function denied(uid: string, message: string, extra: Pick<AdmissionResponse, 'warnings' | 'auditAnnotations'> = {}): AdmissionResponse {
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

function nonEmpty(extra: Pick<AdmissionResponse, 'warnings' | 'auditAnnotations'>): Pick<AdmissionResponse, 'warnings' | 'auditAnnotations'> {
  return {
    ...(extra.warnings !== undefined && extra.warnings.length > 0 ? { warnings: extra.warnings } : {}),
    ...(extra.auditAnnotations !== undefined && Object.keys(extra.auditAnnotations).length > 0 ? { auditAnnotations: extra.auditAnnotations } : {}),
  };
}
