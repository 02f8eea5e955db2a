import type { KubeConfig } from '@kubernetes/client-node';
import type { Policy } from '../policy/policy.js';
import type { Report } from '../report/report.js';
import { auditPods } from './audit.js';
import { listPods, namespacesWithReports, servedReportApi, writePolicyReports, type ReportApiChoice } from '../kube/api.js';
import { policyReports, REPORT_APIS } from '../report/policy-report.js';

export interface AuditOptions {
  /** Namespaces to read, or every namespace. */
  readonly namespaces: readonly string[] | 'all';
  readonly policy: Policy;
  /** Also write reports, one per namespace, updated in place. */
  readonly policyReport: boolean;
  /** In which API (report/policy-report.ts); default auto: the one the cluster serves, OpenReports first. */
  readonly reportApi?: ReportApiChoice;
  /** Names the cluster in the report's `source` (the kubeconfig context). */
  readonly source: string;
  readonly now: () => Date;
}

export interface AuditOutcome {
  readonly report: Report;
  /** Namespaces whose report was written. */
  readonly policyReports: readonly string[];
  /** What was written, `Report etcd-tls-guard (openreports.io/v1alpha1)`, when reports were. */
  readonly reportKind?: string;
}

/** One audit pass: list pods → the core → (PolicyReports). The CLI and the server's periodic audit share it. */
export async function runAudit(kc: KubeConfig, opts: AuditOptions): Promise<AuditOutcome> {
  const pods = await listPods(kc, opts.namespaces);
  const report = auditPods(pods, opts.policy, opts.source);
  if (!opts.policyReport) return { report, policyReports: [] };
  const uids = new Map<string, string>();
  for (const p of pods) {
    const meta = p.metadata;
    if (meta?.uid !== undefined) uids.set(`${meta.namespace ?? ''}/${meta.name ?? ''}`, meta.uid);
  }
  // Namespaces read (or, for all namespaces, those holding an earlier report) get a report even when
  // clean, so that stale results are replaced.
  const api = await servedReportApi(kc, opts.reportApi ?? 'auto');
  const namespaces = opts.namespaces === 'all' ? await namespacesWithReports(kc, api) : opts.namespaces;
  const reports = policyReports(report, opts.now(), uids, namespaces, api);
  await writePolicyReports(kc, reports, api);
  const { group, version, namespaced } = REPORT_APIS[api];
  return {
    report,
    policyReports: reports.map((r) => r.metadata.namespace),
    reportKind: `${namespaced.kind} etcd-tls-guard (${group}/${version})`,
  };
}
