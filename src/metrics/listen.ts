import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * Listens and resolves with `host:port` as bound (port 0 resolved). Host `*` leaves the address to
 * Node: `::` (every IPv6 and, dual-stack, IPv4 address) where IPv6 exists, else 0.0.0.0 — what a pod
 * needs in IPv4, IPv6 and dual-stack clusters alike.
 */
export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (host === '*') server.listen(port, done);
    else server.listen(port, host, done);
  });
  const address = server.address() as AddressInfo;
  return `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}
