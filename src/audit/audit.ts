import { evaluatePod } from '../core/evaluate.js';
import type { Pod } from '../core/pod.js';
import type { LoadedDocument } from '../manifests/load.js';
import type { Policy } from '../policy/policy.js';
import { scanDocuments, type ScanReport } from '../scan/scan.js';

/**
 * Evaluates pods read from a cluster with the same core, policy and report as `scan`.
 *
 * Membership: a pod alone cannot always tell whether etcd has peers (kubeadm's first control-plane
 * node keeps a one-member --initial-cluster after others joined). A cluster can: when a namespace
 * holds several etcd pods and the policy leaves topology to `auto`, they are taken as members of one
 * cluster and the peer rules apply to each (evaluate.ts: observedEtcdMembers).
 */
export function auditPods(pods: readonly Pod[], policy: Policy, source: string): ScanReport {
  const byNamespace = new Map<string, Pod[]>();
  for (const pod of pods) {
    const ns = pod.metadata?.namespace ?? '';
    byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), pod]);
  }
  const reports: ScanReport[] = [];
  let index = 0;
  for (const group of byNamespace.values()) {
    const etcdPods = group.filter((p) => evaluatePod(p, policy).results.some((r) => r.component === 'etcd')).length;
    const docs: LoadedDocument[] = group.map((p) => ({ source, document: index++, object: { apiVersion: 'v1', kind: 'Pod', ...p } }));
    reports.push(scanDocuments(docs, policy, [], { observedEtcdMembers: etcdPods }));
  }
  return mergeReports(reports);
}

function mergeReports(reports: readonly ScanReport[]): ScanReport {
  return {
    results: reports.flatMap((r) => r.results),
    errors: reports.flatMap((r) => r.errors),
    summary: {
      documents: reports.reduce((n, r) => n + r.summary.documents, 0),
      checked: reports.reduce((n, r) => n + r.summary.checked, 0),
      failed: reports.reduce((n, r) => n + r.summary.failed, 0),
      denied: reports.reduce((n, r) => n + r.summary.denied, 0),
    },
  };
}
