import { expect } from 'chai';
import type { RequestOptions } from 'node:https';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCa, issueCertificate, type CertificatePair } from '../../src/certs/authority.js';
import { CertificateError, servingMaterial } from '../../src/certs/serving.js';
import { createLogger } from '../../src/log.js';
import { startWebhook, type Webhook } from '../../src/webhook/runtime.js';
import { watchFiles } from '../../src/webhook/watch.js';
import { createMetrics } from '../../src/webhook/metrics.js';
import { admissionReviewJson, httpsRequest, type HttpsReply } from '../admission.js';
import { fixturePath } from '../helpers.js';
import { atomicWrite } from '../kubelet-volume.js';
import { httpGet, until } from '../processes.js';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { parse as parseYaml } from 'yaml';

type Reply = HttpsReply;

const call = (url: string, opts: RequestOptions & { body?: string }): Promise<Reply> => httpsRequest(url, opts);

async function scrape(url: string): Promise<string> {
  return (await httpGet(url)).body;
}

/** Lines of the Prometheus text exposition format (version 0.0.4), each checked against its grammar. */
interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta !== null) {
      if (meta[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).to.include(meta[3]);
        types.set(meta[2] as string, meta[3] as string);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    expect(m, `not an exposition line: ${line}`).to.not.equal(null);
    const labels: Record<string, string> = {};
    for (const pair of (m?.[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g))
      labels[pair[1] as string] = pair[2] as string;
    const valueText = m?.[3] as string;
    // Values are read as Go's strconv.ParseFloat (Prometheus' parser) reads them: NaN and Inf in any case.
    const special = /^([+-]?)(nan|inf|infinity)$/i.exec(valueText);
    const value =
      special !== null ? (special[2]?.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity) : Number(valueText);
    expect(special === null && Number.isNaN(value), `bad value in ${line}`).to.equal(false);
    samples.push({ name: m?.[1] as string, labels, value });
  }
  return { samples, types };
}

function sampleValue(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** Log lines as parsed JSON objects, captured in memory. */
function captureLogs(level = 'info'): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    logger: createLogger(level, sink),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const review = (pod: unknown, uid = 'b3a9d1f2-0000-4000-8000-000000000001'): string => admissionReviewJson(pod, { uid, dryRun: true });

/** POSTs an AdmissionReview (by default: CREATE of the plaintext etcd fixture) over a new TLS connection. */
function post(wh: Webhook, ca: CertificatePair, extra: RequestOptions & { body?: string } = {}): Promise<Reply> {
  return call(`${wh.url}/validate`, {
    method: 'POST',
    ca: ca.certPem,
    headers: { 'content-type': 'application/json' },
    body: review(JSON.parse(plaintextEtcd)),
    ...extra,
  });
}

const plaintextEtcd = JSON.stringify(parseYaml(readFileSync(fixturePath('insecure/etcd-plaintext.yaml'), 'utf8')));
const kubeadmEtcd = JSON.stringify(parseYaml(readFileSync(fixturePath('kubeadm/etcd.yaml'), 'utf8')));

describe('serving certificate', () => {
  let ca: CertificatePair;
  before(() => {
    ca = generateCa();
  });

  it('a pair whose key belongs to another certificate is refused', () => {
    const a = issueCertificate(ca, { sans: ['localhost'] });
    const b = issueCertificate(ca, { sans: ['localhost'] });
    expect(() => servingMaterial(a.certPem, b.keyPem)).to.throw(CertificateError, 'does not belong');
  });

  it('a half-written certificate is refused', () => {
    const a = issueCertificate(ca, { sans: ['localhost'] });
    expect(() => servingMaterial(a.certPem.slice(0, 200), a.keyPem)).to.throw(CertificateError);
    expect(() => servingMaterial('', a.keyPem)).to.throw(CertificateError, 'no PEM certificate');
  });

  it('reads the expiry of the leaf certificate', () => {
    const now = new Date('2026-11-22T00:00:00Z');
    const a = issueCertificate(ca, { sans: ['localhost'], now, days: 90 });
    expect(servingMaterial(a.certPem, a.keyPem).notAfter.toISOString()).to.equal('2027-02-20T00:00:00.000Z');
  });
});

describe('watched files', () => {
  it('a kubelet-style ..data swap is seen by the directory watch, without polling', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etg-watch-'));
    await atomicWrite(dir, { 'policy.yaml': 'defaultAction: enforce\n' });
    const applied: string[] = [];
    const watch = watchFiles(
      {
        paths: [join(dir, 'policy.yaml')],
        load: ([b]) => b?.toString() ?? '',
        apply: (t) => applied.push(t),
        onError: () => {},
        pollMs: 0,
        settleMs: 10,
      },
      [Buffer.from('defaultAction: enforce\n')],
    );
    try {
      await atomicWrite(dir, { 'policy.yaml': 'defaultAction: warn\n' });
      await until('the swapped file applied', () => applied.length > 0);
      expect(applied).to.deep.equal(['defaultAction: warn\n']);
    } finally {
      watch.close();
    }
  });

  it('the same bad content is reported once, and the next good write is applied', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etg-watch-'));
    const path = join(dir, 'x');
    await writeFile(path, 'good-1');
    const applied: string[] = [];
    const errors: string[] = [];
    const load = ([b]: readonly Buffer[]): string => {
      const t = b?.toString() ?? '';
      if (!t.startsWith('good')) throw new Error(`bad: ${t}`);
      return t;
    };
    const watch = watchFiles({ paths: [path], load, apply: (t) => applied.push(t), onError: (e) => errors.push(e.message), pollMs: 0 }, [
      Buffer.from('good-1'),
    ]);
    try {
      await watch.check();
      await writeFile(path, 'half');
      await watch.check();
      await watch.check();
      await writeFile(path, 'good-2');
      await watch.check();
      expect(errors).to.deep.equal(['bad: half']);
      expect(applied).to.deep.equal(['good-2']);
    } finally {
      watch.close();
    }
  });
});

