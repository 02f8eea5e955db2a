import type { Report, ReportFinding } from './report.js';

/**
 * Policy reports in the two APIs that carry them: `openreports.io/v1alpha1` Report and ClusterReport
 * (OpenReports, written by Kyverno 1.15+, which means to retire the other) and
 * `wgpolicyk8s.io/v1alpha2` PolicyReport and ClusterPolicyReport (the Kubernetes Policy WG's, written
 * by Kyverno before, Trivy and kube-bench adapters). policy-reporter reads both. The two schemas
 * hold the same fields for what we write (scope, summary, results with source, policy, rule,
 * result, severity, resources, properties — openreports.io's CRDs in
 * github.com/openreports/reports-api v0.2.1, config/crd); only the group, version and kinds differ.
 */
export type ReportApiName = 'openreports' | 'wgpolicyk8s';

export interface ReportApi {
  readonly group: string;
  readonly version: string;
  readonly namespaced: { readonly kind: string; readonly plural: string };
  readonly cluster: { readonly kind: string; readonly plural: string };
}

export const REPORT_APIS: Readonly<Record<ReportApiName, ReportApi>> = {
  openreports: {
    group: 'openreports.io',
    version: 'v1alpha1',
    namespaced: { kind: 'Report', plural: 'reports' },
    cluster: { kind: 'ClusterReport', plural: 'clusterreports' },
  },
  wgpolicyk8s: {
    group: 'wgpolicyk8s.io',
    version: 'v1alpha2',
    namespaced: { kind: 'PolicyReport', plural: 'policyreports' },
    cluster: { kind: 'ClusterPolicyReport', plural: 'clusterpolicyreports' },
  },
};

export const POLICY_REPORT_NAME = 'etcd-tls-guard';

export type PolicyResult = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

export interface PolicyReportResult {
  readonly source: 'etcd-tls-guard';
  readonly policy: string;
  readonly rule: string;
  readonly category: string;
  readonly severity: 'high' | 'medium';
  readonly result: PolicyResult;
  readonly message: string;
  readonly scored: boolean;
  readonly timestamp: { readonly seconds: number; readonly nanos: number };
  readonly resources: readonly { apiVersion: 'v1'; kind: 'Pod'; namespace: string; name: string; uid?: string }[];
  readonly properties: Readonly<Record<string, string>>;
}

export interface PolicyReport {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace: string; labels: Record<string, string>; resourceVersion?: string };
  readonly summary: Readonly<Record<PolicyResult, number>>;
  readonly results: readonly PolicyReportResult[];
}

/**
 * A failing control is `fail` whatever the action the policy takes on it (the report states the
 * cluster's compliance; the action is a property); unknown is `warn` (it could not be verified);
 * not-applicable and rules turned off are `skip`.
 */
export function resultOf(f: Pick<ReportFinding, 'status' | 'action'>): PolicyResult {
  if (f.action === 'off' || f.status === 'not-applicable') return 'skip';
  if (f.status === 'pass') return 'pass';
  if (f.status === 'fail') return 'fail';
  return 'warn';
}

/**
 * One report per namespace with results, and an empty one for each of `namespaces` without any, so
 * that a report written earlier is emptied when its pods are gone or fixed.
 */
