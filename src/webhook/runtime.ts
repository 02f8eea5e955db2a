import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { CertificatePair } from '../certs/authority.js';
import type { ManagedCertificateEvents } from '../certs/managed.js';
import { CertificateError, servingMaterial, type ServingMaterial } from '../certs/serving.js';
import { DEFAULT_POLICY, PolicyError, policyFromText, type Policy } from '../policy/policy.js';
import { createMetrics, NO_OBSERVER, type Observer } from './metrics.js';
import { startMetricsServer, type RunningMetricsServer } from '../metrics/server.js';
import { startServer, type RunningServer } from './serve.js';
import { MAX_REVIEW_BYTES } from './app.js';
import { ByteBudget, defaultBudgetBytes } from './body.js';
import { watchFiles, type FileWatch } from './watch.js';

/**
 * Serving pairs from elsewhere than files: the managed certificates (certs/managed.ts), which also
 * say when no pair the API server trusts is served yet.
 */
export interface CertificateSource {
  start(serve: (pair: CertificatePair) => void, events: ManagedCertificateEvents): void;
  notReady(): string | undefined;
  stop(): void;
}

/** Where the serving certificate comes from: files (re-read when they change), or a source. */
export type ServingCertificates =
  | { readonly certFile: string; readonly keyFile: string }
  | {
      readonly source: CertificateSource;
      /** Served until the source gives a pair (probes work; /readyz says why not ready). */
      readonly placeholder: CertificatePair;
    };

export type WebhookOptions = WebhookCommonOptions & ServingCertificates;

interface WebhookCommonOptions {
  readonly host: string;
  readonly port: number;
  /** CA for the API server's client certificate; when set, /validate requires one. */
  readonly clientCaFile?: string;
  readonly configPath?: string;
  /** Undefined: no metrics server. */
  readonly metricsPort?: number;
  /** Poll period for changed certificate and policy files (directory events also trigger a read). */
  readonly reloadIntervalMs: number;
  /** After SIGTERM: fail /readyz but keep serving this long, so endpoints drop us before we stop. */
  readonly shutdownDelayMs: number;
  /** Then: stop accepting; requests in flight get at most this long. */
  readonly drainTimeoutMs: number;
  /**
   * Work that runs beside the server in the same process (the periodic audit, wired by the CLI),
   * started once the listeners are open, with the policy in force and the metrics; stopped at
   * shutdown. A start error closes the listeners and is thrown.
   */
  readonly companion?: Companion;
  readonly logger: Logger;
}

export type Companion = (ctx: { policy: () => Policy; observer: Observer; logger: Logger }) => { stop(): void } | Promise<{ stop(): void }>;

export interface Webhook {
  readonly url: string;
  readonly metricsUrl?: string;
  /** The policy in force. */
  policy(): Policy;
  /** Reads the watched files now (tests; the watchers do this by themselves). */
  recheck(): Promise<void>;
  /** Graceful stop: not ready → shutdown delay → stop accepting → drain → close. */
  shutdown(): Promise<void>;
}

async function readAll(paths: readonly string[], what: string): Promise<Buffer[]> {
  try {
    return await Promise.all(paths.map((p) => readFile(p)));
  } catch (err) {
    throw new CertificateError(`cannot read the ${what}: ${(err as Error).message}`);
  }
}

function describeMaterial(m: ServingMaterial): Record<string, string> {
  return { serialNumber: m.serialNumber, notAfter: m.notAfter.toISOString() };
}

/**
 * The webhook process without its CLI: HTTPS server, metrics server, certificate and policy
 * reloads. Start-up errors (unreadable or invalid certificate, invalid policy) throw; after start,
 * a bad file on disk is logged and counted and the configuration in force stays.
 */
