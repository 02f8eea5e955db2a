/**
 * The report `scan` and `audit` print (text or JSON) and audit turns into PolicyReports: one row per
 * container that runs etcd or kube-apiserver, each finding with its CIS numbers from the rule's
 * declaration. Built from verdicts (judgement/); nothing here re-judges.
 */
import type { InputError } from '../input/manifests.js';
import type { Verdict } from '../judgement/judge.js';
import type { Component } from '../launch/invocation.js';
import type { DecidedFinding } from '../policy/decide.js';
import { cisNumbers, ruleById } from '../rules/rules.js';
import type { SourcePosition } from '../input/positions.js';

export interface ReportFinding {
  readonly rule: string;
  /** CIS 1.5.1 control numbers (empty for controls that are not in the benchmark). */
  readonly cis: readonly string[];
  /** Control numbers by benchmark version: `{ "1.5.1": "1.2.32", "1.10": "1.2.26" }`. */
  readonly cisBenchmarks: Readonly<Record<string, string>>;
  readonly status: DecidedFinding['status'];
  readonly action: DecidedFinding['action'];
  readonly effectiveAction: DecidedFinding['effectiveAction'];
  readonly message: string;
  readonly remediation: string;
  readonly evidence: readonly string[];
  readonly note?: string;
  /** Node rules: the file, the certificate's subject and expiry, a warning for a pass that will not last. */
  readonly file?: string;
  readonly subject?: string;
  readonly notAfter?: string;
  readonly warning?: string;
  /** Where in its file the finding points (scan): the argument, the env entry, or the container. From 1. */
  readonly line?: number;
  readonly column?: number;
}

/** Where a judged object came from: a file's document (and List item), or a cluster. */
export interface ReportSubject {
  readonly source: string;
  readonly document: number;
  /** Index in `items` when the document is a List. */
  readonly item?: number;
  /** Where in its file the object's container (or the object) is (scan). From 1. */
  readonly line?: number;
  readonly column?: number;
  readonly kind: string | null;
  readonly namespace: string | null;
  readonly name: string | null;
}

export interface ReportRow extends ReportSubject {
  readonly component: Component | null;
  readonly container: string | null;
  /** Which release of the program runs, as far as the image tells (absent when nothing runs). */
  readonly release?: string;
  /** Why the object was not judged (an admission request the webhook lets through untouched, a document with no kind). */
  readonly skipped?: string;
  readonly findings: readonly ReportFinding[];
}

export interface Report {
  readonly results: readonly ReportRow[];
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

/** Where in its file a row's container and each of its findings are (scan: input/positions.ts), from 1. */
export interface FindingLocator {
  readonly container: (container: string | null) => SourcePosition | undefined;
  readonly finding: (container: string | null, evidence: readonly string[]) => SourcePosition | undefined;
}

function reportFinding(f: DecidedFinding, at: SourcePosition | undefined): ReportFinding {
  const rule = ruleById(f.rule);
  // Built field by field: a 10,000-file scan makes 80,000 of these (spreads cost there).
  const out: { -readonly [K in keyof ReportFinding]: ReportFinding[K] } = {
    rule: f.rule,
    cis: cisNumbers(rule),
    cisBenchmarks: rule.cis,
    status: f.status,
    action: f.action,
    effectiveAction: f.effectiveAction,
    message: f.message,
    remediation: f.remediation,
    evidence: f.evidence,
  };
  if (f.note !== undefined) out.note = f.note;
  if (f.details?.file !== undefined) out.file = f.details.file;
  if (f.details?.subject !== undefined) out.subject = f.details.subject;
  if (f.details?.notAfter !== undefined) out.notAfter = f.details.notAfter;
  if (f.details?.warning !== undefined) out.warning = f.details.warning;
  if (at !== undefined) {
    out.line = at.line;
    out.column = at.column;
  }
  return out;
}

/** An object that runs neither program (or is not a pod at all): listed, with nothing to report. */
export function emptyRow(subject: ReportSubject): ReportRow {
  return { ...subject, component: null, container: null, findings: [] };
}

/** One row per container of the verdict; an object where nothing runs still gets one (empty) row. */
export function rowsOf(subject: ReportSubject, verdict: Verdict, locator?: FindingLocator): ReportRow[] {
  if (verdict.results.length === 0) {
    const at = locator?.container(null);
    return [at !== undefined ? { ...emptyRow(subject), line: at.line, column: at.column } : emptyRow(subject)];
  }
  return verdict.results.map((r) => {
    const at = locator?.container(r.container);
    return {
      ...subject,
      ...(at !== undefined ? { line: at.line, column: at.column } : {}),
      component: r.component,
      container: r.container,
      release: r.release,
      findings: r.findings.map((f) => reportFinding(f, locator?.finding(r.container, f.evidence))),
    };
  });
}

/** The counts a CI job and a person read first, kept as rows go by (rows need not be held). */
export class SummaryCounter {
  documents = 0;
  #checked = 0;
  #failed = 0;
  #denied = 0;

  count(row: ReportRow): void {
    if (row.component === null) return;
    this.#checked++;
    if (row.findings.some((f) => f.status === 'fail')) this.#failed++;
    if (row.findings.some((f) => (f.status === 'fail' || f.status === 'unknown') && f.effectiveAction === 'enforce')) this.#denied++;
  }

  summary(): Report['summary'] {
    return { documents: this.documents, checked: this.#checked, failed: this.#failed, denied: this.#denied };
  }
}

/** Where a report goes as it is made: rows one by one, then the errors and the counts. */
export interface ReportSink {
  row(row: ReportRow): void;
  finish(errors: readonly InputError[], summary: Report['summary']): void;
}

/** Rows and errors in, with the counts a CI job and a person read first. */
export function reportOf(results: readonly ReportRow[], errors: readonly InputError[], documents: number): Report {
  const counter = new SummaryCounter();
  counter.documents = documents;
  for (const r of results) counter.count(r);
  return { results, errors, summary: counter.summary() };
}

/** The exit code of scan and audit: 2 for unreadable input, 1 when the webhook would deny something, else 0. */
export function exitCodeOf(report: Pick<Report, 'errors' | 'summary'>): number {
  if (report.errors.length > 0) return 2;
  return report.summary.denied > 0 ? 1 : 0;
}

/** What the user asked to see (`scan --status`, `--action`, `--quiet`); the counts and the exit code stay those of the whole report. */
export interface RowFilter {
  /** Keep only findings of these statuses. */
  readonly statuses?: ReadonlySet<string>;
  /** Keep only findings whose action (after the policy) is one of these. */
  readonly actions?: ReadonlySet<string>;
  /** Only rows with something to act on: a failing or unverifiable finding, or a certificate about to expire. */
  readonly quiet?: boolean;
}

const actionable = (r: ReportRow): boolean =>
  r.findings.some((f) => f.status === 'fail' || f.status === 'unknown' || f.warning !== undefined);

/** The sink, shown only the findings and rows the filter keeps. */
export function filteredSink(sink: ReportSink, filter: RowFilter): ReportSink {
  const { statuses, actions, quiet = false } = filter;
  if (statuses === undefined && actions === undefined && !quiet) return sink;
  return {
    row: (r) => {
      const findings = r.findings.filter(
        (f) => (statuses === undefined || statuses.has(f.status)) && (actions === undefined || actions.has(f.effectiveAction)),
      );
      const kept = findings.length === r.findings.length ? r : { ...r, findings };
      if (quiet && !actionable(kept)) return;
      sink.row(kept);
    },
    finish: (errors, summary) => sink.finish(errors, summary),
  };
}
