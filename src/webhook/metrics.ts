import type { BudgetStats } from './body.js';
import type { VerdictCacheStats } from '../judgement/verdict-cache.js';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { Logger } from 'pino';
import { listen } from './listen.js';
import type { Verdict } from '../judgement/judge.js';
import type { Action } from '../policy/policy.js';

/** What the HTTP edge reports about one admission request; the metrics and nothing else consume it. */
export interface ReviewEvent {
  /** CREATE, UPDATE, ... or `unknown` for a request that could not be decoded. */
  readonly operation: string;
  readonly decision: 'allowed' | 'denied' | 'error';
  readonly dryRun: boolean;
  readonly seconds: number;
  /** The verdict's results, as judged (empty when no pod was judged): counted, never kept. */
  readonly results: readonly { readonly findings: readonly { readonly rule: string; readonly status: string; readonly effectiveAction: string }[] }[];
}

export type ReloadedConfig = 'certificate' | 'policy';

/** One periodic audit pass: its findings on running pods, or why it failed. */
export type AuditEvent =
  | { readonly ok: true; readonly at: Date; readonly findings: readonly { readonly namespace: string; readonly rule: string; readonly status: string }[] }
  | { readonly ok: false; readonly at: Date };

/** The instruments the server reports to. A no-op implementation serves tests and the CLI without metrics. */
export interface Observer {
  reviewed(event: ReviewEvent): void;
  reloaded(config: ReloadedConfig, ok: boolean): void;
  certificateExpiry(notAfter: Date): void;
  audited(event: AuditEvent): void;
}

export const NO_OBSERVER: Observer = { reviewed: () => {}, reloaded: () => {}, certificateExpiry: () => {}, audited: () => {} };

export interface Metrics extends Observer {
  readonly registry: Registry;
}

/** Array.prototype.indexOf as a loop TurboFan inlines: four constant strings, compared by reference first. */
function indexIn(values: readonly string[], value: string): number {
  for (let i = 0; i < values.length; i++) if (values[i] === value) return i;
  return -1;
}

/**
 * Counts by three label values, published to a prom-client Counter when scraped. A review increments
 * about ten series, and prom-client validates and hashes a labels object on every inc (its labels()
 * children too): 5 % of the webhook's CPU under load, measured with --cpu-prof. Here the first label
 * (a rule id, an operation) finds a row in a Map, and the other two, each from a small fixed set
 * (statuses and actions, decisions and dry run), index a cell of that row: one Map look-up an
 * increment, where nested Maps took three and a Map.set (callgrind, 3,000 reviews of a kubeadm etcd
 * pod: ~2,400 instructions a review in Map built-ins, ~0.5 % of the review's whole cost). A value
 * outside its set (none is sent today) is still counted, in a Map of its own.
 */
class Tally<L extends string> {
  readonly #rows = new Map<string, Float64Array>();
  readonly #others = new Map<string, { first: string; second: string; third: string; count: number }>();

  constructor(
    readonly labelNames: readonly [L, L, L],
    readonly secondValues: readonly string[],
    readonly thirdValues: readonly string[],
  ) {}

  /** One more of these three label values, in labelNames' order. */
  add(first: string, second: string, third: string): void {
    const s = indexIn(this.secondValues, second);
    const t = indexIn(this.thirdValues, third);
    if (s === -1 || t === -1) {
      const key = JSON.stringify([first, second, third]);
      const other = this.#others.get(key);
      if (other === undefined) this.#others.set(key, { first, second, third, count: 1 });
      else other.count++;
      return;
    }
    let row = this.#rows.get(first);
    if (row === undefined) this.#rows.set(first, (row = new Float64Array(this.secondValues.length * this.thirdValues.length)));
    (row[s * this.thirdValues.length + t] as number)++;
  }

