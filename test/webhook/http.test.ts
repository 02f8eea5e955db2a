import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import { X509Certificate } from 'node:crypto';
import { connect as tlsConnect, type SecureVersion } from 'node:tls';
import type { DevCertificates } from '../../src/certs/dev.js';
import { silentLogger } from '../../src/log.js';
import { judgePod } from '../../src/judgement/judge.js';
import { policyFromObject, type Policy } from '../../src/policy/policy.js';
import { MAX_REVIEW_BYTES } from '../../src/webhook/app.js';
import { NO_OBSERVER } from '../../src/webhook/metrics.js';
import type { RunningServer } from '../../src/webhook/serve.js';
import { admissionReviewJson, httpsRequest, REVIEW_UID } from '../admission.js';
import { loadFixture } from '../helpers.js';
import { startTestServer } from './server.js';

interface Reply {
  status: number;
  contentType: string | undefined;
  body: string;
  json: () => { apiVersion: string; kind: string; response: Record<string, unknown> };
}

let certs: DevCertificates;

function send(
  server: RunningServer,
  opts: { method?: string; path?: string; body?: string | Buffer; contentType?: string | null },
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (opts.contentType !== null) headers['content-type'] = opts.contentType ?? 'application/json';
  if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
  // A client that trusts only the dev CA: the server must present a certificate it signed.
  return httpsRequest(new URL(opts.path ?? '/validate', server.url).href, {
    method: opts.method ?? 'POST',
    ca: certs.ca.certPem,
    headers,
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  }).then((r) => ({
    status: r.status,
    contentType: r.headers['content-type'] as string | undefined,
    body: r.body,
    json: () => JSON.parse(r.body) as ReturnType<Reply['json']>,
  }));
}

const review = admissionReviewJson;
const UID = REVIEW_UID;