export async function startWebhook(opts: WebhookOptions): Promise<Webhook> {
  const { logger } = opts;
  const source = 'source' in opts ? opts.source : undefined;
  // Files watched for the certificate: the pair and client CA, or (managed) the client CA alone.
  const certPaths = [
    ...('certFile' in opts ? [opts.certFile, opts.keyFile] : []),
    ...(opts.clientCaFile !== undefined ? [opts.clientCaFile] : []),
  ];
  const certContents = await readAll(certPaths, 'serving certificate');
  let pair: CertificatePair = 'certFile' in opts ? { certPem: '', keyPem: '' } : opts.placeholder;
  const materialFrom = (contents: readonly Buffer[]): ServingMaterial => {
    const texts = contents.map((c) => c.toString('utf8'));
    const [certPem, keyPem, clientCaPem] = source === undefined ? texts : [pair.certPem, pair.keyPem, texts[0]];
    return servingMaterial(certPem ?? '', keyPem ?? '', clientCaPem);
  };
  let material = materialFrom(certContents);

  let policy: Policy = DEFAULT_POLICY;
  let policyContents: Buffer[] = [];
  if (opts.configPath !== undefined) {
    try {
      policyContents = [await readFile(opts.configPath)];
    } catch (err) {
      throw new PolicyError(opts.configPath, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
    policy = policyFromText(policyContents[0]?.toString('utf8') ?? '', opts.configPath);
  }

  const budget = new ByteBudget(defaultBudgetBytes(MAX_REVIEW_BYTES));
  const metrics = opts.metricsPort !== undefined ? createMetrics({ budget: () => budget.stats() }) : undefined;
  const observer = metrics ?? NO_OBSERVER;
  if (source === undefined) observer.certificateExpiry(material.notAfter);

  let server: RunningServer | undefined;
  let metricsServer: RunningMetricsServer | undefined;
  const watches: FileWatch[] = [];
  try {
    server = await startServer({
      host: opts.host,
      port: opts.port,
      material,
      policy: () => policy,
      logger,
      observer,
      budget,
      ...(source !== undefined ? { notReady: () => source.notReady() } : {}),
    });
    logger.debug({ budgetBytes: budget.budgetBytes }, 'review byte budget');
    if (metrics !== undefined && opts.metricsPort !== undefined) {
      metricsServer = await startMetricsServer({ host: opts.host, port: opts.metricsPort, registry: metrics.registry, logger });
    }
  } catch (err) {
    await server?.close(0);
    throw err;
  }
  const https = server;
  const useMaterial = (m: ServingMaterial): void => {
    material = m;
    https.useMaterial(m);
    observer.reloaded('certificate', true);
    observer.certificateExpiry(m.notAfter);
    logger.info(describeMaterial(m), 'serving certificate reloaded; new connections use it');
  };

  source?.start((next) => {
    try {
      pair = next;
      useMaterial(servingMaterial(next.certPem, next.keyPem, material.clientCaPem));
    } catch (err) {
      observer.reloaded('certificate', false);
      logger.error({ reason: (err as Error).message }, 'refused the managed certificate; still serving the previous certificate');
    }
  }, observer);
  if (certPaths.length > 0)
    watches.push(
      watchFiles<ServingMaterial>(
        {
          paths: certPaths,
          load: materialFrom,
          apply: useMaterial,
          onError: (err) => {
            observer.reloaded('certificate', false);
            logger.error(
              { reason: err.message, files: certPaths },
              'refused the changed certificate files; still serving the previous certificate',
            );
          },
          pollMs: opts.reloadIntervalMs,
        },
        certContents,
      ),
    );
  if (source !== undefined) watches.push({ check: () => Promise.resolve(), close: () => source.stop() });
  if (opts.configPath !== undefined) {
    const configPath = opts.configPath;
    watches.push(
      watchFiles<Policy>(
        {
          paths: [configPath],
          load: ([text]) => policyFromText(text?.toString('utf8') ?? '', configPath),
          apply: (p) => {
            policy = p;
            observer.reloaded('policy', true);
            logger.info({ policyFile: configPath, defaultAction: p.defaultAction }, 'policy reloaded');
          },
          onError: (err) => {
            observer.reloaded('policy', false);
            logger.error({ policyFile: configPath, reason: err.message }, 'refused the changed policy; the previous policy stays in force');
          },
          pollMs: opts.reloadIntervalMs,
        },
        policyContents,
      ),
    );
  }

  let auditor: { stop: () => void } | undefined;
  try {
    auditor = opts.companion !== undefined ? await opts.companion({ policy: () => policy, observer, logger }) : undefined;
  } catch (err) {
    // A setup error after the listeners opened (an unreadable kubeconfig): close them, or the process
    // would keep serving after reporting that it cannot start.
    for (const w of watches) w.close();
    await https.close(0);
    await metricsServer?.close();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    url: https.url,
    ...(metricsServer !== undefined ? { metricsUrl: metricsServer.url } : {}),
    policy: () => policy,
    recheck: async () => {
      await Promise.all(watches.map((w) => w.check()));
    },
    shutdown: () =>
      (stopping ??= (async () => {
        https.markDraining();
        for (const w of watches) w.close();
        auditor?.stop();
        if (opts.shutdownDelayMs > 0) await new Promise((r) => setTimeout(r, opts.shutdownDelayMs));
        // The moment new connections are refused: operators correlate client errors with it.
        logger.info({ drainTimeoutMs: opts.drainTimeoutMs }, 'stopped accepting connections; finishing in-flight requests');
        await https.close(opts.drainTimeoutMs);
        await metricsServer?.close();
      })()),
  };
}
