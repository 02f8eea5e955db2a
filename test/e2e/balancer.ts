/**
 * What a Service does for the webhook's replicas, for the end-to-end tests that run them as local
 * processes: a TCP address that spreads new connections over the backends whose /readyz answers 200
 * (as the endpoints controller and kube-proxy do with a readiness probe), and leaves established
 * connections where they are (as conntrack does). A backend that fails /readyz gets no new
 * connections; one that exits drops its own.
 */
import { request } from 'node:https';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { listen } from '../../src/metrics/listen.js';

export interface Balancer {
  /** https://127.0.0.1:PORT — what the webhook configuration calls. */
  readonly url: string;
  add(backendUrl: string): void;
  remove(backendUrl: string): void;
  /** The backends ready now. */
  ready(): string[];
  close(): Promise<void>;
}

function readyz(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    // The kubelet's probe: HTTPS without verifying the certificate.
    const req = request(`${url}/readyz`, { rejectUnauthorized: false, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startBalancer(probeEveryMs = 200): Promise<Balancer> {
  const backends = new Map<string, boolean>();
  let next = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const ready = [...backends].filter(([, r]) => r).map(([u]) => u);
    const target = ready[next++ % Math.max(1, ready.length)];
    if (target === undefined) {
      client.destroy();
      return;
    }
    const { hostname, port } = new URL(target);
    const upstream = connect(Number(port), hostname);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
  });
  const bound = await listen(server, 0, '127.0.0.1');
  let closed = false;
  const probe = async (): Promise<void> => {
    while (!closed) {
      await Promise.all(
        [...backends.keys()].map(async (u) => {
          const ok = await readyz(u);
          // Removed meanwhile: stays removed.
          if (backends.has(u)) backends.set(u, ok);
        }),
      );
      await new Promise((r) => setTimeout(r, probeEveryMs));
    }
  };
  const probing = probe();
  return {
    url: `https://${bound}`,
    add: (u) => void backends.set(u, false),
    remove: (u) => void backends.delete(u),
    ready: () => [...backends].filter(([, r]) => r).map(([u]) => u),
    close: async () => {
      closed = true;
      await probing;
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
