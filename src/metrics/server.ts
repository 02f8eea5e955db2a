/**
 * The one metrics and probe endpoint of every long-running process (the webhook, the node agent):
 * plain HTTP on its own port, GET /metrics from a prom-client registry and GET /healthz.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { listen } from './listen.js';

export interface RunningMetricsServer {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Plain HTTP on its own port: Prometheus scrapes it without the webhook's certificate, and a scrape
 * never competes with the API server's connections on the webhook port. A registry that cannot be
 * collected answers 500 and is logged: a scrape never hangs. Host `*`: every address (listen.ts).
 */
export async function startMetricsServer(opts: {
  host: string;
  port: number;
  registry: Registry;
  logger: Logger;
}): Promise<RunningMetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(req.method === 'HEAD' ? undefined : 'ok\n');
      return;
    }
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
