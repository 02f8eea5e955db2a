import { createServer, type Server } from 'node:https';
import type { Logger } from 'pino';
import { listen } from '../metrics/listen.js';
import { secureContextOptions, type ServingMaterial } from '../certs/serving.js';
import type { Policy } from '../policy/policy.js';
import { createApp } from './app.js';
import type { ByteBudget } from './body.js';
import type { Observer } from './metrics.js';

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly material: ServingMaterial;
  readonly policy: () => Policy;
  readonly logger: Logger;
  readonly observer?: Observer;
  /** Overrides of the timeouts below (tests shorten them). */
  readonly timeouts?: Partial<Timeouts>;
  /** Bounds the review bytes held at once (body.ts); one sized from the heap when absent. */
  readonly budget?: ByteBudget;
  /** Why reviews must not come here yet (no trusted certificate), answered on /readyz; undefined: ready. */
  readonly notReady?: () => string | undefined;
}

export interface Timeouts {
  readonly handshakeMs: number;
  readonly headersMs: number;
  readonly requestMs: number;
  readonly keepAliveMs: number;
  /** How often Node checks connections against headersMs and requestMs. */
  readonly checkIntervalMs: number;
  /** A review's body, once the byte budget admits it, must arrive within this long (body.ts). */
  readonly bodyMs: number;
}

export interface RunningServer {
  readonly server: Server;
  /** `https://host:port` as bound (port 0 resolved). */
  readonly url: string;
  /** Serves new connections with this certificate (and client CA); open connections keep theirs. */
  useMaterial(material: ServingMaterial): void;
  /** Fails /readyz from now on, so the Service stops sending new connections; requests are still served. */
  markDraining(): void;
  /** Stops accepting, lets in-flight requests finish (at most `graceMs`), then resolves. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Timeouts, chosen deliberately:
 * - headers must arrive within 10 s and a whole request within 30 s (the API server gives a
 *   webhook at most 30 s, so a slower request is already lost; this also bounds slow clients);
 * - idle keep-alive connections are kept 120 s, longer than Go's http.Transport idle timeout
 *   (90 s) used by the API server, so the client always closes first and never sends a review
 *   into a socket the server is closing (a POST is not retried: the webhook call would fail).
 */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;
/**
 * - a TCP connection must finish its TLS handshake within 10 s (Node's default is 120 s: a client
 *   that connects and says nothing would hold a socket for two minutes);
 * - Node enforces headersTimeout and requestTimeout only when it checks its connections, every
 *   30 s by default; every second here, so a slow client is cut within a second of its deadline.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
export const CONNECTIONS_CHECK_INTERVAL_MS = 1_000;
/** A review's body within 10 s of being admitted to the byte budget, as its headers within 10 s. */
export const BODY_TIMEOUT_MS = 10_000;

const DEFAULT_TIMEOUTS: Timeouts = {
  handshakeMs: HANDSHAKE_TIMEOUT_MS,
  headersMs: HEADERS_TIMEOUT_MS,
  requestMs: REQUEST_TIMEOUT_MS,
  keepAliveMs: KEEP_ALIVE_TIMEOUT_MS,
  checkIntervalMs: CONNECTIONS_CHECK_INTERVAL_MS,
  bodyMs: BODY_TIMEOUT_MS,
};

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  let draining = false;
  // Whether client certificates are asked for is fixed at start (a TLS server option); the CA they
  // are checked against is part of the secure context and reloads with the serving pair.
  const requireClientCertificate = opts.material.clientCaPem !== undefined;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const app = createApp({
    policy: opts.policy,
    logger: opts.logger,
    notReady: () => (draining ? 'shutting down' : opts.notReady?.()),
    draining: () => draining,
    requireClientCertificate,
    ...(opts.observer !== undefined ? { observer: opts.observer } : {}),
    ...(opts.budget !== undefined ? { budget: opts.budget } : {}),
    bodyTimeoutMs: timeouts.bodyMs,
  });
  const server = createServer(
    {
      ...secureContextOptions(opts.material),
      handshakeTimeout: timeouts.handshakeMs,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
      // Ask, verify, but do not drop the handshake: the kubelet's probes present no certificate;
      // /validate refuses unauthenticated requests itself (app.ts).
      ...(requireClientCertificate ? { requestCert: true, rejectUnauthorized: false } : {}),
    },
    app,
  );
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = timeouts.requestMs;
  server.keepAliveTimeout = timeouts.keepAliveMs;

  const bound = await listen(server, opts.port, opts.host);
  return {
    server,
    url: `https://${bound}`,
    useMaterial: (material) => server.setSecureContext(secureContextOptions(material)),
    markDraining: () => {
      draining = true;
    },
    close: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        draining = true;
        const timer = setTimeout(() => {
          server.closeAllConnections();
        }, graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        // Idle keep-alive connections would hold close() open; a busy one is closed after its
        // response (Node sends `Connection: close` once the server is closing).
        server.closeIdleConnections();
      }),
  };
}
