import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ApisApi, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { Pod } from '../launch/pod.js';
import { ClusterError } from './errors.js';
import {
  REPORT_APIS,
  POLICY_REPORT_NAME,
  type ClusterPolicyReport,
  type PolicyReport,
  type ReportApiName,
} from '../report/policy-report.js';

/** The edge to the Kubernetes API, shared by audit, the periodic audit and the node agent: credentials, listing pods, writing reports. */

export { ClusterError };

export interface ClusterOptions {
  /** A kubeconfig file; otherwise KUBECONFIG, ~/.kube/config, or the in-cluster service account. */
  readonly kubeconfig?: string;
  readonly context?: string;
  /**
   * The environment the default is looked up in (KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST): when
   * given and none of the three places holds credentials, the load fails with that said, instead of
   * client-node's last resort, an unauthenticated http://localhost:8080.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The in-cluster service account's token (client-node's SERVICEACCOUNT_TOKEN_PATH). */
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function hasDefaultCredentials(env: Readonly<Record<string, string | undefined>>): boolean {
  if ((env.KUBECONFIG ?? '') !== '') return true;
  if (env.HOME !== undefined && existsSync(join(env.HOME, '.kube', 'config'))) return true;
  return (env.KUBERNETES_SERVICE_HOST ?? '') !== '' && existsSync(SERVICE_ACCOUNT_TOKEN);
}

export function loadKubeConfig(opts: ClusterOptions): KubeConfig {
  if (opts.kubeconfig === undefined && opts.env !== undefined && !hasDefaultCredentials(opts.env))
    throw new ClusterError(
      'no kubeconfig found (looked at --kubeconfig, KUBECONFIG, ~/.kube/config and the in-cluster service account): pass --kubeconfig FILE or run in a pod',
    );
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig !== undefined) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new ClusterError(`cannot load the kubeconfig: ${(err as Error).message}`);
  }
  if (opts.context !== undefined) {
    if (kc.getContextObject(opts.context) === null)
      throw new ClusterError(`context ${JSON.stringify(opts.context)} is not in the kubeconfig`);
    kc.setCurrentContext(opts.context);
  }
  if (kc.getCurrentCluster() === null)
    throw new ClusterError('no cluster in the kubeconfig (set --kubeconfig, KUBECONFIG, or run in a pod)');
  return kc;
}

/** Status and message of an API error, without the response body's noise. */
export function describeApiError(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  let reason = e.message ?? String(err);
  if (typeof e.body === 'string') {
    try {
      reason = (JSON.parse(e.body) as { message?: string }).message ?? reason;
    } catch {
      // not a Status object
    }
  }
  return e.code !== undefined ? `HTTP ${e.code}: ${reason.split('\n')[0] ?? ''}` : reason;
}

const PAGE = 500;

/** Every pod of the namespaces (or of all namespaces), paginated as the API server prefers. */
export async function listPods(kc: KubeConfig, namespaces: readonly string[] | 'all'): Promise<Pod[]> {
  const api = kc.makeApiClient(CoreV1Api);
  const pods: Pod[] = [];
  const scopes = namespaces === 'all' ? [undefined] : namespaces;
  for (const namespace of scopes) {
    let next: string | undefined;
    do {
      try {
        const page =
          namespace === undefined
            ? await api.listPodForAllNamespaces({ limit: PAGE, ...(next !== undefined ? { _continue: next } : {}) })
            : await api.listNamespacedPod({ namespace, limit: PAGE, ...(next !== undefined ? { _continue: next } : {}) });
        // client-node's V1Pod has the field names of the JSON (its serializer maps each attribute to
        // the same name), and absent fields are undefined: the same shape our Pod type reads, without
        // copying every pod through JSON.
        pods.push(...(page.items as Pod[]));
        next = page.metadata?._continue !== undefined && page.metadata._continue !== '' ? page.metadata._continue : undefined;
      } catch (err) {
        throw new ClusterError(`cannot list pods${namespace !== undefined ? ` in ${namespace}` : ''}: ${describeApiError(err)}`);
      }
    } while (next !== undefined);
  }
  return pods;
}

/** `auto`: the report API the cluster serves, OpenReports first; or the one named. */
export type ReportApiChoice = ReportApiName | 'auto';

/**
 * The report API to write, by API discovery (/apis): the one named, when the cluster serves it; with
 * `auto`, openreports.io/v1alpha1 when served (Kyverno 1.15+ installs it), else wgpolicyk8s.io/v1alpha2.
 */
