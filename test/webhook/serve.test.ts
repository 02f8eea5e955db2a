import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDevCertificates, writeDevCertificates } from '../../src/certs/dev.js';
import { DEFAULT_DEV_SANS } from '../../src/certs/dev-files.js';
import { admissionReviewJson } from '../admission.js';
import { httpsGet, spawnWebhook, until } from '../processes.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

describe('dev certificates', () => {
  it('a CA and a serving certificate it signed, with the default SANs', () => {
    const certs = generateDevCertificates();
    const ca = new X509Certificate(certs.ca.certPem);
    const server = new X509Certificate(certs.server.certPem);
    expect(ca.ca).to.equal(true);
    expect(server.ca).to.equal(false);
    expect(server.checkIssued(ca)).to.equal(true);
    expect(server.verify(ca.publicKey)).to.equal(true);
    expect(server.subjectAltName).to.equal(
      'DNS:localhost, IP Address:127.0.0.1, DNS:etcd-tls-guard.etcd-tls-guard.svc, DNS:etcd-tls-guard.etcd-tls-guard.svc.cluster.local',
    );
    expect(DEFAULT_DEV_SANS).to.have.length(4);
    expect(server.keyUsage).to.deep.equal(['1.3.6.1.5.5.7.3.1']);
  });

  it('keys are written readable by the owner only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etg-certs-'));
    await writeDevCertificates(dir, ['my.host', '10.0.0.5']);
    expect((await stat(join(dir, 'tls.key'))).mode & 0o077).to.equal(0);
    expect((await stat(join(dir, 'ca.key'))).mode & 0o077).to.equal(0);
    expect(new X509Certificate(await readFile(join(dir, 'tls.crt'))).subjectAltName).to.equal('DNS:my.host, IP Address:10.0.0.5');
  });
});

describe('etcd-tls-guard serve (the process)', function () {
  this.timeout(30_000);

  it('creates dev certificates on first run, serves /readyz over HTTPS, and exits 0 on SIGTERM', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'etg-serve-'));
    // --metrics-port 0: the default 9090 may be taken on a developer's machine.
    const { child, url, log, exited } = await spawnWebhook(process.execPath, [CLI, 'serve', '--port', '0', '--metrics-port', '0'], { cwd });
    const ca = await readFile(join(cwd, 'certs-dev', 'ca.crt'), 'utf8');
    expect((await httpsGet(`${url}/readyz`, ca)).body).to.equal('ok');
    child.kill('SIGTERM');
    expect(await exited).to.equal(0);
    expect(log()).to.contain('created development certificates');
  });

  it('refuses to start with an invalid policy, naming the field (exit 2)', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'etg-serve-'));
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(cwd, 'policy.yaml'), 'defaultAction: block\n');
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--config', 'policy.yaml'], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).to.equal(2);
    expect(err).to.contain('policy.defaultAction: must be one of "enforce", "warn", "audit"');
  });

  it('SIGTERM: /readyz fails during the shutdown delay, a request in flight when it stops accepting still gets its answer, exit 0', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'etg-serve-'));
    const {
      child,
      url,
      log: output,
      exited,
    } = await spawnWebhook(
      process.execPath,
      [CLI, 'serve', '--port', '0', '--metrics-port', '0', '--shutdown-delay', '1', '--drain-timeout', '5'],
      { cwd },
    );
    const ca = await readFile(join(cwd, 'certs-dev', 'ca.crt'), 'utf8');
    const get = (path: string): Promise<{ status: number; body: string }> => httpsGet(`${url}${path}`, ca);

    const body = Buffer.from(
      admissionReviewJson(
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
        { uid: 'd1a2b3c4-0000-4000-8000-00000000000a', namespace: 'default' },
      ),
    );
    // The request starts before SIGTERM and its body completes only after the server stopped accepting.
    let req: ReturnType<typeof request> | undefined;
    let connected = false;
    const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req = request(
        `${url}/validate`,
        { method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json', 'content-length': String(body.length) } },
        (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
        },
      );
      req.on('error', reject);
      req.on('socket', (sock) => sock.once('secureConnect', () => (connected = true)));
      req.write(body.subarray(0, 10));
    });
    await until('the request is connected', () => connected);
    child.kill('SIGTERM');
    // During --shutdown-delay (1 s), readiness fails so the Service stops sending new requests here.
    await until('the shutdown is logged', () => output().includes('shutting down: not ready'));
    const readyDuringDelay = [await get('/readyz')];
    // A review answered while draining tells the client to drop its kept-alive connection.
    const drainingAnswer = await new Promise<string | undefined>((resolve, reject) => {
      request(`${url}/validate`, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.headers.connection);
      })
        .on('error', reject)
        .end(body);
    });
    expect(drainingAnswer).to.equal('close');
    // Then the listener closes; the request that was in flight still gets its answer.
    await until('the server stops accepting', () => output().includes('stopped accepting connections'));
    req?.end(body.subarray(10));
    const answered = await inFlight;
    expect(readyDuringDelay).to.deep.equal([{ status: 503, body: 'shutting down' }]);
    expect(answered.status).to.equal(200);
    expect((JSON.parse(answered.body) as { response: { uid: string; allowed: boolean } }).response).to.deep.include({
      uid: 'd1a2b3c4-0000-4000-8000-00000000000a',
      allowed: true,
    });
    expect(await exited).to.equal(0);
    expect(output()).to.contain('"msg":"stopped"');
  });

  it('a setup error after the listener opened (unreadable kubeconfig for --audit-interval) exits 2 with the reason, not serving on', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'etg-serve-'));
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--metrics-port', '0', '--audit-interval', '10'], {
      cwd,
      env: { ...process.env, KUBECONFIG: join(cwd, 'missing-kubeconfig') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // The event decides: the process exits (bounded by the test timeout if it never does).
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).to.equal(2);
    expect(err).to.match(/^etcd-tls-guard: cannot load the kubeconfig: .*missing-kubeconfig/m);
  });
});

