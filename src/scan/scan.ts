/**
 * `scan`: manifests (files, stdin) → pods with the facts each document carries → the one judgement →
 * the report. The same judgement and policy as the webhook, so CI sees what admission would do.
 */
import { checkAdmissionReview, decodeAdmissionRequest, type AdmissionReview } from '../input/admission-review.js';
import { parsedInputs, type InputError, type LoadedDocument, type WalkOptions } from '../input/manifests.js';
import type { Decoded } from '../input/pod.js';
import { decodePodOf, POD_SOURCES, replicasOf } from '../input/workload.js';
import { judgePod, type PodFacts } from '../judgement/judge.js';
import type { Pod } from '../launch/pod.js';
import type { Policy } from '../policy/policy.js';
import { located, locatorFor } from './locate.js';
import { emptyRow, reportOf, rowsOf, SummaryCounter, type Report, type ReportRow, type ReportSink } from '../report/report.js';

/** One object of a document (a List has several) and what becomes of it. */
interface Target {
  readonly item?: number;
  /** Where the object and its pod are in the document (for the positions of findings). */
  readonly paths: { readonly object: ReadonlyArray<string | number>; readonly pod?: ReadonlyArray<string | number> };
  readonly kind: string | null;
  readonly namespace: string | null;
  readonly name: string | null;
  /**
   * The pod to judge and its facts; or why nothing is judged (an admission request the webhook lets
   * through untouched); or the problems that keep it from being judged. Absent: an object that
   * declares no pod (a ConfigMap, a Service), listed without findings.
   */
  readonly outcome?: Decoded<{ readonly pod: Pod; readonly facts: PodFacts } | { readonly skipped: string }>;
}

function field(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null && Object.hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** An AdmissionReview decided as the webhook decides it: the same decoding, the same facts. */
function reviewTarget(object: unknown, at: { item?: number; paths: Target['paths'] }): Target {
  const identity = { kind: 'AdmissionReview', namespace: null, name: null };
  const problems = checkAdmissionReview(object);
  if (problems.length > 0) return { ...at, ...identity, outcome: { ok: false, problems } };
  const request = (object as AdmissionReview).request;
  const named = { ...at, kind: request.kind.kind, namespace: request.namespace ?? null, name: request.name ?? null };
  const pod = [...at.paths.object, 'request', 'object', ...(POD_SOURCES[request.kind.kind]?.path ?? [])];
  const decoded = decodeAdmissionRequest(request);
  if (!decoded.ok) return { ...named, outcome: decoded };
  const subject = decoded.value;
  if (!subject.judged)
    return {
      ...named,
      outcome: { ok: true, value: { skipped: `${request.operation} ${request.kind.kind}: not judged (${subject.reason})` } },
    };
  return {
    ...named,
    paths: { object: at.paths.object, pod },
    namespace: subject.pod.metadata?.namespace ?? null,
    name: subject.pod.metadata?.name ?? null,
    outcome: { ok: true, value: { pod: subject.pod, facts: subject.facts } },
  };
}

function targetsOf(object: unknown, item?: number): Target[] {
  const kind = str(field(object, 'kind'));
  const meta = field(object, 'metadata');
  const namespace = str(field(meta, 'namespace'));
  const name = str(field(meta, 'name')) ?? str(field(meta, 'generateName'));
  const objectPath = item === undefined ? [] : ['items', item];
  const at = item === undefined ? { paths: { object: objectPath } } : { item, paths: { object: objectPath } };
  if (kind === 'List' || (kind?.endsWith('List') === true && Array.isArray(field(object, 'items')))) {
    const items = field(object, 'items');
    return Array.isArray(items) ? items.flatMap((x, i) => targetsOf(x, i)) : [];
  }
  if (kind === 'AdmissionReview') return [reviewTarget(object, at)];
  // Operators' golden files and config fragments: said, never passed over in silence. A pod spec
  // without its kind is not guessed at: the API server would refuse the object.
  if (kind === null)
    return [
      {
        ...at,
        kind,
        namespace,
        name,
        outcome: { ok: true, value: { skipped: 'no apiVersion/kind: not a Kubernetes object, not checked' } },
      },
    ];
  if (POD_SOURCES[kind] === undefined) return [{ ...at, kind, namespace, name }];
  const decoded = decodePodOf(kind, object, '');
  const replicas = replicasOf(kind, object);
  const facts = replicas !== undefined ? { replicas } : {};
  return [
    {
      ...at,
      paths: { object: objectPath, pod: [...objectPath, ...(POD_SOURCES[kind]?.path ?? [])] },
      kind,
      namespace,
      name,
      outcome: decoded.ok ? { ok: true, value: { pod: decoded.value, facts } } : decoded,
    },
  ];
}

/** Judges one document's objects, row by row, with the same judgement and policy as the webhook. */
function scanDocument(
  doc: LoadedDocument,
  policy: Policy,
  sink: (row: ReportRow) => void,
  errors: InputError[],
  counter: SummaryCounter,
): void {
  for (const target of targetsOf(doc.object)) {
    counter.documents++;
    const subject = {
      source: doc.source,
      document: doc.document,
      ...(target.item !== undefined ? { item: target.item } : {}),
      kind: target.kind,
      namespace: target.namespace,
      name: target.name,
    };
    const outcome = target.outcome;
    if (outcome === undefined) {
      sink(located(emptyRow(subject), doc.tree, target.paths));
    } else if (!outcome.ok) {
      errors.push({
        source: doc.source,
        document: doc.document,
        message: `${target.kind ?? 'object'} ${target.name ?? ''}: ${outcome.problems.join('; ')}`,
      });
    } else if ('skipped' in outcome.value) {
      sink(located({ ...emptyRow(subject), skipped: outcome.value.skipped }, doc.tree, target.paths));
    } else {
      const verdict = judgePod(outcome.value.pod, policy, outcome.value.facts);
      for (const row of rowsOf(subject, verdict, locatorFor(doc.tree, target.paths))) sink(row);
    }
  }
}

/** A file that is not read as manifests (a template): one SKIP row, never silence and never an error. */
function skippedInput(source: string, reason: string): ReportRow {
  return { ...emptyRow({ source, document: 0, kind: null, namespace: null, name: null }), skipped: reason };
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
export interface ScanOptions extends WalkOptions {
  /** Called after each input (a file, standard input) with how many were read: a progress line. */
  readonly progress?: (inputs: number) => void;
}

export async function scanInputs(
  paths: readonly string[],
  readStdin: () => Promise<string>,
  policy: Policy,
  sink: ReportSink,
  options: ScanOptions = {},
): Promise<Pick<Report, 'errors' | 'summary'>> {
  const errors: InputError[] = [];
  const counter = new SummaryCounter();
  const row = (r: ReportRow): void => {
    counter.count(r);
    sink.row(r);
  };
  let inputs = 0;
  for await (const parsed of parsedInputs(paths, readStdin, options)) {
    errors.push(...parsed.errors);
    for (const s of parsed.skipped ?? []) sink.row(skippedInput(s.source, s.reason));
    for (const doc of parsed.documents) scanDocument(doc, policy, row, errors, counter);
    options.progress?.(++inputs);
  }
  const summary = counter.summary();
  sink.finish(errors, summary);
  return { errors, summary };
}
