import { allowed, checkPod, denied, isKubeletMirrorRequest, isPod, type AdmissionRequest, type AdmissionResponse } from '../input/admission-review.js';
import { judgePod, type PodFacts, type Verdict } from '../judgement/judge.js';
import type { Pod } from '../launch/pod.js';
import type { Policy } from '../policy/policy.js';

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
  readonly verdict?: Verdict;
  readonly kubeletMirror: boolean;
  readonly skipped?: string;
}

/**
 * Kubernetes fills metadata.namespace (and, for generateName, metadata.name) after admission of a
 * CREATE in some paths; the request always carries them, and exemptions match on them.
 */
function withRequestIdentity(pod: Pod, request: AdmissionRequest): Pod {
  const meta = pod.metadata ?? {};
  // The usual case (a mirror pod, an applied manifest): both set, the pod as sent.
  if (meta.namespace !== undefined && meta.namespace !== '' && meta.name !== undefined && meta.name !== '') return pod;
  return {
    ...pod,
    metadata: {
      ...meta,
      namespace: meta.namespace !== undefined && meta.namespace !== '' ? meta.namespace : request.namespace,
      name: meta.name !== undefined && meta.name !== '' ? meta.name : request.name !== undefined && request.name !== '' ? request.name : meta.name,
    },
  };
}

/** judgePod or a memo of it (VerdictCache.judge): the same verdict for the same pod, policy and facts. */
export type Judge = (pod: Pod, policy: Policy, facts: PodFacts) => Verdict;

/**
 * Judges one admission request. Pure apart from the policy passed in: CREATE and UPDATE of a Pod
 * are evaluated (dry-run or not: the verdict is the same and there are no side effects); anything
 * else is allowed untouched. Throws BadAdmissionRequest for a request it cannot judge.
 */
export function admit(request: AdmissionRequest, policy: Policy, judge: Judge = judgePod): AdmissionOutcome {
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
  const previous = request.operation === 'UPDATE' && isPod(request.oldObject) ? withRequestIdentity(request.oldObject, request) : undefined;
  const verdict = judge(pod, policy, { kubeletMirror, ...(previous !== undefined ? { previous } : {}) });
  const extra = { warnings: verdict.warnings, auditAnnotations: verdict.auditAnnotations };
  const response = verdict.allowed ? allowed(request.uid, extra) : denied(request.uid, verdict.denialMessage ?? 'denied', extra);
  return { response, verdict, kubeletMirror };
}
