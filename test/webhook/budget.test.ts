/**
 * The bytes of reviews held at once are bounded (src/webhook/body.ts): requests beyond the budget
 * wait, unread, in arrival order, and all are answered. A test that fails if the bound is removed.
 */
import { expect } from 'chai';
import type { DevCertificates } from '../../src/certs/dev.js';
import { MAX_REVIEW_BYTES } from '../../src/webhook/app.js';
import { ByteBudget } from '../../src/webhook/body.js';
import type { RunningServer } from '../../src/webhook/serve.js';
import { connect as tlsConnect } from 'node:tls';
import { admissionReviewJson, postReview } from '../admission.js';
import { until } from '../processes.js';
import { etcdPod, KUBEADM_ETCD_FLAGS } from '../helpers.js';
import { startTestServer } from './server.js';

const MiB = 1024 * 1024;

describe('review byte budget', () => {
  describe('ByteBudget', () => {
    it('admits what fits at once, queues the rest in arrival order, and admits them as bytes are released', () => {
      const budget = new ByteBudget(10);
      const started: string[] = [];
      const releaseA = budget.acquire(6, () => started.push('a'));
      const releaseB = budget.acquire(6, () => started.push('b'));
      budget.acquire(2, () => started.push('c')); // fits, but waits behind b: arrival order
      expect(started).to.deep.equal(['a']);
      expect(budget.stats()).to.deep.include({ inFlightBytes: 6, queued: 2, queuedTotal: 2 });
      releaseA();
      expect(started).to.deep.equal(['a', 'b', 'c']);
      expect(budget.stats()).to.deep.include({ inFlightBytes: 8, peakInFlightBytes: 8, queued: 0 });
      releaseB();
      releaseB(); // released once only
      expect(budget.stats().inFlightBytes).to.equal(2);
    });

    it('a request larger than the budget runs alone rather than never', () => {
      const budget = new ByteBudget(4);
      const started: number[] = [];
      const release = budget.acquire(3, () => started.push(3));
      budget.acquire(9, () => started.push(9));
      expect(started).to.deep.equal([3]);
      release();
      expect(started).to.deep.equal([3, 9]);
    });

    it('a waiting request whose connection closes leaves the queue without being charged', () => {
      const budget = new ByteBudget(4);
      const started: string[] = [];
      const releaseA = budget.acquire(4, () => started.push('a'));
      const releaseB = budget.acquire(4, () => started.push('b'));
      budget.acquire(4, () => started.push('c'));
      releaseB();
      releaseA();
      expect(started).to.deep.equal(['a', 'c']);
      expect(budget.stats()).to.deep.include({ inFlightBytes: 4, queued: 0 });
    });
  });

  describe('over HTTPS', function () {
    this.timeout(60_000);
    let certs: DevCertificates;
    let server: RunningServer;
    const budget = new ByteBudget(8 * MiB);

    before(async () => {
      ({ server, certs } = await startTestServer({ budget }));
    });
    after(async () => {
      await server.close(1000);
    });

    it('six concurrent 3 MiB reviews against an 8 MiB budget: all answered, never more than 8 MiB held, some waited', async () => {
      // An etcd pod with a large environment, as the API server would send it.
      const pod = etcdPod(KUBEADM_ETCD_FLAGS, {
        env: Array.from({ length: 3000 }, (_, i) => ({ name: `APP_${i}`, value: 'v'.repeat(1000) })),
      });
      const body = admissionReviewJson(pod);
      expect(body.length).to.be.within(2.5 * MiB, 3.5 * MiB);
      const replies = await Promise.all(Array.from({ length: 6 }, () => postReview(server.url, body, { ca: certs.ca.certPem })));
      for (const r of replies) {
        expect(r.status).to.equal(200);
        expect((JSON.parse(r.body) as { response: { allowed: boolean } }).response.allowed).to.equal(true);
      }
      const stats = budget.stats();
      expect(stats.peakInFlightBytes, 'peak bytes held').to.be.at.most(8 * MiB);
      expect(stats.peakInFlightBytes, 'more than one review at a time fits').to.be.at.least(2 * body.length);
      expect(stats.queuedTotal, 'reviews that waited').to.be.at.least(1);
      expect(stats.inFlightBytes, 'all released').to.equal(0);
    });

    it('a compressed body is refused with 415 (the API server sends reviews uncompressed)', async () => {
      const r = await postReview(server.url, 'x', { ca: certs.ca.certPem, headers: { 'content-encoding': 'gzip' } });
      expect(r.status).to.equal(415);
      expect(r.body).to.contain('Content-Encoding');
    });

    it('a Content-Length over the limit is refused with 413 before reading', async () => {
      const r = await postReview(server.url, 'x', { ca: certs.ca.certPem, headers: { 'content-length': String(MAX_REVIEW_BYTES + 1) } });
      expect(r.status).to.equal(413);
    });
  });

  describe('a client that declares a body and withholds it', function () {
    this.timeout(30_000);
    let certs: DevCertificates;
    let server: RunningServer;
    const budget = new ByteBudget(1 * MiB);

    before(async () => {
      ({ server, certs } = await startTestServer({ budget, timeouts: { bodyMs: 300 } }));
    });
    after(async () => {
      await server.close(1000);
    });

    it('holds the budget only until its body deadline (408), then the review queued behind it is answered', async () => {
      const { port } = new URL(server.url);
      const stalled = tlsConnect({ host: '127.0.0.1', port: Number(port), servername: 'localhost', ca: certs.ca.certPem });
      let answer = '';
      stalled.on('data', (d: Buffer) => (answer += d.toString('latin1')));
      stalled.on('error', () => {});
      const closed = new Promise<void>((resolve) => stalled.once('close', () => resolve()));
      await new Promise<void>((resolve) => stalled.once('secureConnect', () => resolve()));
      stalled.write(
        `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${MiB}\r\n\r\n{"apiVersion"`,
      );
      await until('the stalled request holds the whole budget', () => budget.stats().inFlightBytes === MiB);
      // Behind it, a normal review waits for the budget, and is answered once the deadline frees it.
      const reply = await postReview(server.url, admissionReviewJson(etcdPod(KUBEADM_ETCD_FLAGS)), { ca: certs.ca.certPem });
      expect(reply.status).to.equal(200);
      expect(budget.stats().queuedTotal).to.be.at.least(1);
      await closed;
      expect(answer).to.match(/^HTTP\/1\.1 408 /);
      expect(answer).to.contain('request body not received within 300 ms');
    });
  });
});
