import { expect } from 'chai';
import { mkdtemp } from 'node:fs/promises';
import { request } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { generateCa, issueCertificate, type CertificatePair } from '../../src/certs/authority.js';
import type { RunningServer } from '../../src/webhook/serve.js';
import { atomicWrite } from '../kubelet-volume.js';
import { admissionReviewJson } from '../admission.js';
import { spawnWebhook, until } from '../processes.js';
import { startTestServer } from './server.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const REVIEW = admissionReviewJson(
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'etcd-x' },
    spec: { containers: [{ name: 'etcd', image: 'registry.k8s.io/etcd:3.5.15-0', command: ['etcd', '--auto-tls'] }] },
  },
  { uid: 'aa11bb22-0000-4000-8000-000000000000' },
);

/** `connected`: the TLS handshake had completed, so the request itself was sent (or being sent). */
type Outcome = { kind: 'answered'; status: number; allowed: boolean | undefined } | { kind: 'error'; code: string; connected: boolean };

/** One review over a new connection (a new handshake: the certificate in use is the one served). */
function validate(url: string, ca: string): Promise<Outcome> {
  return new Promise((resolve) => {
    let connected = false;
    const req = request(
      `${url}/validate`,
      { method: 'POST', ca, agent: false, servername: 'localhost', headers: { 'content-type': 'application/json' } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          let allowed: boolean | undefined;
          try {
            allowed = (JSON.parse(body) as { response: { allowed: boolean } }).response.allowed;
          } catch {
            allowed = undefined;
          }
          resolve({ kind: 'answered', status: res.statusCode ?? 0, allowed });
        });
        res.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'error', code: err.code ?? err.message, connected: true }));
      },
    );
    req.on('socket', (socket) => socket.once('secureConnect', () => (connected = true)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'error', code: err.code ?? err.message, connected }));
    req.end(REVIEW);
  });
}

describe('load with faults: certificate rotations, policy reloads and SIGTERM under a steady stream', function () {
  this.timeout(60_000);

  it('every request is answered cleanly; after the drain starts, new connections are refused, never cut', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etg-faults-'));
    const ca = generateCa();
    const pairs = [0, 1, 2].map(() => issueCertificate(ca, { sans: ['localhost', '127.0.0.1'] }));
    const install = (p: CertificatePair): Promise<void> => atomicWrite(join(dir, 'tls'), { 'tls.crt': p.certPem, 'tls.key': p.keyPem });
    await install(pairs[0] as CertificatePair);
    await atomicWrite(join(dir, 'config'), { 'policy.yaml': 'defaultAction: enforce\n' });
    const {
      child,
      url,
      log: output,
      exited,
    } = await spawnWebhook(process.execPath, [
      CLI,
      'serve',
      '--port',
      '0',
      '--metrics-port',
      '0',
      '--tls-cert-file',
      join(dir, 'tls', 'tls.crt'),
      '--tls-key-file',
      join(dir, 'tls', 'tls.key'),
      '--config',
      join(dir, 'config', 'policy.yaml'),
      '--reload-interval',
      '0.2',
      '--shutdown-delay',
      '0.5',
      '--drain-timeout',
      '5',
    ]);

    const outcomes: { at: number; outcome: Outcome }[] = [];
    let stop = false;
    // A steady stream: 4 clients, each request on a new connection, until the server is gone
    // (bounded: at most 40 s, well inside the test's timeout).
    const deadline = Date.now() + 40_000;
    const clients = [0, 1, 2, 3].map(async () => {
      while (!stop && Date.now() < deadline) {
        const started = Date.now();
        outcomes.push({ at: started, outcome: await validate(url, ca.certPem) });
      }
    });

    // Each fault waits for the event that shows it took effect, and for the stream to be served after
    // it (bounded by the test's timeout), never for a guessed time.
    const answeredSoFar = (): number => outcomes.filter((o) => o.outcome.kind === 'answered').length;
    const servedAfter = async (what: string, seen: () => boolean): Promise<void> => {
      await until(what, seen);
      const before = answeredSoFar();
      await until(`${what}: requests answered after it`, () => answeredSoFar() >= before + 8);
    };
    const reloads = (): number => (output().match(/serving certificate reloaded/g) ?? []).length;

    await until('requests answered with the first certificate', () => answeredSoFar() >= 8);
    await install(pairs[1] as CertificatePair);
    await servedAfter('the second certificate reloaded', () => reloads() === 1);
    await atomicWrite(join(dir, 'config'), { 'policy.yaml': 'defaultAction: warn\n' });
    await servedAfter('the warn policy reloaded', () => output().includes('"defaultAction":"warn","msg":"policy reloaded"'));
    await atomicWrite(join(dir, 'config'), { 'policy.yaml': 'defaultAction: [not, valid]\n' });
    await servedAfter('the invalid policy refused', () => output().includes('refused the changed policy'));
    await install(pairs[2] as CertificatePair);
    await servedAfter('the third certificate reloaded', () => reloads() === 2);
    child.kill('SIGTERM');
    const code = await exited;
    stop = true;
    await Promise.all(clients);
    // The webhook served on for --shutdown-delay, then logged when it stopped accepting: from then on,
    // new connections may be refused (the log line's own time, this machine's clock).
    const drainLine = output()
      .split('\n')
      .find((l) => l.includes('stopped accepting connections'));
    expect(drainLine, 'the drain is logged').to.be.a('string');
    const drainStartedAt = Date.parse((JSON.parse(drainLine as string) as { time: string }).time);

    expect(code).to.equal(0);
    const answered = outcomes.filter((o) => o.outcome.kind === 'answered');
    // Refused after the drain started: the connection was refused, or reset before its TLS handshake
    // completed (accepted by the kernel as the listening socket closed) — the request was never sent.
    // A request sent and then cut, or any error before the drain, is a failure.
    const refusedAfterDrain = (o: { at: number; outcome: Outcome }): boolean =>
      o.outcome.kind === 'error' &&
      !o.outcome.connected &&
      (o.outcome.code === 'ECONNREFUSED' || o.outcome.code === 'ECONNRESET') &&
      o.at >= drainStartedAt - 100;
    const failures = outcomes.filter((o) => o.outcome.kind === 'error' && !refusedAfterDrain(o));
    expect(
      failures.map((f) => ({ ...f.outcome, msAfterDrainStart: f.at - drainStartedAt })),
      'failed or dropped requests',
    ).to.deep.equal([]);
    expect(answered.length).to.be.greaterThan(40);
    for (const o of answered) {
      if (o.outcome.kind !== 'answered') continue;
      expect(o.outcome.status).to.equal(200);
      expect(o.outcome.allowed).to.be.a('boolean');
    }
    // The valid policy change applied (warn allows); the invalid one was refused and logged.
    expect(answered.some((o) => o.outcome.kind === 'answered' && o.outcome.allowed === true)).to.equal(true);
    expect(output()).to.contain('refused the changed policy');
    expect((output().match(/serving certificate reloaded/g) ?? []).length).to.equal(2);
  });
});

