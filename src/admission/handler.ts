import { decide, type Decision } from '../core/decide.js';
import { evaluatePod, type PodEvaluation } from '../core/evaluate.js';
import { isMirrorPod, type Pod } from '../core/pod.js';
import type { Policy } from '../policy/policy.js';
import { allowed, checkPod, denied, isPod, type AdmissionRequest, type AdmissionResponse } from './review.js';

/** A request the webhook cannot judge: answered with this HTTP status and message. */
export class BadAdmissionRequest extends Error {
  override name = 'BadAdmissionRequest';
  constructor(
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
  }
}

export interface AdmissionOutcome {
  readonly response: AdmissionResponse;
  /** Undefined when the request was not a Pod CREATE/UPDATE (allowed untouched). */
  readonly evaluation?: PodEvaluation;
  readonly decision?: Decision;
  readonly kubeletMirror: boolean;
  readonly skipped?: string;
}

/**
 * Kubernetes fills metadata.namespace (and, for generateName, metadata.name) after admission of a
 * CREATE in some paths; the request always carries them, and exemptions match on them.
 */
function withRequestIdentity(pod: Pod, request: AdmissionRequest): Pod {
  const meta = pod.metadata ?? {};
  return {
    ...pod,
    metadata: {
      ...meta,
      namespace: meta.namespace !== undefined && meta.namespace !== '' ? meta.namespace : request.namespace,
      name: meta.name !== undefined && meta.name !== '' ? meta.name : request.name !== undefined && request.name !== '' ? request.name : meta.name,
    },
  };
}

/**
 * Only a kubelet writing its own mirror pod gets the kubelet treatment: the node identity *and* the
 * mirror annotation. The annotation alone earns nothing, since anyone who can create a pod can set it.
 */
export function isKubeletMirrorRequest(request: AdmissionRequest, pod: Pod): boolean {
  const user = request.userInfo;
  return (user?.username?.startsWith('system:node:') ?? false) && (user?.groups?.includes('system:nodes') ?? false) && isMirrorPod(pod);
}

function failingKeys(evaluation: PodEvaluation): Set<string> {
  const keys = new Set<string>();
  for (const r of evaluation.results) for (const f of r.findings) if (f.status === 'fail' || f.status === 'unknown') keys.add(`${r.container}/${f.rule}`);
  return keys;
}

/**
 * Judges one admission request. Pure apart from the policy passed in: CREATE and UPDATE of a Pod
 * are evaluated (dry-run or not: the verdict is the same and there are no side effects); anything
 * else is allowed untouched. Throws BadAdmissionRequest for a request it cannot judge.
 */
export function admit(request: AdmissionRequest, policy: Policy): AdmissionOutcome {
  const isPodResource = request.kind.kind === 'Pod' && (request.kind.group ?? '') === '';
  if (!isPodResource || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) {
    return { response: allowed(request.uid), kubeletMirror: false, skipped: 'not a Pod CREATE or UPDATE' };
  }
  // pods/status and other subresources carry the pod but do not change what runs; judging them
  // would block the kubelet's status updates of a pod that is already running.
  if (request.subResource !== undefined && request.subResource !== '') {
    return { response: allowed(request.uid), kubeletMirror: false, skipped: `subresource ${request.subResource}` };
  }
  const problems = checkPod(request.object, 'request.object');
  if (problems.length > 0) throw new BadAdmissionRequest(`request.object is not a valid Pod: ${problems.join('; ')}`);
  const pod = withRequestIdentity(request.object as Pod, request);
  const kubeletMirror = isKubeletMirrorRequest(request, pod);
  const evaluation = evaluatePod(pod, policy);
  // Ratcheting: an UPDATE does not change what runs (containers' command, args and env are
  // immutable), so failures the old object already had warn instead of blocking label or finalizer
  // changes on a running pod.
  const preexisting =
    request.operation === 'UPDATE' && isPod(request.oldObject) ? failingKeys(evaluatePod(withRequestIdentity(request.oldObject, request), policy)) : undefined;
  const decision = decide(evaluation, policy, { kubeletMirror, ...(preexisting !== undefined ? { preexisting } : {}) });
  const extra = { warnings: decision.warnings, auditAnnotations: decision.auditAnnotations };
  const response = decision.allowed ? allowed(request.uid, extra) : denied(request.uid, decision.denialMessage ?? 'denied', extra);
  return { response, evaluation, decision, kubeletMirror };
}