describe('etcd-tls-guard webhook operations', function () {
  this.timeout(20_000);
  let ca: CertificatePair;
  let dir: string;
  let webhook: Webhook | undefined;

  before(() => {
    ca = generateCa();
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etg-ops-'));
  });
  afterEach(async () => {
    await webhook?.shutdown();
    webhook = undefined;
  });

  async function start(
    extra: { clientCaFile?: string; configPath?: string; metrics?: boolean; logger?: ReturnType<typeof createLogger> } = {},
  ): Promise<Webhook> {
    webhook = await startWebhook({
      host: '127.0.0.1',
      port: 0,
      certFile: join(dir, 'certs', 'tls.crt'),
      keyFile: join(dir, 'certs', 'tls.key'),
      ...(extra.clientCaFile !== undefined ? { clientCaFile: extra.clientCaFile } : {}),
      ...(extra.configPath !== undefined ? { configPath: extra.configPath } : {}),
      ...(extra.metrics === true ? { metricsPort: 0 } : {}),
      // Long poll: these tests see reloads through directory events or recheck().
      reloadIntervalMs: 60_000,
      shutdownDelayMs: 0,
      drainTimeoutMs: 2_000,
      logger: extra.logger ?? createLogger('silent'),
    });
    return webhook;
  }

  it('rotating the certificate Secret: the next handshake presents the new serial, and no request fails meanwhile', async () => {
    const first = issueCertificate(ca, { sans: ['localhost', '127.0.0.1'] });
    const second = issueCertificate(ca, { sans: ['localhost', '127.0.0.1'] });
    await atomicWrite(join(dir, 'certs'), { 'tls.crt': first.certPem, 'tls.key': first.keyPem });
    const wh = await start();
    const serialOf = (pem: string): string => servingMaterial(pem, pem === first.certPem ? first.keyPem : second.keyPem).serialNumber;

    const seen: string[] = [];
    let failures = 0;
    let stop = false;
    // Requests one after another until told to stop (each wait below has its own limit).
    const load = (async () => {
      while (!stop) {
        try {
          const r = await post(wh, ca);
          if (r.status !== 200) failures++;
          seen.push(r.serial);
        } catch {
          failures++;
        }
      }
    })();
    try {
      await until('5 answers with the first certificate', () => seen.length >= 5);
      await atomicWrite(join(dir, 'certs'), { 'tls.crt': second.certPem, 'tls.key': second.keyPem });
      await until('an answer with the rotated certificate', () => seen.at(-1) === serialOf(second.certPem));
      const afterRotation = seen.length;
      await until('5 more answers after the rotation', () => seen.length >= afterRotation + 5);
    } finally {
      stop = true;
      await load;
    }

    expect(failures).to.equal(0);
    expect(seen[0]).to.equal(serialOf(first.certPem));
    expect(seen.at(-1)).to.equal(serialOf(second.certPem));
    // Once the new certificate is served, the old one never comes back.
    const firstNew = seen.indexOf(serialOf(second.certPem));
    expect(seen.slice(firstNew).every((s) => s === serialOf(second.certPem))).to.equal(true);
  });

  it('a rotated pair that does not match is refused and logged; the old certificate keeps serving', async () => {
    const first = issueCertificate(ca, { sans: ['localhost'] });
    const other = issueCertificate(ca, { sans: ['localhost'] });
    await atomicWrite(join(dir, 'certs'), { 'tls.crt': first.certPem, 'tls.key': first.keyPem });
    const logs = captureLogs();
    const wh = await start({ logger: logs.logger, metrics: true });
    await atomicWrite(join(dir, 'certs'), { 'tls.crt': other.certPem, 'tls.key': first.keyPem });
    await wh.recheck();
    const r = await call(`${wh.url}/healthz`, { ca: ca.certPem });
    expect(r.serial).to.equal(servingMaterial(first.certPem, first.keyPem).serialNumber);
    const refused = logs.lines().find((l) => l.msg === 'refused the changed certificate files; still serving the previous certificate');
    expect(refused?.level).to.equal('error');
    expect(refused?.reason).to.contain('does not belong');
    const { samples } = parseExposition(await scrape(wh.metricsUrl as string));
    expect(sampleValue(samples, 'etcd_tls_guard_config_reloads_total', { config: 'certificate', result: 'failure' })).to.equal(1);
    expect(sampleValue(samples, 'etcd_tls_guard_config_last_reload_successful', { config: 'certificate' })).to.equal(0);
  });

  it('a changed policy applies to the next request; an invalid one is refused and the old one stays', async () => {
    const cert = issueCertificate(ca, { sans: ['localhost'] });
    await atomicWrite(join(dir, 'certs'), { 'tls.crt': cert.certPem, 'tls.key': cert.keyPem });
    await atomicWrite(join(dir, 'config'), { 'policy.yaml': 'defaultAction: enforce\n' });
    const logs = captureLogs();
    const wh = await start({ configPath: join(dir, 'config', 'policy.yaml'), logger: logs.logger });
    const ask = async (): Promise<{ allowed: boolean; warnings?: string[] }> =>
      (JSON.parse((await post(wh, ca)).body) as { response: { allowed: boolean; warnings?: string[] } }).response;

    expect((await ask()).allowed).to.equal(false);
    await atomicWrite(join(dir, 'config'), { 'policy.yaml': 'defaultAction: warn\n' });
    await wh.recheck();
    const warned = await ask();
    expect(warned.allowed).to.equal(true);
    expect(warned.warnings?.length).to.be.greaterThan(0);

    await atomicWrite(join(dir, 'config'), { 'policy.yaml': 'defaultAction: block\n' });
    await wh.recheck();
    expect(wh.policy().defaultAction).to.equal('warn');
    expect((await ask()).allowed).to.equal(true);
    const refused = logs.lines().find((l) => l.msg === 'refused the changed policy; the previous policy stays in force');
    expect(refused?.reason).to.match(/defaultAction/);
  });

  it('with --client-ca, /validate needs a client certificate from that CA; probes stay open', async () => {
    const cert = issueCertificate(ca, { sans: ['localhost'] });
    const clientCa = generateCa();
    const apiserver = issueCertificate(clientCa, { sans: ['kube-apiserver'], usage: 'client' });
    const stranger = issueCertificate(generateCa(), { sans: ['kube-apiserver'], usage: 'client' });
    await atomicWrite(join(dir, 'certs'), { 'tls.crt': cert.certPem, 'tls.key': cert.keyPem, 'client-ca.crt': clientCa.certPem });
    const wh = await start({ clientCaFile: join(dir, 'certs', 'client-ca.crt') });
    const as = (client?: CertificatePair): Promise<Reply> =>
      post(wh, ca, client !== undefined ? { cert: client.certPem, key: client.keyPem } : {});

    expect((await as(apiserver)).status).to.equal(200);
    const anonymous = await as();
    expect(anonymous.status).to.equal(401);
    expect(anonymous.body).to.contain('client certificate');
    expect((await as(stranger)).status).to.equal(401);
    expect((await call(`${wh.url}/readyz`, { ca: ca.certPem })).status).to.equal(200);
  });

  it('metrics: requests by operation, decision and dry run; latency; findings by rule; certificate expiry', async () => {
    const cert = issueCertificate(ca, { sans: ['localhost'], now: new Date('2026-11-22T00:00:00Z'), days: 365 });
    await atomicWrite(join(dir, 'certs'), { 'tls.crt': cert.certPem, 'tls.key': cert.keyPem });
    const wh = await start({ metrics: true });
    await post(wh, ca);
    await post(wh, ca);
    await post(wh, ca, { body: '{"not":"a review"}' });

    const { samples, types } = parseExposition(await scrape(wh.metricsUrl as string));
    expect(
      sampleValue(samples, 'etcd_tls_guard_admission_requests_total', { operation: 'CREATE', decision: 'denied', dry_run: 'true' }),
    ).to.equal(2);
    expect(sampleValue(samples, 'etcd_tls_guard_admission_requests_total', { operation: 'unknown', decision: 'error' })).to.equal(1);
    expect(types.get('etcd_tls_guard_admission_request_duration_seconds')).to.equal('histogram');
    expect(sampleValue(samples, 'etcd_tls_guard_admission_request_duration_seconds_count', { operation: 'CREATE' })).to.equal(2);
    expect(sampleValue(samples, 'etcd_tls_guard_admission_request_duration_seconds_bucket', { operation: 'CREATE', le: '+Inf' })).to.equal(
      2,
    );
    expect(
      sampleValue(samples, 'etcd_tls_guard_findings_total', { rule: 'etcd-client-cert-auth', status: 'fail', action: 'enforce' }),
    ).to.equal(2);
    expect(sampleValue(samples, 'etcd_tls_guard_certificate_expiry_timestamp_seconds')).to.equal(Date.parse('2027-11-22T00:00:00Z') / 1000);
    expect(sampleValue(samples, 'process_resident_memory_bytes')).to.be.greaterThan(0);
    expect(sampleValue(samples, 'etcd_tls_guard_build_info', { component: 'webhook', nodejs: process.version })).to.equal(1);
  });

  it('the latency histogram: cumulative buckets up to +Inf, sum and count, per operation', async () => {
    const metrics = createMetrics();
    const review = (operation: string, seconds: number): void =>
      metrics.reviewed({ operation, decision: 'allowed', dryRun: false, seconds, results: [] });
    review('CREATE', 0.0003);
    review('CREATE', 0.0005); // on a bound: counted in that bucket (le = less than or equal)
    review('CREATE', 0.002);
    review('CREATE', 3);
    review('UPDATE', 0.04);
    const { samples } = parseExposition(await metrics.registry.metrics());
    const bucket = (operation: string, le: string): number | undefined =>
      sampleValue(samples, 'etcd_tls_guard_admission_request_duration_seconds_bucket', { operation, le });
    expect([
      bucket('CREATE', '0.0005'),
      bucket('CREATE', '0.001'),
      bucket('CREATE', '0.0025'),
      bucket('CREATE', '2.5'),
      bucket('CREATE', '+Inf'),
    ]).to.deep.equal([2, 2, 3, 3, 4]);
    expect(sampleValue(samples, 'etcd_tls_guard_admission_request_duration_seconds_sum', { operation: 'CREATE' })).to.be.closeTo(
      3.0028,
      1e-9,
    );
    expect(sampleValue(samples, 'etcd_tls_guard_admission_request_duration_seconds_count', { operation: 'CREATE' })).to.equal(4);
    expect([bucket('UPDATE', '0.025'), bucket('UPDATE', '0.05'), bucket('UPDATE', '+Inf')]).to.deep.equal([0, 1, 1]);
    const les = samples
      .filter((x) => x.name === 'etcd_tls_guard_admission_request_duration_seconds_bucket' && x.labels.operation === 'CREATE')
      .map((x) => x.labels.le);
    expect(les).to.deep.equal(['0.0005', '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf']);
  });

  it('findings are counted once per review, the same results sent again or new ones, and a scrape does not count them again', async () => {
    const metrics = createMetrics();
    const resultsOf = (status: string) => [
      {
        findings: [
          { rule: 'etcd-client-cert-auth', status, effectiveAction: 'enforce' },
          { rule: 'etcd-auto-tls', status: 'pass', effectiveAction: 'enforce' },
        ],
      },
    ];
    const cached = resultsOf('fail');
    const reviewed = (results: ReturnType<typeof resultsOf>): void =>
      metrics.reviewed({ operation: 'CREATE', decision: 'denied', dryRun: false, seconds: 0.001, results });
    for (let i = 0; i < 3; i++) reviewed(cached);
    for (let i = 0; i < 40; i++) reviewed(resultsOf('fail'));
    reviewed(cached);
    const count = async (rule: string, status: string): Promise<number | undefined> =>
      sampleValue(parseExposition(await metrics.registry.metrics()).samples, 'etcd_tls_guard_findings_total', {
        rule,
        status,
        action: 'enforce',
      });
    expect(await count('etcd-client-cert-auth', 'fail')).to.equal(44);
    expect(await count('etcd-auto-tls', 'pass')).to.equal(44);
    expect(await count('etcd-client-cert-auth', 'fail')).to.equal(44);
    reviewed(cached);
    expect(await count('etcd-client-cert-auth', 'fail')).to.equal(45);
  });

  it("Node.js process metrics: prom-client's defaults (collectDefaultMetrics)", async () => {
    const { samples, types } = parseExposition(await createMetrics().registry.metrics());
    const names = new Set(samples.map((x) => x.name));
    for (const name of [
      'process_cpu_seconds_total',
      'process_start_time_seconds',
      'process_resident_memory_bytes',
      'process_open_fds',
      'process_max_fds',
      'nodejs_heap_size_used_bytes',
      'nodejs_heap_space_size_used_bytes',
      'nodejs_active_handles_total',
      'nodejs_version_info',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(names, name).to.include(name);
    }
    expect(types.get('process_cpu_seconds_total')).to.equal('counter');
    expect(types.get('nodejs_gc_duration_seconds')).to.equal('histogram');
  });

  it('every label value is counted, those outside the known statuses, actions and decisions too, and only series that were counted are published', async () => {
    const metrics = createMetrics();
    const finding = (status: string, effectiveAction: string) => [
      { findings: [{ rule: 'etcd-client-cert-auth', status, effectiveAction }] },
    ];
    metrics.reviewed({ operation: 'CREATE', decision: 'allowed', dryRun: true, seconds: 0.001, results: finding('pass', 'warn') });
    metrics.reviewed({
      operation: 'CREATE',
      decision: 'allowed',
      dryRun: true,
      seconds: 0.001,
      results: finding('a-future-status', 'warn'),
    });
    metrics.reviewed({
      operation: 'CREATE',
      decision: 'allowed',
      dryRun: true,
      seconds: 0.001,
      results: finding('a-future-status', 'warn'),
    });
    metrics.reviewed({
      operation: 'CONNECT',
      decision: 'a-future-decision' as 'error',
      dryRun: false,
      seconds: 0.001,
      results: finding('fail', 'a-future-action'),
    });
    const { samples } = parseExposition(await metrics.registry.metrics());
    const findings = samples.filter((x) => x.name === 'etcd_tls_guard_findings_total');
    expect(findings.map((x) => [x.labels.status, x.labels.action, x.value])).to.have.deep.members([
      ['pass', 'warn', 1],
      ['a-future-status', 'warn', 2],
      ['fail', 'a-future-action', 1],
    ]);
    const requests = samples.filter((x) => x.name === 'etcd_tls_guard_admission_requests_total');
    expect(requests.map((x) => [x.labels.operation, x.labels.decision, x.labels.dry_run, x.value])).to.have.deep.members([
      ['CREATE', 'allowed', 'true', 3],
      ['CONNECT', 'a-future-decision', 'false', 1],
    ]);
  });

  it('a decision to act on is logged at info (a denial, a failing rule allowed by warn); a pod that passes every rule, at debug only', async () => {
    const cert = issueCertificate(ca, { sans: ['localhost'] });
    await atomicWrite(join(dir, 'certs'), { 'tls.crt': cert.certPem, 'tls.key': cert.keyPem });
    const decisions = async (level: string, defaultAction: string): Promise<unknown[][]> => {
      await atomicWrite(join(dir, 'config'), { 'policy.yaml': `defaultAction: ${defaultAction}\n` });
      const logs = captureLogs(level);
      const wh = await start({ configPath: join(dir, 'config', 'policy.yaml'), logger: logs.logger });
      await post(wh, ca, { body: review(JSON.parse(kubeadmEtcd), 'c0ffee00-0000-4000-8000-00000000000a') });
      await post(wh, ca, { body: review(JSON.parse(plaintextEtcd), 'c0ffee00-0000-4000-8000-00000000000b') });
      await wh.shutdown();
      return logs
        .lines()
        .filter((l) => l.msg === 'admission decision')
        .map((l) => [
          l.uid,
          l.level,
          l.decision,
          (l.rules as { rule: string; action: string }[]).find((r) => r.rule === 'etcd-client-cert-auth')?.action,
        ]);
    };
    const passing = 'c0ffee00-0000-4000-8000-00000000000a';
    const plaintext = 'c0ffee00-0000-4000-8000-00000000000b';

    expect(await decisions('info', 'enforce')).to.deep.equal([[plaintext, 'info', 'denied', 'enforce']]);
    expect(await decisions('info', 'warn')).to.deep.equal([[plaintext, 'info', 'allowed', 'warn']]);
    expect(await decisions('debug', 'enforce')).to.deep.equal([
      [passing, 'debug', 'allowed', undefined],
      [plaintext, 'info', 'denied', 'enforce'],
    ]);
  });

  it('logs carry the request uid and never environment values', async () => {
    const cert = issueCertificate(ca, { sans: ['localhost'] });
    await atomicWrite(join(dir, 'certs'), { 'tls.crt': cert.certPem, 'tls.key': cert.keyPem });
    const logs = captureLogs();
    const wh = await start({ logger: logs.logger });
    const pod = JSON.parse(plaintextEtcd) as { spec: { containers: { env?: { name: string; value: string }[] }[] } };
    const secretValue = 'hunter2-do-not-log';
    (pod.spec.containers[0] as { env?: { name: string; value: string }[] }).env = [
      { name: 'ETCD_INITIAL_CLUSTER_TOKEN', value: secretValue },
    ];
    await post(wh, ca, { body: review(pod, 'c0ffee00-0000-4000-8000-000000000002') });
    const decision = logs.lines().find((l) => l.msg === 'admission decision');
    expect(decision?.uid).to.equal('c0ffee00-0000-4000-8000-000000000002');
    expect(JSON.stringify(logs.lines())).to.not.contain(secretValue);
  });
});