export function policyReports(
  report: Report,
  now: Date,
  uids: ReadonlyMap<string, string> = new Map(),
  namespaces: readonly string[] = [],
  api: ReportApiName = 'wgpolicyk8s',
): PolicyReport[] {
  const { group, version, namespaced } = REPORT_APIS[api];
  const byNamespace = new Map<string, PolicyReportResult[]>(namespaces.map((ns) => [ns, []]));
  const timestamp = { seconds: Math.floor(now.getTime() / 1000), nanos: 0 };
  for (const r of report.results) {
    if (r.component === null || r.namespace === null || r.name === null) continue;
    const uid = uids.get(`${r.namespace}/${r.name}`);
    for (const f of r.findings) {
      const results = byNamespace.get(r.namespace) ?? [];
      const result = resultOf(f);
      results.push({
        source: 'etcd-tls-guard',
        policy: 'etcd-tls-guard',
        rule: f.rule,
        category: 'CIS Kubernetes Benchmark',
        severity: 'high',
        result,
        message: result === 'fail' || result === 'warn' ? `${f.message}. Fix: ${f.remediation}` : f.message,
        scored: f.cis.length > 0,
        timestamp,
        resources: [{ apiVersion: 'v1', kind: 'Pod', namespace: r.namespace, name: r.name, ...(uid !== undefined ? { uid } : {}) }],
        properties: {
          component: r.component,
          container: r.container ?? '',
          status: f.status,
          action: f.effectiveAction,
          ...(f.cis.length > 0 ? { cis: f.cis.join(', ') } : {}),
          ...Object.fromEntries(Object.entries(f.cisBenchmarks).map(([version, id]) => [`cis-${version}`, id])),
        },
      });
      byNamespace.set(r.namespace, results);
    }
  }
  return [...byNamespace].map(([namespace, results]) => {
    const summary: Record<PolicyResult, number> = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
    for (const r of results) summary[r.result]++;
    return {
      apiVersion: `${group}/${version}`,
      kind: namespaced.kind,
      metadata: { name: POLICY_REPORT_NAME, namespace, labels: { 'app.kubernetes.io/managed-by': 'etcd-tls-guard' } },
      summary,
      results,
    };
  });
}

export interface ClusterPolicyReport {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; labels: Record<string, string>; resourceVersion?: string };
  readonly scope: { readonly apiVersion: 'v1'; readonly kind: 'Node'; readonly name: string };
  readonly summary: Readonly<Record<PolicyResult, number>>;
  readonly results: ReadonlyArray<Omit<PolicyReportResult, 'resources'>>;
}

/**
 * A node check as one ClusterPolicyReport per node (`etcd-tls-guard-node-NODE`, scope the Node): a
 * node is cluster-scoped, and what the check reads — files, certificates, processes — belongs to the
 * node, not to a namespace (a process without a manifest has no pod at all). Each result names what
 * it is about in its properties: the manifest or process, the container, the file.
 */
export function nodePolicyReport(report: Report, nodeName: string, now: Date, api: ReportApiName = 'wgpolicyk8s'): ClusterPolicyReport {
  const { group, version, cluster } = REPORT_APIS[api];
  const timestamp = { seconds: Math.floor(now.getTime() / 1000), nanos: 0 };
  const results: Array<Omit<PolicyReportResult, 'resources'>> = [];
  for (const r of report.results) {
    if (r.component === null) continue;
    for (const f of r.findings) {
      const result = f.status === 'pass' && f.warning !== undefined ? 'warn' : resultOf(f);
      results.push({
        source: 'etcd-tls-guard',
        policy: 'etcd-tls-guard-node',
        rule: f.rule,
        category: 'CIS Kubernetes Benchmark',
        severity: 'high',
        result,
        message:
          result === 'fail' || (result === 'warn' && f.status !== 'pass')
            ? `${f.message}. Fix: ${f.remediation}`
            : (f.warning ?? f.message),
        scored: f.cis.length > 0,
        timestamp,
        properties: {
          component: r.component,
          source: r.source,
          object: `${r.kind ?? ''} ${r.namespace !== null ? `${r.namespace}/` : ''}${r.name ?? ''}`.trim(),
          container: r.container ?? '',
          status: f.status,
          action: f.effectiveAction,
          ...(f.file !== undefined ? { file: f.file } : {}),
          ...(f.notAfter !== undefined ? { notAfter: f.notAfter } : {}),
          ...(f.cis.length > 0 ? { cis: f.cis.join(', ') } : {}),
        },
      });
    }
  }
  const summary: Record<PolicyResult, number> = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const r of results) summary[r.result]++;
  // Object names are DNS subdomains (253 characters); node names are too, so the prefix may need room.
  const name = `etcd-tls-guard-node-${nodeName}`.slice(0, 253);
  return {
    apiVersion: `${group}/${version}`,
    kind: cluster.kind,
    metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'etcd-tls-guard', 'etcd-tls-guard.io/node': nodeName.slice(0, 63) } },
    scope: { apiVersion: 'v1', kind: 'Node', name: nodeName },
    summary,
    results,
  };
}