export async function servedReportApi(kc: KubeConfig, choice: ReportApiChoice): Promise<ReportApiName> {
  let groups: { name: string; versions: { version: string }[] }[];
  try {
    groups = (await kc.makeApiClient(ApisApi).getAPIVersions()).groups;
  } catch (err) {
    throw new ClusterError(`cannot discover the cluster's APIs: ${describeApiError(err)}`);
  }
  const served = (name: ReportApiName): boolean =>
    groups.some((g) => g.name === REPORT_APIS[name].group && g.versions.some((v) => v.version === REPORT_APIS[name].version));
  const label = (name: ReportApiName): string => `${REPORT_APIS[name].group}/${REPORT_APIS[name].version}`;
  const candidates: ReportApiName[] = choice === 'auto' ? ['openreports', 'wgpolicyk8s'] : [choice];
  const found = candidates.find(served);
  if (found !== undefined) return found;
  throw new ClusterError(
    `the cluster serves no ${candidates.map(label).join(' and no ')}: install the CRDs (OpenReports: github.com/openreports/reports-api config/crd; wgpolicyk8s: kubernetes-sigs/wg-policy-prototypes)`,
  );
}

/** Namespaces that hold a report written by etcd-tls-guard (to empty the ones now clean). */
export async function namespacesWithReports(kc: KubeConfig, apiName: ReportApiName): Promise<string[]> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const { group, version, namespaced } = REPORT_APIS[apiName];
  try {
    const list = (await api.listClusterCustomObject({
      group,
      version,
      plural: namespaced.plural,
      labelSelector: 'app.kubernetes.io/managed-by=etcd-tls-guard',
    })) as { items?: PolicyReport[] };
    return (list.items ?? []).filter((r) => r.metadata.name === POLICY_REPORT_NAME).map((r) => r.metadata.namespace);
  } catch (err) {
    throw new ClusterError(`cannot list ${namespaced.kind}s (${group}): ${describeApiError(err)}`);
  }
}

interface Custom {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

/** An object with metadata, as a report is written. */
interface Named {
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly resourceVersion?: string };
}

/**
 * Creates the custom object, or replaces the one already there (same name) with its resourceVersion:
 * an update in place. Namespaced when the object names its namespace, cluster-scoped otherwise.
 * `what` names it in the error: `PolicyReport kube-system/etcd-tls-guard`.
 */
async function createOrReplace(kc: KubeConfig, api: Custom, body: Named, what: string): Promise<void> {
  const client = kc.makeApiClient(CustomObjectsApi);
  const { name, namespace } = body.metadata;
  try {
    let existing: Named | undefined;
    try {
      existing = (
        namespace !== undefined
          ? await client.getNamespacedCustomObject({ ...api, namespace, name })
          : await client.getClusterCustomObject({ ...api, name })
      ) as Named;
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
    if (existing === undefined) {
      if (namespace !== undefined) await client.createNamespacedCustomObject({ ...api, namespace, body });
      else await client.createClusterCustomObject({ ...api, body });
      return;
    }
    const rv = existing.metadata.resourceVersion;
    const replacement = { ...body, metadata: { ...body.metadata, ...(rv !== undefined ? { resourceVersion: rv } : {}) } };
    if (namespace !== undefined) await client.replaceNamespacedCustomObject({ ...api, namespace, name, body: replacement });
    else await client.replaceClusterCustomObject({ ...api, name, body: replacement });
  } catch (err) {
    throw new ClusterError(`cannot write ${what}: ${describeApiError(err)}`);
  }
}

/** Creates each report, or replaces the one already there (same name): updated in place. */
export async function writePolicyReports(kc: KubeConfig, reports: readonly PolicyReport[], apiName: ReportApiName): Promise<void> {
  const { group, version, namespaced } = REPORT_APIS[apiName];
  for (const report of reports)
    await createOrReplace(
      kc,
      { group, version, plural: namespaced.plural },
      report,
      `${namespaced.kind} ${report.metadata.namespace}/${report.metadata.name}`,
    );
}

/** The node agent's cluster-scoped report for its node, created or updated in place. */
export async function writeClusterPolicyReport(kc: KubeConfig, report: ClusterPolicyReport, apiName: ReportApiName): Promise<void> {
  const { group, version, cluster } = REPORT_APIS[apiName];
  await createOrReplace(kc, { group, version, plural: cluster.plural }, report, `${cluster.kind} ${report.metadata.name}`);
}
