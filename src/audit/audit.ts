import { decodePodOf } from '../input/workload.js';
import type { InputError } from '../input/manifests.js';
import { judgeCluster } from '../judgement/judge.js';
import type { Pod } from '../launch/pod.js';
import type { Policy } from '../policy/policy.js';
import { reportOf, rowsOf, type Report, type ReportRow } from '../report/report.js';

/**
 * `audit`: pods read from a cluster → the one judgement (judgeCluster: a namespace's etcd pods tell
 * the peer rules what one pod cannot) → the same report as `scan`, listed namespace by namespace.
 */
export function auditPods(pods: readonly Pod[], policy: Policy, source: string): Report {
  const byNamespace = new Map<string, Pod[]>();
  for (const pod of pods) {
    const ns = pod.metadata?.namespace ?? '';
    const group = byNamespace.get(ns);
    if (group === undefined) byNamespace.set(ns, [pod]);
    else group.push(pod);
  }
  // The API server serves valid pods; anything else (a proxy, a broken fake) is an input error, not a verdict.
  const ordered = [...byNamespace.values()].flat();
  const errors: InputError[] = [];
  const valid: Array<{ pod: Pod; document: number }> = [];
  ordered.forEach((object, document) => {
    const decoded = decodePodOf('Pod', object, '');
    if (decoded.ok) valid.push({ pod: decoded.value, document });
    else errors.push({ source, document, message: `Pod ${object.metadata?.name ?? ''}: ${decoded.problems.join('; ')}` });
  });
  const verdicts = judgeCluster(
    valid.map((v) => v.pod),
    policy,
  );
  const results: ReportRow[] = valid.flatMap(({ pod, document }, i) =>
    rowsOf(
      { source, document, kind: 'Pod', namespace: pod.metadata?.namespace ?? null, name: pod.metadata?.name ?? null },
      verdicts[i] as (typeof verdicts)[number],
    ),
  );
  return reportOf(results, errors, ordered.length);
}
