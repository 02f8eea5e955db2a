import { allowed, decodeAdmissionRequest, denied, type AdmissionRequest, type AdmissionResponse } from '../input/admission-review.js';
import { judgePod, type Verdict } from '../judgement/judge.js';
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
  /** Undefined when nothing was judged (allowed untouched; `skipped` says why). */
  readonly verdict?: Verdict;
  readonly kubeletMirror: boolean;
  readonly skipped?: string;
}

/**
 * Judges one admission request: decoded as `scan` decodes it (decodeAdmissionRequest), judged by the
 * one judgement, answered with the verdict's decision, warnings and audit annotations. Dry-run or
 * not, the verdict is the same (there are no side effects). Throws BadAdmissionRequest for a
 * request it cannot judge.
 */
export function admit(request: AdmissionRequest, policy: Policy): AdmissionOutcome {
  const decoded = decodeAdmissionRequest(request);
  if (!decoded.ok) throw new BadAdmissionRequest(decoded.problems.join('; '));
  const subject = decoded.value;
  if (!subject.judged) return { response: allowed(request.uid), kubeletMirror: false, skipped: subject.reason };
  const verdict = judgePod(subject.pod, policy, subject.facts);
  const extra = { warnings: verdict.warnings, auditAnnotations: verdict.auditAnnotations };
  const response = verdict.allowed ? allowed(request.uid, extra) : denied(request.uid, verdict.denialMessage ?? 'denied', extra);
  return { response, verdict, kubeletMirror: subject.facts.kubeletMirror };
}
