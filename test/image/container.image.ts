/**
 * The container image, built from the Dockerfile unchanged (test/image/build.sh) and run as the
 * chart runs it: read-only root filesystem, every capability dropped, no-new-privileges. With the
 * dev certificates mounted it must answer /healthz and /readyz, deny a non-compliant etcd on
 * /validate, serve metrics on :9090, run as user 65532 and exit 0 on SIGTERM. Every container it
 * starts is removed, by id.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDevCertificates } from '../../src/certs/dev.js';
import { admissionReviewJson, postReview } from '../admission.js';
import { etcdPod } from '../helpers.js';
import { freePort, httpGet, httpsGet, until } from '../processes.js';

const IMAGE = process.env.ETCD_TLS_GUARD_IMAGE ?? 'localhost/etcd-tls-guard:test';
/** crun and the default ulimits fail on this host; runc with explicit ulimits works (issue 12). */
const PODMAN = ['--runtime', 'runc'];
const LIMITS = ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768'];

function podman(args: readonly string[]): string {
  return execFileSync('podman', [...PODMAN, ...args], { encoding: 'utf8' }).trim();
}

describe(`the container image (${IMAGE})`, function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'etg-image-'));
  const certs = generateDevCertificates(['localhost', '127.0.0.1']);
  let id = '';
  let webhookPort = 0;
  let metricsPort = 0;

  before(async () => {
    writeFileSync(join(dir, 'tls.crt'), certs.server.certPem);
    writeFileSync(join(dir, 'tls.key'), certs.server.keyPem);
    // The container's user (65532) reads them, as the chart's Secret volume lets it.
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'tls.key'), 0o644);
    [webhookPort, metricsPort] = [await freePort(), await freePort()];
    id = podman([
      'run',
      '-d',
      '--read-only',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      ...LIMITS,
      '-p',
      `127.0.0.1:${webhookPort}:8443`,
      '-p',
      `127.0.0.1:${metricsPort}:9090`,
      '-v',
      `${dir}:/certs:ro`,
      '-e',
      'ETCD_TLS_GUARD_HOST=*',
      '-e',
      'ETCD_TLS_GUARD_TLS_CERT_FILE=/certs/tls.crt',
      '-e',
      'ETCD_TLS_GUARD_TLS_KEY_FILE=/certs/tls.key',
      IMAGE,
    ]);
    try {
      await until(
        'the container to serve /readyz',
        () => {
          void httpsGet(`https://127.0.0.1:${webhookPort}/readyz`, certs.ca.certPem).then(
            (r) => (ready = r.status === 200),
            () => undefined,
          );
          return ready;
        },
        60_000,
      );
    } catch (err) {
      const logs = spawnSync('podman', [...PODMAN, 'logs', id], { encoding: 'utf8' });
      throw new Error(
        `${(err as Error).message}; container ${podman(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', id])}; logs:\n${logs.stdout}${logs.stderr}`,
      );
    }
  });
  let ready = false;

  after(() => {
    if (id !== '') spawnSync('podman', [...PODMAN, 'rm', '-f', id], { encoding: 'utf8' });
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers /healthz and /readyz over HTTPS with the mounted certificate', async () => {
    expect((await httpsGet(`https://127.0.0.1:${webhookPort}/healthz`, certs.ca.certPem)).status).to.equal(200);
    expect((await httpsGet(`https://127.0.0.1:${webhookPort}/readyz`, certs.ca.certPem)).status).to.equal(200);
  });

  it('denies a non-compliant etcd on /validate', async () => {
    const review = admissionReviewJson(
      etcdPod(['--listen-client-urls=http://0.0.0.0:2379', '--advertise-client-urls=http://10.0.0.1:2379']),
    );
    const r = await postReview(`https://127.0.0.1:${webhookPort}`, review, { ca: certs.ca.certPem });
    expect(r.status).to.equal(200);
    const response = (JSON.parse(r.body) as { response: { allowed: boolean; status?: { message: string } } }).response;
    expect(response.allowed).to.equal(false);
    expect(response.status?.message).to.contain('etcd-client-tls');
  });

  it('serves Prometheus metrics on :9090', async () => {
    const r = await httpGet(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(r.status).to.equal(200);
    expect(r.body).to.contain('etcd_tls_guard_admission_requests_total');
  });

  it('runs as user 65532, read-only, with no capability', () => {
    const pid = podman(['inspect', '--format', '{{.State.Pid}}', id]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)\s+(\d+)/m.exec(status)?.slice(1)).to.deep.equal(['65532', '65532']);
    expect(/^CapEff:\s+(\w+)/m.exec(status)?.[1]).to.equal('0000000000000000');
    expect(/^NoNewPrivs:\s+(\d)/m.exec(status)?.[1]).to.equal('1');
    expect(podman(['inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', id])).to.equal('true');
  });

  it('exits 0 on SIGTERM', () => {
    podman(['kill', '--signal', 'TERM', id]);
    expect(podman(['wait', id])).to.equal('0');
  });

  it('carries the OCI annotations: this version and commit, the license, the source', () => {
    const labels = JSON.parse(podman(['image', 'inspect', '--format', '{{json .Labels}}', IMAGE])) as Record<string, string>;
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string; license: string };
    expect(labels['org.opencontainers.image.version']).to.equal(pkg.version);
    expect(labels['org.opencontainers.image.licenses']).to.equal(pkg.license);
    expect(labels['org.opencontainers.image.source']).to.equal('https://github.com/etcd-tls-guard/etcd-tls-guard');
    expect(labels['org.opencontainers.image.revision']).to.match(/^[0-9a-f]{40}$/);
  });

  it('its size', () => {
    const bytes = Number(podman(['image', 'inspect', '--format', '{{.Size}}', IMAGE]));
    console.log(
      `      image size: ${Math.round(bytes / 1e6)} MB (the node:24-bookworm-slim base assembled here: ~${Math.round(Number(podman(['image', 'inspect', '--format', '{{.Size}}', 'docker.io/library/node:24-bookworm-slim'])) / 1e6)} MB)`,
    );
    expect(bytes).to.be.greaterThan(0);
  });
});
