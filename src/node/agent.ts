/**
 * The node agent (the chart's DaemonSet): the node check every interval, its findings and
 * certificate expiry as Prometheus gauges, and optionally one ClusterPolicyReport for the node.
 * Stops on SIGTERM/SIGINT, finishing nothing half-written (a write in flight completes first).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Gauge, Registry } from 'prom-client';
import { registerBuildInfo } from '../metrics/build-info.js';
import { loadKubeConfig, servedReportApi, writeClusterPolicyReport, type ReportApiChoice } from '../kube/api.js';
import { startMetricsServer, type RunningMetricsServer } from '../metrics/server.js';
import { nodePolicyReport } from '../report/policy-report.js';
import type { Report } from '../report/report.js';
import { checkNode, checkNodeProbing, nodeReport, type NodeCheckOptions } from './check.js';

export interface NodeAgentSettings extends Omit<NodeCheckOptions, 'now'> {
  readonly intervalMs: number;
  /** 0: no metrics server. */
  readonly metricsPort: number;
  readonly policyReport: boolean;
  /** Probe the etcd endpoints before each check (the observed rules); false: --no-probe. */
  readonly probe?: boolean;
  /** The report API (report/policy-report.ts); default auto: the one the cluster serves, OpenReports first. */
  readonly reportApi?: ReportApiChoice;
  readonly nodeName: string;
  readonly log: Logger;
  /** Tests: stop after this many checks instead of waiting for a signal. */
  readonly checks?: number;
  /** Tests: called with the port the metrics server listens on. */
  readonly onListening?: (port: number) => void;
  /**
   * Reads the policy again before each check (the chart's ConfigMap volume changes under a running
   * agent); a policy that fails to load keeps the one in force, logged.
   */
  readonly reloadPolicy?: () => Promise<NodeCheckOptions['policy']>;
}

export class NodeMetrics {
  readonly registry = new Registry();
  readonly #findings = new Gauge({
    name: 'etcd_tls_guard_node_findings',
    help: 'Findings of the last node check, by rule and status',
    labelNames: ['rule', 'status'],
    registers: [this.registry],
  });
  // Base units, as the webhook's own expiry gauge: alert on `… - time() < 30 * 86400`.
  readonly #expiry = new Gauge({
    name: 'etcd_tls_guard_node_certificate_expiry_timestamp_seconds',
    help: 'Expiry (notAfter) of a certificate named by etcd or kube-apiserver flags on this node, as a Unix timestamp',
    labelNames: ['rule', 'file'],
    registers: [this.registry],
  });

  constructor() {
    registerBuildInfo(this.registry, 'node-agent');
  }
  readonly #last = new Gauge({
    name: 'etcd_tls_guard_node_last_check_timestamp_seconds',
    help: 'When the last node check finished',
    registers: [this.registry],
  });
  readonly #failures = new Gauge({
    name: 'etcd_tls_guard_node_check_errors',
    help: 'Input errors (unreadable manifests) and failed ClusterPolicyReport writes of the last check',
    registers: [this.registry],
  });

  record(report: Report, at: Date, failures: number): void {
    this.#findings.reset();
    this.#expiry.reset();
    const counts = new Map<string, number>();
    for (const r of report.results) {
      for (const f of r.findings) {
        const key = `${f.rule}\0${f.status}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (f.notAfter !== undefined && f.file !== undefined)
          this.#expiry.set({ rule: f.rule, file: f.file }, Date.parse(f.notAfter) / 1000);
      }
    }
    for (const [key, n] of counts) {
      const [rule, status] = key.split('\0') as [string, string];
      this.#findings.set({ rule, status }, n);
    }
    this.#last.set(at.getTime() / 1000);
    this.#failures.set(report.errors.length + failures);
  }
}

export async function runNodeAgent(settings: NodeAgentSettings): Promise<void> {
  const { log } = settings;
  const metrics = new NodeMetrics();
  // Credentials first, with the reason when there are none: a failure here stops the agent at once.
  const kc: KubeConfig | undefined = settings.policyReport ? loadKubeConfig({}) : undefined;
  let server: RunningMetricsServer | undefined;
  if (settings.metricsPort !== 0) {
    server = await startMetricsServer({ host: '*', port: settings.metricsPort, registry: metrics.registry, logger: log });
    const port = Number(new URL(server.url).port);
    settings.onListening?.(port);
    log.info({ port }, 'node agent metrics listening');
  }
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onSignal = (): void => stop();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    let policy = settings.policy;
    for (let n = 0; settings.checks === undefined || n < settings.checks; n++) {
      if (settings.reloadPolicy !== undefined && n > 0) {
        try {
          policy = await settings.reloadPolicy();
        } catch (err) {
          log.error({ reason: (err as Error).message }, 'refused the changed policy; the one in force stays');
        }
      }
      const at = new Date();
      const options = { ...settings, policy, now: at.getTime() };
      const report = nodeReport(settings.probe === false ? checkNode(options) : await checkNodeProbing(options));
      let failures = 0;
      if (kc !== undefined) {
        try {
          // Discovered at each pass: CRDs installed after the agent started are used from the next one.
          const api = await servedReportApi(kc, settings.reportApi ?? 'auto');
          await writeClusterPolicyReport(kc, nodePolicyReport(report, settings.nodeName, at, api), api);
        } catch (err) {
          failures++;
          log.error({ reason: (err as Error).message }, 'cannot write the node report');
        }
      }
      metrics.record(report, at, failures);
      log.info({ ...report.summary, errors: report.errors.length }, 'node check done');
      if (settings.checks !== undefined && n + 1 >= settings.checks) break;
      let timer: NodeJS.Timeout | undefined;
      const next = new Promise<'next'>((resolve) => (timer = setTimeout(() => resolve('next'), settings.intervalMs)));
      const why = await Promise.race([next, stopped.then(() => 'stop' as const)]);
      clearTimeout(timer);
      if (why === 'stop') break;
    }
  } finally {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    await server?.close();
  }
}
