import type { BudgetStats } from './body.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerBuildInfo } from '../metrics/build-info.js';

/** What the HTTP edge reports about one admission request; the metrics and nothing else consume it. */
export interface ReviewEvent {
  /** CREATE, UPDATE, ... or `unknown` for a request that could not be decoded. */
  readonly operation: string;
  readonly decision: 'allowed' | 'denied' | 'error';
  readonly dryRun: boolean;
  readonly seconds: number;
  /** The verdict's results, as judged (empty when no pod was judged): counted, never kept. */
  readonly results: readonly {
    readonly findings: readonly { readonly rule: string; readonly status: string; readonly effectiveAction: string }[];
  }[];
}

export type ReloadedConfig = 'certificate' | 'policy';

/** One periodic audit pass: its findings on running pods, or why it failed. */
export type AuditEvent =
  | {
      readonly ok: true;
      readonly at: Date;
      readonly findings: readonly { readonly namespace: string; readonly rule: string; readonly status: string }[];
    }
  | { readonly ok: false; readonly at: Date };

/** The instruments the server reports to. A no-op implementation serves tests and the CLI without metrics. */
export interface Observer {
  reviewed(event: ReviewEvent): void;
  reloaded(config: ReloadedConfig, ok: boolean): void;
  certificateExpiry(notAfter: Date): void;
  audited(event: AuditEvent): void;
  /** Managed certificates (certs/managed.ts): a pass over the Secret and webhook configuration ended. */
  synced(ok: boolean): void;
  rotated(what: 'ca' | 'certificate'): void;
  caExpiry(notAfter: Date): void;
}

export const NO_OBSERVER: Observer = {
  reviewed: () => {},
  reloaded: () => {},
  certificateExpiry: () => {},
  audited: () => {},
  synced: () => {},
  rotated: () => {},
  caExpiry: () => {},
};

export interface Metrics extends Observer {
  readonly registry: Registry;
}

/**
 * Prometheus metrics, prefixed etcd_tls_guard_. Labels take values from small fixed sets (operation,
 * decision, rule id, status, action), never from pod names or namespaces, so cardinality is bounded.
 */