describe('slow and abusive clients', function () {
  this.timeout(30_000);
  let certs: { ca: CertificatePair; server: CertificatePair };
  let server: RunningServer;
  const port = (): number => Number(new URL(server.url).port);

  before(async () => {
    // The production timeouts (10 s headers, 30 s request, 10 s handshake, 120 s keep-alive)
    // scaled down so the test takes seconds; the mechanism is the same.
    ({ server, certs } = await startTestServer({
      timeouts: { handshakeMs: 800, headersMs: 800, requestMs: 1500, keepAliveMs: 800, checkIntervalMs: 100 },
    }));
  });
  after(async () => {
    await server.close(500);
  });

  /** How long after `since` the socket closed. `since` is taken before connecting: the server's clock for it starts later. */
  const closed = (socket: Socket, since: number): Promise<number> =>
    new Promise((resolve) => socket.once('close', () => resolve(Date.now() - since)));
  const tls = (): Promise<TLSSocket> =>
    new Promise((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: port(), ca: certs.ca.certPem, servername: 'localhost' }, () => resolve(s));
      s.on('error', reject);
    });

  it('slowloris sockets (silent TCP, dribbled headers, dribbled body, idle keep-alive) are closed on time while other clients are served', async () => {
    const since = Date.now();
    const silent = Array.from({ length: 10 }, () => netConnect({ host: '127.0.0.1', port: port() }));
    const dribbleHeaders = await Promise.all(Array.from({ length: 10 }, () => tls()));
    const dribbleBody = await Promise.all(Array.from({ length: 10 }, () => tls()));
    const idle = await Promise.all(Array.from({ length: 10 }, () => tls()));
    const closings = [...silent, ...dribbleHeaders, ...dribbleBody, ...idle].map((s) => {
      s.on('error', () => {});
      return closed(s, since);
    });
    // A request line and a header whose value never ends; a body that never completes; a finished
    // request whose connection then stays open, idle (its client reads the answer).
    for (const s of dribbleHeaders) s.write('POST /validate HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    for (const s of dribbleBody)
      s.write(`POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${REVIEW.length}\r\n\r\n`);
    for (const s of idle) {
      s.resume();
      s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    }
    const dribble = setInterval(() => {
      for (const s of dribbleHeaders) if (!s.destroyed) s.write('X');
      for (const s of dribbleBody) if (!s.destroyed) s.write('{');
    }, 100);

    // Meanwhile, a well-behaved client is answered, every time: the abusive sockets hold no worker.
    for (let i = 0; i < 20; i++) expect(await validate(server.url, certs.ca.certPem)).to.deep.include({ kind: 'answered', status: 200 });
    // Every abusive socket is closed by the server (this client never closes them; without the
    // deadlines they stay open and the test times out), and by the deadline meant for it: not before
    // it (the clock only runs late on a loaded machine, so a lower bound cannot flake).
    const times = await Promise.all(closings);
    clearInterval(dribble);
    const SLACK_MS = 50; // timer granularity
    expect(Math.min(...times.slice(0, 10)), 'silent TCP: closed by the handshake timeout').to.be.at.least(800 - SLACK_MS);
    expect(Math.min(...times.slice(10, 20)), 'dribbled headers: closed by the headers timeout').to.be.at.least(800 - SLACK_MS);
    expect(Math.min(...times.slice(20, 30)), 'dribbled body: closed by the request timeout, not the headers one').to.be.at.least(
      1500 - SLACK_MS,
    );
    expect(Math.min(...times.slice(30, 40)), 'idle keep-alive: closed by the keep-alive timeout').to.be.at.least(800 - SLACK_MS);
  });

  it('plain HTTP on the webhook port gets no HTTP answer, and the connection is closed', async () => {
    const s = netConnect({ host: '127.0.0.1', port: port() });
    let received = '';
    s.on('data', (d: Buffer) => (received += d.toString('latin1')));
    s.on('error', () => {});
    s.write(
      `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${REVIEW.length}\r\n\r\n${REVIEW}`,
    );
    await closed(s, Date.now());
    expect(received.startsWith('HTTP/')).to.equal(false);
  });
});
