import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { CertificateError, servingMaterial, type ServingMaterial } from '../certs/serving.js';
import { DEFAULT_POLICY, PolicyError, policyFromText, type Policy } from '../policy/policy.js';
import { createMetrics, NO_OBSERVER, type Observer } from './metrics.js';
import { startMetricsServer, type RunningMetricsServer } from '../metrics/server.js';
import { startServer, type RunningServer } from './serve.js';
import { MAX_REVIEW_BYTES } from './app.js';
import { ByteBudget, defaultBudgetBytes } from './body.js';
import { watchFiles, type FileWatch } from './watch.js';

export interface WebhookOptions {
  readonly host: string;
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
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

function materialFrom(contents: readonly Buffer[]): ServingMaterial {
  const [cert, key, ca] = contents.map((c) => c.toString('utf8'));
  return servingMaterial(cert ?? '', key ?? '', ca);
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
  const certPaths = [opts.certFile, opts.keyFile, ...(opts.clientCaFile !== undefined ? [opts.clientCaFile] : [])];
  const certContents = await readAll(certPaths, 'serving certificate');
  const material = materialFrom(certContents);

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
  observer.certificateExpiry(material.notAfter);

  let server: RunningServer | undefined;
  let metricsServer: RunningMetricsServer | undefined;
  const watches: FileWatch[] = [];
  try {
    server = await startServer({ host: opts.host, port: opts.port, material, policy: () => policy, logger, observer, budget });
    logger.debug({ budgetBytes: budget.budgetBytes }, 'review byte budget');
    if (metrics !== undefined && opts.metricsPort !== undefined) {
      metricsServer = await startMetricsServer({ host: opts.host, port: opts.metricsPort, registry: metrics.registry, logger });
    }
  } catch (err) {
    await server?.close(0);
    throw err;
  }
  const https = server;

  watches.push(
    watchFiles<ServingMaterial>(
      {
        paths: certPaths,
        load: materialFrom,
        apply: (m) => {
          https.useMaterial(m);
          observer.reloaded('certificate', true);
          observer.certificateExpiry(m.notAfter);
          logger.info(describeMaterial(m), 'serving certificate reloaded; new connections use it');
        },
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
