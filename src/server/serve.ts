import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { CertificatePair } from '../certs/dev.js';
import type { Policy } from '../policy/policy.js';
import { createApp } from './app.js';

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly certificate: CertificatePair;
  readonly policy: () => Policy;
  readonly logger: Logger;
}

export interface RunningServer {
  readonly server: Server;
  /** `https://host:port` as bound (port 0 resolved). */
  readonly url: string;
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

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const app = createApp({ policy: opts.policy, logger: opts.logger, ready: () => true });
  const server = createServer(
    {
      cert: opts.certificate.certPem,
      key: opts.certificate.keyPem,
      // The API server speaks TLS 1.2+; older versions have no place on a control plane.
      minVersion: 'TLSv1.2',
    },
    app,
  );
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `https://${host}:${address.port}`,
    close: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
        }, graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