describe('what the CLI loads', () => {
  // node-forge (42 modules, ~2 MiB of heap) only makes certificates: a webhook given its certificate
  // files, and every other command, should not carry it.
  const forgeModulesAfter = (imports: readonly string[]): Promise<number> =>
    new Promise((resolve, reject) => {
      const script = `import { createRequire } from 'node:module';
        for (const m of ${JSON.stringify(imports)}) await import(m);
        console.log(Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('node-forge')).length);`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(Number(out.trim())));
    });
  const dist = (path: string): string => new URL(`../../src/${path}`, import.meta.url).href;

  it('node-forge only to make certificates: not with the CLI and the webhook, which are given certificate files', async () => {
    expect(await forgeModulesAfter([dist('cli/main.js'), dist('cli/settings.js'), dist('webhook/runtime.js')])).to.equal(0);
    expect(await forgeModulesAfter([dist('certs/dev.js')])).to.be.greaterThan(0);
  });
});

describe('etcd-tls-guard commands and a closed or odd stdout', () => {
  const run = (args: string[], pipeToHead = false): Promise<{ code: number | null; out: string; err: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      // Like `| head -0`: the reader is gone before the command writes a byte, so its first write
      // fails with EPIPE (a small output would otherwise fit in the pipe's buffer unnoticed).
      if (pipeToHead) child.stdout.destroy();
      else child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code) => resolve({ code, out, err }));
    });

  it('every --format is checked the same way: rules --format xml is a usage error (exit 2)', async () => {
    const r = await run(['rules', '--format', 'xml']);
    expect(r.code).to.equal(2);
    expect(r.err).to.equal('etcd-tls-guard: --format must be text, json or markdown, got "xml"\n');
    expect(r.out).to.equal('');
  });

  for (const [args, code] of [
    [['rules'], 0],
    [['scan', fileURLToPath(new URL('../../../test/fixtures/distributions/', import.meta.url))], 1],
  ] as const) {
    it(`${args[0]} with its reader gone (| head): no stack trace, its own exit code (${code})`, async () => {
      const r = await run([...args], true);
      expect(r.err).to.equal('');
      expect(r.code).to.equal(code);
    });
  }
});
