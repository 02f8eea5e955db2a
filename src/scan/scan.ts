/**
 * `scan`: manifests (files, stdin) → pods with the facts each document carries → the one judgement →
 * the report. The same judgement and policy as the webhook, so CI sees what admission would do.
 */
import { checkAdmissionReview, checkPod, isKubeletMirrorRequest, type AdmissionReview } from '../input/admission-review.js';
import { parsedInputs, type InputError, type LoadedDocument } from '../input/manifests.js';
import { judgePod, type PodFacts } from '../judgement/judge.js';
import type { Pod } from '../launch/pod.js';
import type { Policy } from '../policy/policy.js';
import { emptyRow, reportOf, rowsOf, SummaryCounter, type Report, type ReportRow, type ReportSink } from '../report/report.js';

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
  readonly facts: PodFacts;
  /** Set when the document cannot be judged (an invalid AdmissionReview). */
  readonly problems?: readonly string[];
}

function field(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null && Object.hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

const NO_FACTS: PodFacts = {};

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

/** Judges one document's objects, row by row, with the same judgement and policy as the webhook. */
function scanDocument(doc: LoadedDocument, policy: Policy, sink: (row: ReportRow) => void, errors: InputError[], counter: SummaryCounter): void {
  for (const target of targetsOf(doc.object)) {
    counter.documents++;
    const subject = { source: doc.source, document: doc.document, ...(target.item !== undefined ? { item: target.item } : {}), kind: target.kind, namespace: target.namespace, name: target.name };
    if (target.pod === undefined) {
      sink(emptyRow(subject));
      continue;
    }
    const problems = target.problems ?? checkPod(target.pod, target.podPath);
    if (problems.length > 0) {
      errors.push({ source: doc.source, document: doc.document, message: `${target.kind ?? 'object'} ${target.name ?? ''}: ${problems.join('; ')}` });
      continue;
    }
    for (const row of rowsOf(subject, judgePod(target.pod as Pod, policy, target.facts))) sink(row);
  }
}

/** Judges documents already read (tests, the fuzz properties). */
export function scanDocuments(documents: readonly LoadedDocument[], policy: Policy, inputErrors: readonly InputError[] = []): Report {
  const results: ReportRow[] = [];
  const errors: InputError[] = [...inputErrors];
  const counter = new SummaryCounter();
  for (const doc of documents) scanDocument(doc, policy, (r) => results.push(r), errors, counter);
  return reportOf(results, errors, counter.documents);
}

/**
 * `scan` itself: each input is read, parsed, judged and written out before the next is read, so
 * memory holds one file and its rows, not the whole input (10,000 manifests: npm run bench).
 */
export async function scanInputs(paths: readonly string[], readStdin: () => Promise<string>, policy: Policy, sink: ReportSink): Promise<Pick<Report, 'errors' | 'summary'>> {
  const errors: InputError[] = [];
  const counter = new SummaryCounter();
  const row = (r: ReportRow): void => {
    counter.count(r);
    sink.row(r);
  };
  for await (const parsed of parsedInputs(paths, readStdin)) {
    errors.push(...parsed.errors);
    for (const doc of parsed.documents) scanDocument(doc, policy, row, errors, counter);
  }
  const summary = counter.summary();
  sink.finish(errors, summary);
  return { errors, summary };
}
