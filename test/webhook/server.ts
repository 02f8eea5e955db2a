/**
 * The webhook's HTTPS server in this process, as the tests run it: loopback, an ephemeral port,
 * development certificates made for the run, the default policy, no log output. `options` replace
 * any of that (a policy, an observer, a byte budget, shorter timeouts…).
 */
import { generateDevCertificates, type DevCertificates } from '../../src/certs/dev.js';
import { servingMaterial } from '../../src/certs/serving.js';
import { silentLogger } from '../../src/log.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { startServer, type RunningServer, type ServeOptions } from '../../src/webhook/serve.js';

export interface TestServer {
  readonly server: RunningServer;
  /** The CA a client trusts (`certs.ca.certPem`) and the serving pair, for localhost and 127.0.0.1. */
  readonly certs: DevCertificates;
}

export async function startTestServer(options: Partial<ServeOptions> = {}): Promise<TestServer> {
  const certs = generateDevCertificates(['localhost', '127.0.0.1']);
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    material: servingMaterial(certs.server.certPem, certs.server.keyPem),
    policy: () => DEFAULT_POLICY,
    logger: silentLogger,
    ...options,
  });
  return { server, certs };
}