  publish(counter: Counter<L>): void {
    counter.reset();
    const [a, b, c] = this.labelNames;
    const inc = (first: string, second: string, third: string, count: number): void => counter.inc({ [a]: first, [b]: second, [c]: third } as Record<L, string>, count);
    for (const [first, row] of this.#rows) {
      for (let s = 0; s < this.secondValues.length; s++) {
        for (let t = 0; t < this.thirdValues.length; t++) {
          const count = row[s * this.thirdValues.length + t] as number;
          if (count > 0) inc(first, this.secondValues[s] as string, this.thirdValues[t] as string, count);
        }
      }
    }
    for (const o of this.#others.values()) inc(o.first, o.second, o.third, o.count);
  }
}

/** Every value of each tallied label that is not a rule id or an operation; complete by type (satisfies). */
const DECISIONS = Object.keys({ allowed: 0, denied: 0, error: 0 } satisfies Record<ReviewEvent['decision'], 0>);
const STATUSES = Object.keys({ pass: 0, fail: 0, 'not-applicable': 0, unknown: 0 } satisfies Record<Verdict['results'][number]['findings'][number]['status'], 0>);
const ACTIONS = Object.keys({ enforce: 0, warn: 0, audit: 0, off: 0 } satisfies Record<Action, 0>);

/** One sample as prom-client's registry formats it (index.d.ts, MetricValueWithName). */
interface Sample {
  readonly metricName: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/**
 * A histogram by one label (the operation), counted in a typed array per label value. prom-client's
 * Histogram.observe builds a closure, validates and hashes a labels object, and finds the bucket
 * through property names made from the bounds (numbers to strings): 0.25 µs a review hot, ~1.6 µs
 * sampled with --cpu-prof in the server under load, where this costs a Map look-up and a loop.
 * prom-client's registry reads a metric through get() alone when it formats (lib/registry.js,
 * getMetricsAsString), so this one registers beside its own metrics and is exposed as theirs are:
 * cumulative `_bucket{le}` series ending with `+Inf`, then `_sum` and `_count`.
 */
class LabelledHistogram {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  /** Per label value: observations in each bucket (not cumulative), then the sum and the count. */
  readonly #byValue = new Map<string, Float64Array>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelName: string,
    readonly bounds: readonly number[],
  ) {}