describe('webhook over HTTPS', () => {
  let policy: Policy = policyFromObject({});
  let server: RunningServer;

  before(async () => {
    ({ server, certs } = await startTestServer({ policy: () => policy }));
  });
  after(async () => {
    await server.close(1000);
  });
  beforeEach(() => {
    policy = policyFromObject({});
  });

  it('serves a certificate signed by the dev CA', async () => {
    const res = await send(server, { method: 'GET', path: '/healthz' });
    expect(res.status).to.equal(200);
    expect(new X509Certificate(certs.server.certPem).checkIssued(new X509Certificate(certs.ca.certPem))).to.equal(true);
  });

  /** The protocol a client limited to [min, max] ends up with, or the handshake error. */
  function handshake(minVersion: SecureVersion, maxVersion: SecureVersion): Promise<string> {
    const { port } = new URL(server.url);
    return new Promise((resolve) => {
      // SECLEVEL=0: OpenSSL 3 clients otherwise refuse to offer TLS 1.0/1.1 at all, and the test
      // would only show that the client cannot speak it, not that the server refuses it.
      const socket = tlsConnect(
        {
          host: '127.0.0.1',
          port: Number(port),
          servername: 'localhost',
          ca: certs.ca.certPem,
          minVersion,
          maxVersion,
          ciphers: 'DEFAULT:@SECLEVEL=0',
        },
        () => {
          resolve(socket.getProtocol() ?? 'none');
          socket.end();
        },
      );
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
    });
  }

  it('speaks TLS 1.2 and 1.3 and refuses TLS 1.1 and 1.0 (the server says so, not the client)', async () => {
    expect(await handshake('TLSv1.2', 'TLSv1.2')).to.equal('TLSv1.2');
    expect(await handshake('TLSv1.3', 'TLSv1.3')).to.equal('TLSv1.3');
    // The server's alert: protocol_version (ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION), or the client
    // seeing the server pick a version it did not offer.
    expect(await handshake('TLSv1.1', 'TLSv1.1')).to.match(
      /^error ERR_SSL_(TLSV1_ALERT_PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|WRONG_VERSION_NUMBER)/,
    );
    expect(await handshake('TLSv1', 'TLSv1')).to.match(
      /^error ERR_SSL_(TLSV1_ALERT_PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|WRONG_VERSION_NUMBER)/,
    );
  });

  it('GET /healthz and /readyz answer ok', async () => {
    expect((await send(server, { method: 'GET', path: '/healthz' })).body).to.equal('ok');
    expect((await send(server, { method: 'GET', path: '/readyz' })).body).to.equal('ok');
  });

  it('allows a compliant kubeadm etcd pod: the exact AdmissionReview written', async () => {
    const res = await send(server, { body: review(loadFixture('kubeadm/etcd.yaml')) });
    expect(res.status).to.equal(200);
    expect(res.contentType).to.match(/^application\/json/);
    expect(res.body).to.equal(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"${UID}","allowed":true}}`);
  });

  it('accepts Content-Type application/json; charset=utf-8', async () => {
    const res = await send(server, { body: review(loadFixture('kubeadm/etcd.yaml')), contentType: 'application/json; charset=utf-8' });
    expect(res.json().response.allowed).to.equal(true);
  });

  it('allows a compliant kube-apiserver pod', async () => {
    expect((await send(server, { body: review(loadFixture('kubeadm/kube-apiserver.yaml')) })).json().response.allowed).to.equal(true);
  });

  it('denies a non-compliant etcd with 403 and every failing rule in the message', async () => {
    const res = await send(server, { body: review(loadFixture('insecure/etcd-plaintext.yaml')) });
    expect(res.status).to.equal(200);
    const { response } = res.json();
    expect(response.uid).to.equal(UID);
    expect(response.allowed).to.equal(false);
    const status = response.status as { code: number; reason: string; message: string };
    expect(status.code).to.equal(403);
    expect(status.reason).to.equal('Forbidden');
    expect(status.message).to.contain('[etcd-client-cert-auth] CIS 2.2').and.contain('[etcd-client-tls] CIS 2.1').and.contain('Fix: ');
  });

  it('dry-run gets the same verdict (kubectl apply --dry-run=server)', async () => {
    const res = await send(server, { body: review(loadFixture('insecure/etcd-plaintext.yaml'), { dryRun: true }) });
    expect(res.json().response.allowed).to.equal(false);
  });

  it('warn mode: allowed with warnings', async () => {
    policy = policyFromObject({ defaultAction: 'warn' });
    const pod = loadFixture('insecure/kube-apiserver-no-etcd-tls.yaml');
    const { response } = (await send(server, { body: review(pod) })).json();
    expect(response.allowed).to.equal(true);
    // Exactly the judgement's warnings (their wording is decide.test's), one per failing rule.
    const verdict = judgePod(pod, policy);
    expect(response.warnings).to.deep.equal(verdict.warnings);
    expect(response.warnings).to.include('apiserver-etcd-cafile (CIS 1.2.32): --etcd-cafile is not set');
    expect(response.warnings).to.have.length(verdict.results.flatMap((r) => r.findings).filter((f) => f.status === 'fail').length);
  });

  it('audit mode: allowed with audit annotations, nothing else', async () => {
    policy = policyFromObject({ defaultAction: 'audit' });
    const pod = loadFixture('insecure/kube-apiserver-no-etcd-tls.yaml');
    const { response } = (await send(server, { body: review(pod) })).json();
    // The whole response: uid, allowed, and the judgement's annotations (one per failing rule), no warnings.
    const verdict = judgePod(pod, policy);
    expect(response).to.deep.equal({ uid: UID, allowed: true, auditAnnotations: verdict.auditAnnotations });
    expect(verdict.auditAnnotations).to.include({
      'apiserver-etcd-cafile': 'fail: --etcd-cafile is not set',
      'apiserver-etcd-tls': 'fail: http://127.0.0.1:2379 is not TLS: plaintext traffic',
    });
  });

  it('a kubelet creating its mirror pod is allowed and audited (denying it would not stop etcd)', async () => {
    const kubelet = { userInfo: { username: 'system:node:cp-1', groups: ['system:nodes', 'system:authenticated'] } };
    const { response } = (await send(server, { body: review(loadFixture('insecure/etcd-plaintext.yaml'), kubelet) })).json();
    expect(response.allowed).to.equal(true);
    expect(response.auditAnnotations).to.have.property('etcd-client-cert-auth');
  });

  it('the mirror annotation alone earns nothing: an admin creating the same pod is denied', async () => {
    const pod = loadFixture('insecure/etcd-plaintext.yaml');
    expect(pod.metadata?.annotations?.['kubernetes.io/config.mirror']).to.be.a('string');
    expect((await send(server, { body: review(pod) })).json().response.allowed).to.equal(false);
  });

  it('a pod without etcd or kube-apiserver is allowed at once, with nothing else', async () => {
    const res = await send(server, { body: review(loadFixture('other/nginx.yaml')) });
    expect(res.json().response).to.deep.equal({ uid: UID, allowed: true });
  });

  it('DELETE, kinds that declare no pod and subresources are allowed untouched', async () => {
    const pod = loadFixture('insecure/etcd-plaintext.yaml');
    for (const extra of [
      { operation: 'DELETE' },
      { kind: { group: '', version: 'v1', kind: 'ConfigMap' } },
      { kind: { group: 'example.com', version: 'v1', kind: 'Deployment' } },
      { operation: 'UPDATE', subResource: 'status', oldObject: pod },
    ]) {
      expect((await send(server, { body: review(pod, extra) })).json().response, JSON.stringify(extra)).to.deep.equal({
        uid: UID,
        allowed: true,
      });
    }
  });

  it('UTF-8 with a byte-order mark, and application/json with a charset or in capitals, are decoded like plain UTF-8 JSON', async () => {
    const body = review(loadFixture('kubeadm/etcd.yaml'));
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]);
    expect((await send(server, { body: withBom })).json().response).to.deep.equal({ uid: UID, allowed: true });
    for (const contentType of ['application/json; charset=utf-8', 'Application/JSON; charset="UTF-8"', 'application/json;charset=utf8']) {
      expect((await send(server, { body, contentType })).json().response, contentType).to.deep.equal({ uid: UID, allowed: true });
    }
  });

  it('UTF-8: every malformed sequence inside a review is refused (400), a review with U+FFFD or other non-ASCII text as such is judged', async () => {
    // The decoder writes U+FFFD for each malformed sequence, and the webhook checks the bytes only
    // when the text has one (app.ts): a sent U+FFFD must not be taken for an error, nor an error missed.
    const pod = loadFixture('kubeadm/etcd.yaml');
    const withNote = (note: string): string =>
      review({ ...pod, metadata: { ...pod.metadata, annotations: { ...pod.metadata?.annotations, note } } });
    const body = (bytes: number[]): Buffer => {
      const [before, after] = withNote('@@').split('@@') as [string, string];
      return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
    };
    const malformed: Record<string, number[]> = {
      'a lone continuation byte': [0x80],
      'an overlong encoding of /': [0xc0, 0xaf],
      'a UTF-16 surrogate (U+D800)': [0xed, 0xa0, 0x80],
      'a truncated sequence': [0xe2, 0x82],
      'beyond U+10FFFF': [0xf5, 0x80, 0x80, 0x80],
      'the byte 0xFF': [0xff],
    };
    for (const [name, bytes] of Object.entries(malformed)) {
      const res = await send(server, { body: body(bytes) });
      expect(res.status, name).to.equal(400);
      expect((res.json().response.status as { message: string }).message, name).to.match(/not valid UTF-8/);
    }
    for (const note of ['\uFFFD', 'r\u00e9sum\u00e9 \uFFFD \u{1F512}']) {
      const res = await send(server, { body: withNote(note) });
      expect(res.status, note).to.equal(200);
      expect(res.json().response, note).to.deep.equal({ uid: UID, allowed: true });
    }
  });

  it('an UPDATE of an already failing pod warns instead of denying (labels, finalizers)', async () => {
    const pod = loadFixture('insecure/etcd-plaintext.yaml');
    const { response } = (await send(server, { body: review(pod, { operation: 'UPDATE', oldObject: pod }) })).json();
    expect(response.allowed).to.equal(true);
    expect(response.warnings).to.be.an('array').with.length.above(0);
  });

  const bad: Array<{
    name: string;
    body?: string | Buffer;
    contentType?: string | null;
    method?: string;
    path?: string;
    status: number;
    message: RegExp;
    uid?: string;
  }> = [
    {
      name: 'wrong content type → 415',
      body: review(loadFixture('kubeadm/etcd.yaml')),
      contentType: 'text/plain',
      status: 415,
      message: /Content-Type must be application\/json/,
    },
    { name: 'no content type → 415', body: '{}', contentType: null, status: 415, message: /Content-Type must be application\/json/ },
    {
      name: 'a charset other than UTF-8 → 415',
      body: '{}',
      contentType: 'application/json; charset=latin1',
      status: 415,
      message: /UTF-8/,
    },
    { name: 'empty body → 400', body: '', status: 400, message: /request body is empty/ },
    { name: 'not JSON → 400', body: '{"apiVersion":', status: 400, message: /not valid JSON/ },
    { name: 'invalid UTF-8 → 400', body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), status: 400, message: /not valid UTF-8/ },
    {
      name: 'wrong apiVersion → 400',
      body: review({ spec: { containers: [] } }).replace('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'),
      status: 400,
      message: /expected apiVersion admission.k8s.io\/v1 and kind AdmissionReview/,
      uid: UID,
    },
    {
      name: 'wrong kind → 400',
      body: JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'Pod',
        request: { uid: 'u', kind: { kind: 'Pod' }, operation: 'CREATE' },
      }),
      status: 400,
      message: /kind AdmissionReview/,
      uid: 'u',
    },
    {
      name: 'missing uid → 400',
      body: JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { kind: { kind: 'Pod' }, operation: 'CREATE' },
      }),
      status: 400,
      message: /request.uid: required field is missing/,
    },
    { name: 'JSON null → 400', body: 'null', status: 400, message: /must be object/ },
    {
      name: 'a pod with a non-string arg → 400, uid kept',
      body: review({ metadata: { name: 'x' }, spec: { containers: [{ name: 'etcd', command: ['etcd', true] }] } }),
      status: 400,
      message: /request.object.spec.containers\[0\].command\[1\]: must be string/,
      uid: UID,
    },
    { name: 'GET /validate → 405', method: 'GET', status: 405, message: /only POST/ },
    { name: 'unknown path → 404', path: '/mutate', body: '{}', status: 404, message: /POST \/validate/ },
  ];
  for (const c of bad) {
    it(`bad input: ${c.name}, never allowed`, async () => {
      const res = await send(server, {
        ...(c.body !== undefined ? { body: c.body } : {}),
        ...(c.contentType !== undefined ? { contentType: c.contentType } : {}),
        ...(c.method !== undefined ? { method: c.method } : {}),
        ...(c.path !== undefined ? { path: c.path } : {}),
      });
      expect(res.status).to.equal(c.status);
      const { response } = res.json();
      expect(response.allowed).to.equal(false);
      expect(response.uid).to.equal(c.uid ?? '');
      expect((response.status as { code: number }).code).to.equal(c.status);
      expect((response.status as { message: string }).message).to.match(c.message);
    });
  }

  it('bad input: a body over 7 MiB → 413', async () => {
    const res = await send(server, { body: Buffer.alloc(MAX_REVIEW_BYTES + 1, 0x20) });
    expect(res.status).to.equal(413);
    expect(res.json().response.allowed).to.equal(false);
  });

  it('accepts a 3 MiB pod (the API server maximum) in an UPDATE with its old object', async () => {
    const pod = loadFixture('kubeadm/etcd.yaml');
    const big = {
      ...pod,
      metadata: { ...pod.metadata, annotations: { ...pod.metadata?.annotations, filler: 'x'.repeat(3 * 1024 * 1024 - 4096) } },
    };
    const res = await send(server, { body: review(big, { operation: 'UPDATE', oldObject: big }) });
    expect(res.status).to.equal(200);
    expect(res.json().response.allowed).to.equal(true);
  });

  it('an internal error answers 500 and is never allowed (failurePolicy decides)', async () => {
    policy = new Proxy(policyFromObject({}), {
      get() {
        throw new Error('boom');
      },
    });
    const res = await send(server, { body: review(loadFixture('kubeadm/etcd.yaml')) });
    expect(res.status).to.equal(500);
    expect(res.json().response).to.deep.include({ uid: UID, allowed: false });
  });

  // Matched as express matches the route '/validate': the API server's own form carries a query
  // (?timeout=10s, k8s.io/apiserver webhook client), and case and a trailing slash do not matter.
  for (const path of ['/validate?timeout=10s', '/validate/', '/VALIDATE']) {
    it(`POST ${path} is a review`, async () => {
      const res = await send(server, { path, body: review(loadFixture('kubeadm/etcd.yaml')) });
      expect(res.status).to.equal(200);
      expect(res.json().response).to.deep.include({ uid: UID, allowed: true });
    });
  }

  it('POST /validate/more is not the webhook path (404)', async () => {
    const res = await send(server, { path: '/validate/more', body: review(loadFixture('kubeadm/etcd.yaml')) });
    expect(res.status).to.equal(404);
    expect(res.json().response.allowed).to.equal(false);
  });

  it('plain HTTP on the webhook port gets no answer', async () => {
    const url = new URL(server.url.replace('https:', 'http:'));
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: '/healthz', method: 'GET' }, (res) =>
        resolve(`status ${res.statusCode}`),
      );
      req.on('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      req.end();
    });
    expect(outcome).to.match(/^error|^status 400/);
    expect(outcome).to.not.equal('status 200');
  });
});

describe('webhook over HTTPS, when something unexpected throws while a review is judged', () => {
  let server: RunningServer;
  let throws = true;

  before(async () => {
    // The metrics observer runs after the answer, called back from the request's 'end' event: a
    // throw there must reach the error handler, not the process (an uncaught exception fails this test).
    const observer = {
      ...NO_OBSERVER,
      reviewed: () => {
        if (throws) {
          throws = false;
          throw new Error('observer broke');
        }
      },
    };
    ({ server, certs } = await startTestServer({ observer }));
  });
  after(async () => {
    await server.close(1000);
  });

  it('keeps the answer already given and keeps serving', async () => {
    const first = await send(server, { body: review(loadFixture('kubeadm/etcd.yaml')) });
    expect(first.status).to.equal(200);
    expect(first.json().response).to.deep.include({ uid: UID, allowed: true });
    expect(throws, 'the observer was called and threw').to.equal(false);
    const next = await send(server, { body: review(loadFixture('kubeadm/etcd.yaml')) });
    expect(next.status).to.equal(200);
  });
});

describe('webhook over HTTPS, when the error handler itself throws', () => {
  let server: RunningServer;
  let throws = true;

  before(async () => {
    // A log line that fails once, in the handler that answers a refused body: the router hands the
    // request back, and it must still be answered (500), never reach the process as an exception.
    const logger = Object.assign(Object.create(silentLogger) as typeof silentLogger, {
      warn: () => {
        if (throws) {
          throws = false;
          throw new Error('log line broke');
        }
      },
    });
    ({ server, certs } = await startTestServer({ logger }));
  });
  after(async () => {
    await server.close(1000);
  });

  it('answers 500 and keeps serving', async () => {
    const gzipped = await httpsRequest(new URL('/validate', server.url).href, {
      method: 'POST',
      ca: certs.ca.certPem,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': '2' },
      body: '{}',
    });
    expect(throws, 'the error handler ran and its log line threw').to.equal(false);
    expect(gzipped.status).to.equal(500);
    expect((JSON.parse(gzipped.body) as { response: { status: { message: string } } }).response.status.message).to.equal('internal error');
    const next = await send(server, { body: review(loadFixture('kubeadm/etcd.yaml')) });
    expect(next.status).to.equal(200);
  });
});
