/**
 * The one metrics and probe endpoint (src/metrics/server.ts) of the webhook and the node agent: a
 * real server on an ephemeral port.
 */
import { expect } from 'chai';
import { Gauge, Registry } from 'prom-client';
import { silentLogger } from '../../src/log.js';
import { startMetricsServer } from '../../src/metrics/server.js';
import { httpGet } from '../processes.js';

describe('the metrics and probe server (webhook and node agent)', () => {
  it('serves GET /metrics from the registry and GET /healthz, 404 elsewhere', async () => {
    const registry = new Registry();
    new Gauge({ name: 'etcd_tls_guard_test_gauge', help: 'A gauge.', registers: [registry] }).set(3);
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry, logger: silentLogger });
    try {
      const metrics = await httpGet(server.url);
      expect(metrics.status).to.equal(200);
      expect(metrics.body).to.contain('etcd_tls_guard_test_gauge 3');
      expect(await httpGet(server.url.replace('/metrics', '/healthz'))).to.deep.equal({ status: 200, body: 'ok\n' });
      expect((await httpGet(server.url.replace('/metrics', '/other'))).status).to.equal(404);
    } finally {
      await server.close();
    }
  });

  it('a registry that cannot be collected answers 500 at once: a scrape never hangs (the node agent’s own server used to)', async () => {
    const registry = new Registry();
    new Gauge({
      name: 'etcd_tls_guard_broken_gauge',
      help: 'A gauge whose collection fails.',
      registers: [registry],
      collect() {
        throw new Error('collection failed');
      },
    });
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry, logger: silentLogger });
    try {
      const reply = await httpGet(server.url);
      expect(reply).to.deep.equal({ status: 500, body: 'cannot collect metrics\n' });
    } finally {
      await server.close();
    }
  });
});