  observe(labelValue: string, value: number): void {
    const bounds = this.bounds;
    let counts = this.#byValue.get(labelValue);
    if (counts === undefined) this.#byValue.set(labelValue, (counts = new Float64Array(bounds.length + 2)));
    let bucket = 0;
    while (bucket < bounds.length && value > (bounds[bucket] as number)) bucket++;
    if (bucket < bounds.length) (counts[bucket] as number)++;
    (counts[bounds.length] as number) += value;
    (counts[bounds.length + 1] as number)++;
  }

  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Sample[] }> {
    const values: Sample[] = [];
    const n = this.bounds.length;
    for (const [labelValue, counts] of this.#byValue) {
      let cumulative = 0;
      for (let i = 0; i < n; i++) {
        cumulative += counts[i] as number;
        values.push({ metricName: `${this.name}_bucket`, labels: { le: this.bounds[i] as number, [this.labelName]: labelValue }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', [this.labelName]: labelValue }, value: counts[n + 1] as number });
      values.push({ metricName: `${this.name}_sum`, labels: { [this.labelName]: labelValue }, value: counts[n] as number });
      values.push({ metricName: `${this.name}_count`, labels: { [this.labelName]: labelValue }, value: counts[n + 1] as number });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    this.#byValue.clear();
  }
}

/**
 * prom-client's default Node.js metrics (collectDefaultMetrics.metricsList) that are read when
 * scraped and cost nothing in between: process CPU, memory, file descriptors, start time, heap,
 * handles, requests, resources, version (process_*, nodejs_*).
 */
export const SCRAPED_DEFAULT_METRICS = [
  'processCpuTotal',
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'processResources',
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
] as const;

/**
 * The two that run all the time, left out: `gc` (a PerformanceObserver called back for every
 * collection, nodejs_gc_duration_seconds) and `eventLoopLag`'s delay histogram (monitorEventLoopDelay,
 * nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds). Measured at full load, the
 * webhook with and without them, both up and warm, 30 pairs of 1 s windows in turn (the bench's
 * pairing): prom-client's default set cost 5–6 % of the webhook's throughput (medians 1.053–1.061 ×
 * without it, quartiles 1.03–1.10); without only these two, the webhook was within 2 % of without
 * the whole set. nodejs_eventloop_lag_seconds, the lag measured at each scrape, stays (below).
 */
export const LEFT_OUT_DEFAULT_METRICS = ['eventLoopLag', 'gc'] as const;

/**
 * Registers SCRAPED_DEFAULT_METRICS from prom-client's own modules (the files collectDefaultMetrics
 * calls, one per metric, in lib/metrics/: same names, help and values), and the event loop's lag
 * at scrape time: how long a setImmediate callback waits, as prom-client's eventLoopLag measures it.
 */
function registerProcessMetrics(registry: Registry): void {
  const require = createRequire(import.meta.url);
  for (const name of SCRAPED_DEFAULT_METRICS) (require(`prom-client/lib/metrics/${name}.js`) as (registry: Registry, config: object) => void)(registry, {});
  new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds.',
    registers: [registry],
    async collect() {
      const start = performance.now();
      await new Promise((resolve) => setImmediate(resolve));
      this.set((performance.now() - start) / 1000);
    },
  });
}

/**
 * Prometheus metrics, prefixed etcd_tls_guard_. Labels take values from small fixed sets (operation,
 * decision, rule id, status, action), never from pod names or namespaces, so cardinality is bounded.
 */
export function createMetrics(sources: { readonly budget?: () => BudgetStats; readonly verdictCache?: () => VerdictCacheStats } = {}): Metrics {
  const { budget, verdictCache } = sources;
  const registry = new Registry();
  if (verdictCache !== undefined) {
    new Counter({
      name: 'etcd_tls_guard_verdict_cache_requests_total',
      help: 'Pods judged, by whether the verdict came from the cache (hit), was judged and kept (miss), or was judged without being kept (uncacheable: too large).',
      labelNames: ['result'] as const,
      registers: [registry],
      collect() {
        const s = verdictCache();
        this.reset();
        this.inc({ result: 'hit' }, s.hits);
        this.inc({ result: 'miss' }, s.misses);
        this.inc({ result: 'uncacheable' }, s.uncacheable);
      },
    });
    new Gauge({
      name: 'etcd_tls_guard_verdict_cache_entries',
      help: 'Verdicts kept in the cache now.',
      registers: [registry],
      collect() {
        this.set(verdictCache().entries);
      },
    });
  }
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
  registerProcessMetrics(registry);
  const requestTally = new Tally(['operation', 'decision', 'dry_run'] as const, DECISIONS, ['false', 'true']);
  new Counter({
    name: 'etcd_tls_guard_admission_requests_total',
    help: 'Admission requests answered, by operation, decision (allowed, denied, error) and dry run.',
    labelNames: ['operation', 'decision', 'dry_run'] as const,
    registers: [registry],
    collect() {
      requestTally.publish(this);
    },
  });
  const duration = new LabelledHistogram(
    'etcd_tls_guard_admission_request_duration_seconds',
    'Time from a complete request body to the response, by operation.',
    'operation',
    // The API server's timeout for this webhook is seconds; evaluation takes well under a millisecond.
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  );
  // The registry's type names prom-client's own classes; it reads any metric through get() (above).
  registry.registerMetric(duration as unknown as Metric);
  const findingTally = new Tally(['rule', 'status', 'action'] as const, STATUSES, ACTIONS);
  new Counter({
    name: 'etcd_tls_guard_findings_total',
    help: 'Rule findings on evaluated pods, by rule, status (pass, fail, unknown, not-applicable) and the action taken.',
    labelNames: ['rule', 'status', 'action'] as const,
    registers: [registry],
    collect() {
      findingTally.publish(this);
    },
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
  lastReloadOk.set({ config: 'certificate' }, 1);
  lastReloadOk.set({ config: 'policy' }, 1);

  return {
    registry,
    reviewed(e) {
      requestTally.add(e.operation, e.decision, e.dryRun ? 'true' : 'false');
      duration.observe(e.operation, e.seconds);
      // Counted now, not remembered: a verdict judged for this review holds its pod (remediations
      // are computed from it when read). Keeping up to 16 results lists past their reviews, to count
      // a recurring one once, kept their pods alive: the bench's burst of 32 × 5.9 MiB reviews
      // peaked at 218–224 MiB RSS instead of 159–171 (three runs each).
      for (const r of e.results) for (const f of r.findings) findingTally.add(f.rule, f.status, f.effectiveAction);
    },
    reloaded(config, ok) {
      reloads.inc({ config, result: ok ? 'success' : 'failure' });
      lastReloadOk.set({ config }, ok ? 1 : 0);
    },
    certificateExpiry(notAfter) {
      expiry.set(notAfter.getTime() / 1000);
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

export interface RunningMetricsServer {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Plain HTTP on its own port: Prometheus scrapes it without the webhook's certificate, and a scrape
 * never competes with the API server's connections on the webhook port.
 */
export async function startMetricsServer(opts: { host: string; port: number; registry: Registry; logger: Logger }): Promise<RunningMetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are on GET /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET\n');
      return;
    }
    opts.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        opts.logger.error({ err }, 'cannot collect metrics');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('cannot collect metrics\n');
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const bound = await listen(server, opts.port, opts.host);
  return {
    server,
    url: `http://${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