export function createMetrics(sources: { readonly budget?: () => BudgetStats } = {}): Metrics {
  const { budget } = sources;
  const registry = new Registry();
  // Node.js process metrics (process_*, nodejs_*), as prom-client documents them.
  collectDefaultMetrics({ register: registry });
  registerBuildInfo(registry, 'webhook');
  if (budget !== undefined) {
    new Gauge({
      name: 'etcd_tls_guard_review_bytes_in_flight',
      help: 'Bytes of admission reviews being read or judged now (bounded by the budget; see docs/http.md).',
      registers: [registry],
      collect() {
        this.set(budget().inFlightBytes);
      },
    });
    new Gauge({
      name: 'etcd_tls_guard_reviews_waiting',
      help: 'Admission reviews waiting, unread, for the byte budget.',
      registers: [registry],
      collect() {
        this.set(budget().queued);
      },
    });
    new Counter({
      name: 'etcd_tls_guard_reviews_queued_total',
      help: 'Admission reviews that had to wait for the byte budget.',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(budget().queuedTotal);
      },
    });
  }
  const requests = new Counter({
    name: 'etcd_tls_guard_admission_requests_total',
    help: 'Admission requests answered, by operation, decision (allowed, denied, error) and dry run.',
    labelNames: ['operation', 'decision', 'dry_run'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'etcd_tls_guard_admission_request_duration_seconds',
    help: 'Time from a complete request body to the response, by operation.',
    labelNames: ['operation'] as const,
    // The API server's timeout for this webhook is seconds; evaluation takes well under a millisecond.
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const findings = new Counter({
    name: 'etcd_tls_guard_findings_total',
    help: 'Rule findings on evaluated pods, by rule, status (pass, fail, unknown, not-applicable) and the action taken.',
    labelNames: ['rule', 'status', 'action'] as const,
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'etcd_tls_guard_config_reloads_total',
    help: 'Reloads of changed files, by config (certificate, policy) and result (success, failure).',
    labelNames: ['config', 'result'] as const,
    registers: [registry],
  });
  const lastReloadOk = new Gauge({
    name: 'etcd_tls_guard_config_last_reload_successful',
    help: '1 when the last reload of this config succeeded (or none was needed), 0 when the files on disk were refused.',
    labelNames: ['config'] as const,
    registers: [registry],
  });
  const expiry = new Gauge({
    name: 'etcd_tls_guard_certificate_expiry_timestamp_seconds',
    help: 'Expiry (notAfter) of the serving certificate in use, as a Unix timestamp.',
    registers: [registry],
  });
  const auditFindings = new Gauge({
    name: 'etcd_tls_guard_audit_findings',
    help: 'Findings of the last periodic audit on running pods, by namespace, rule and status (fail, unknown, pass, not-applicable).',
    labelNames: ['namespace', 'rule', 'status'] as const,
    registers: [registry],
  });
  const auditRuns = new Counter({
    name: 'etcd_tls_guard_audit_runs_total',
    help: 'Periodic audit passes, by result (success, failure).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const auditLastSuccess = new Gauge({
    name: 'etcd_tls_guard_audit_last_success_timestamp_seconds',
    help: 'When the last periodic audit pass succeeded, as a Unix timestamp.',
    registers: [registry],
  });
  const syncs = new Counter({
    name: 'etcd_tls_guard_certificate_syncs_total',
    help: 'Managed certificates: passes over the Secret and the webhook configuration caBundle, by result (success, failure: an API error, retried with backoff).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const lastSync = new Gauge({
    name: 'etcd_tls_guard_certificate_last_sync_success_timestamp_seconds',
    help: 'Managed certificates: when the last pass succeeded, as a Unix timestamp.',
    registers: [registry],
  });
  const rotations = new Counter({
    name: 'etcd_tls_guard_certificate_rotations_total',
    help: 'Managed certificates: rotations written by this replica, by what was made (ca: a new CA staged; certificate: a new serving certificate).',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const caExpiry = new Gauge({
    name: 'etcd_tls_guard_ca_expiry_timestamp_seconds',
    help: 'Managed certificates: expiry (notAfter) of the CA that signs new serving certificates, as a Unix timestamp.',
    registers: [registry],
  });
  lastReloadOk.set({ config: 'certificate' }, 1);
  lastReloadOk.set({ config: 'policy' }, 1);

  return {
    registry,
    reviewed(e) {
      requests.inc({ operation: e.operation, decision: e.decision, dry_run: String(e.dryRun) });
      duration.observe({ operation: e.operation }, e.seconds);
      for (const r of e.results) for (const f of r.findings) findings.inc({ rule: f.rule, status: f.status, action: f.effectiveAction });
    },
    reloaded(config, ok) {
      reloads.inc({ config, result: ok ? 'success' : 'failure' });
      lastReloadOk.set({ config }, ok ? 1 : 0);
    },
    certificateExpiry(notAfter) {
      expiry.set(notAfter.getTime() / 1000);
    },
    synced(ok) {
      syncs.inc({ result: ok ? 'success' : 'failure' });
      if (ok) lastSync.set(Date.now() / 1000);
    },
    rotated(kind) {
      rotations.inc({ kind });
    },
    caExpiry(notAfter) {
      caExpiry.set(notAfter.getTime() / 1000);
    },
    audited(e) {
      auditRuns.inc({ result: e.ok ? 'success' : 'failure' });
      if (!e.ok) return;
      // The gauges describe the last pass only: a fixed pod's failure disappears.
      auditFindings.reset();
      for (const f of e.findings) auditFindings.inc({ namespace: f.namespace, rule: f.rule, status: f.status });
      auditLastSuccess.set(e.at.getTime() / 1000);
    },
  };
}
