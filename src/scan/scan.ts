import { isKubeletMirrorRequest } from '../admission/handler.js';
import { checkAdmissionReview, checkPod, type AdmissionReview } from '../admission/review.js';
import { decide, type DecidedFinding, type RequestFacts } from '../core/decide.js';
import { evaluatePod, type EvaluationOptions } from '../core/evaluate.js';
import type { Component } from '../core/invocation.js';
import type { Pod } from '../core/pod.js';
import type { InputError, LoadedDocument } from '../manifests/load.js';
import type { Policy } from '../policy/policy.js';

export interface ScanFinding {
  readonly rule: string;
  readonly cis: readonly string[];
  readonly cisBenchmarks: Readonly<Record<string, string>>;
  readonly status: DecidedFinding['status'];
  readonly action: DecidedFinding['action'];
  readonly effectiveAction: DecidedFinding['effectiveAction'];
  readonly message: string;
  readonly remediation: string;
  readonly evidence: readonly string[];
  readonly note?: string;
}

export interface ScanResult {
  readonly source: string;
  readonly document: number;
  /** Index in `items` when the document is a List. */
  readonly item?: number;
  readonly kind: string | null;
  readonly namespace: string | null;
  readonly name: string | null;
  readonly component: Component | null;
  readonly container: string | null;
  /** Which release of the program runs, as far as the image tells (absent when nothing runs). */
  readonly release?: string;
  readonly findings: readonly ScanFinding[];
}

export interface ScanReport {
  readonly results: readonly ScanResult[];
  readonly errors: readonly InputError[];
  readonly summary: {
    /** Objects read (a List counts its items). */
    readonly documents: number;
    /** Results for an etcd or kube-apiserver container. */
    readonly checked: number;
    /** Results with at least one failing rule, whatever its action. */
    readonly failed: number;
    /** Results the webhook would deny (a failing rule whose action is enforce). */
    readonly denied: number;
  };
}

/** Workload kinds whose pod template is checked: what a chart renders for etcd. */
const TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  PodTemplate: ['template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

interface Target {
  readonly item?: number;
  readonly kind: string | null;
  readonly namespace: string | null;
  readonly name: string | null;
  readonly pod?: unknown;
  /** Where the pod sits in the document, for error messages (`spec.template`). */
  readonly podPath: string;
  readonly facts: RequestFacts;
  /** Set when the document cannot be judged (an invalid AdmissionReview). */
  readonly problems?: readonly string[];
}

function field(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null && Object.hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

const NO_FACTS: RequestFacts = { kubeletMirror: false };

function targetsOf(object: unknown, item?: number): Target[] {
  const kind = str(field(object, 'kind'));
  const meta = field(object, 'metadata');
  const namespace = str(field(meta, 'namespace'));
  const name = str(field(meta, 'name')) ?? str(field(meta, 'generateName'));
  const at = item === undefined ? {} : { item };
  if (kind === 'List' || (kind?.endsWith('List') === true && Array.isArray(field(object, 'items')))) {
    const items = field(object, 'items');
    return Array.isArray(items) ? items.flatMap((x, i) => targetsOf(x, i)) : [];
  }
  if (kind === 'AdmissionReview') {
    const problems = checkAdmissionReview(object);
    if (problems.length > 0) return [{ ...at, kind, namespace, name, pod: object, podPath: '', facts: NO_FACTS, problems }];
    const request = (object as AdmissionReview).request;
    const pod = request.object;
    // The same request facts as the webhook: a kubelet's mirror-pod request is audited.
    const facts = { kubeletMirror: checkPod(pod, 'request.object').length === 0 && isKubeletMirrorRequest(request, pod as Pod) };
    return [{ ...at, kind: str(field(pod, 'kind')) ?? 'Pod', namespace: str(field(field(pod, 'metadata'), 'namespace')) ?? request.namespace ?? null, name: str(field(field(pod, 'metadata'), 'name')) ?? request.name ?? null, pod, podPath: 'request.object', facts }];
  }
  if (kind === 'Pod') return [{ ...at, kind, namespace, name, pod: object, podPath: '', facts: NO_FACTS }];
  const path = kind !== null ? TEMPLATE_PATHS[kind] : undefined;
  if (path !== undefined) {
    const template = path.reduce<unknown>((o, k) => field(o, k), object);
    // A template inherits the workload's namespace; its pods get generated names.
    const tmplMeta = (field(template, 'metadata') ?? {}) as Record<string, unknown>;
    const pod = { ...(template as object), metadata: { ...tmplMeta, namespace: namespace ?? undefined, name: name ?? undefined } };
    return [{ ...at, kind, namespace, name, pod, podPath: path.join('.'), facts: NO_FACTS }];
  }
  return [{ ...at, kind, namespace, name, podPath: '', facts: NO_FACTS }];
}

/** Evaluates every document with the same core and policy as the webhook. */
export function scanDocuments(
  documents: readonly LoadedDocument[],
  policy: Policy,
  inputErrors: readonly InputError[] = [],
  evaluation: Partial<EvaluationOptions> = {},
): ScanReport {
  const options: EvaluationOptions = { ...policy, ...evaluation };
  const results: ScanResult[] = [];
  const errors: InputError[] = [...inputErrors];
  let objects = 0;
  for (const doc of documents) {
    for (const target of targetsOf(doc.object)) {
      objects++;
      const head = { source: doc.source, document: doc.document, ...(target.item !== undefined ? { item: target.item } : {}), kind: target.kind, namespace: target.namespace, name: target.name };
      if (target.pod === undefined) {
        results.push({ ...head, component: null, container: null, findings: [] });
        continue;
      }
      const problems = target.problems ?? checkPod(target.pod, target.podPath);
      if (problems.length > 0) {
        errors.push({ source: doc.source, document: doc.document, message: `${target.kind ?? 'object'} ${target.name ?? ''}: ${problems.join('; ')}` });
        continue;
      }
      const evaluated = evaluatePod(target.pod as Pod, options);
      if (evaluated.results.length === 0) {
        results.push({ ...head, component: null, container: null, findings: [] });
        continue;
      }
      const decision = decide(evaluated, policy, target.facts);
      for (const r of evaluated.results) {
        const findings = decision.findings
          .filter((f) => f.container === r.container && f.component === r.component)
          .map(({ rule, cis, cisBenchmarks, status, action, effectiveAction, message, remediation, evidence, note }) => ({
            rule,
            cis,
            cisBenchmarks,
            status,
            action,
            effectiveAction,
            message,
            remediation,
            evidence,
            ...(note !== undefined ? { note } : {}),
          }));
        results.push({ ...head, component: r.component, container: r.container, release: r.release, findings });
      }
    }
  }
  const failing = (f: ScanFinding): boolean => f.status === 'fail' || f.status === 'unknown';
  return {
    results,
    errors,
    summary: {
      documents: objects,
      checked: results.filter((r) => r.component !== null).length,
      failed: results.filter((r) => r.findings.some((f) => f.status === 'fail')).length,
      denied: results.filter((r) => r.findings.some((f) => failing(f) && f.effectiveAction === 'enforce')).length,
    },
  };
}

/** scan's exit code: 2 for unreadable input, 1 when the webhook would deny something, else 0. */
export function exitCodeOf(report: ScanReport): number {
  if (report.errors.length > 0) return 2;
  return report.summary.denied > 0 ? 1 : 0;
}
