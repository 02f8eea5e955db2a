/**
 * The node check on real etcd processes (Debian's etcd-server, installed by .ci/run): found in /proc,
 * argv from cmdline, settings from environ and from a config file read through /proc/PID/root, and
 * compared with their manifest (drift). A TLS client without a certificate then shows what the
 * running etcd really does, which the verdict must match.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDevCertificates } from '../../src/certs/dev.js';
import { checkNode, checkNodeProbing } from '../../src/node/check.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import type { ReportRow } from '../../src/report/report.js';
import { HostDir } from '../node-host.js';
import { freePort, until } from '../processes.js';

/** Whether etcd answers GET /health to a TLS client that presents no certificate. */
function answersWithoutCertificate(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let data = '';
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () =>
      s.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    );
    s.on('data', (d: Buffer) => (data += d.toString()));
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(data.startsWith('HTTP/1.1 200')));
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    s.on('secureConnect', () => (s.destroy(), resolve(true)));
    s.on('error', (e: NodeJS.ErrnoException) => (s.destroy(), resolve(e.code !== 'ECONNREFUSED')));
  });
}

const etcdBin = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();

describe('etcd-tls-guard node on running etcd processes (/proc)', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'etg-proc-'));
  const children: ChildProcess[] = [];
  const ports = { envRun: 0, fileRun: 0 };
  let rows: readonly ReportRow[] = [];
  const host = new HostDir();

  before(async function () {
    if (etcdBin === '') {
      if (process.env.CI === 'true') throw new Error('etcd is not installed: apt-get install etcd-server');
      this.skip();
    }
    const certs = generateDevCertificates(['localhost', '127.0.0.1']);
    writeFileSync(join(dir, 'server.crt'), certs.server.certPem, { mode: 0o644 });
    writeFileSync(join(dir, 'server.key'), certs.server.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'ca.crt'), certs.ca.certPem, { mode: 0o644 });
    ports.envRun = await freePort();
    ports.fileRun = await freePort();
    const [peerA, peerB] = [await freePort(), await freePort()];
    const urls = (c: number, p: number): string[] => [
      `--listen-client-urls=https://127.0.0.1:${c}`,
      `--advertise-client-urls=https://127.0.0.1:${c}`,
      `--listen-peer-urls=http://127.0.0.1:${p}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${p}`,
      `--initial-cluster=default=http://127.0.0.1:${p}`,
    ];
    // Run 1: flags in argv, TLS files and client-cert-auth in ETCD_* variables.
    const argvA = [etcdBin, `--data-dir=${join(dir, 'a')}`, ...urls(ports.envRun, peerA)];
    children.push(
      spawn(argvA[0] as string, argvA.slice(1), {
        env: {
          PATH: '/usr/bin:/bin',
          ETCD_CERT_FILE: join(dir, 'server.crt'),
          ETCD_KEY_FILE: join(dir, 'server.key'),
          ETCD_TRUSTED_CA_FILE: join(dir, 'ca.crt'),
          ETCD_CLIENT_CERT_AUTH: 'true',
        },
        stdio: 'ignore',
      }),
    );
    // Run 2: everything in a config file, client-cert-auth false and no trusted CA.
    writeFileSync(
      join(dir, 'etcd.conf.yml'),
      `data-dir: ${join(dir, 'b')}\nlisten-client-urls: https://127.0.0.1:${ports.fileRun}\nadvertise-client-urls: https://127.0.0.1:${ports.fileRun}\nlisten-peer-urls: http://127.0.0.1:${peerB}\ninitial-advertise-peer-urls: http://127.0.0.1:${peerB}\ninitial-cluster: default=http://127.0.0.1:${peerB}\nclient-transport-security:\n  cert-file: ${join(dir, 'server.crt')}\n  key-file: ${join(dir, 'server.key')}\n  client-cert-auth: false\n`,
    );
    children.push(spawn(etcdBin, [`--config-file=${join(dir, 'etcd.conf.yml')}`], { env: { PATH: '/usr/bin:/bin' }, stdio: 'ignore' }));
    for (const port of [ports.envRun, ports.fileRun]) {
      let up = false;
      await until(`etcd listening on ${port}`, () => {
        void listening(port).then((l) => (up = l));
        return up;
      });
    }
    // The node's manifest for etcd: run 1's settings, as flags.
    const manifestArgs = [
      `--data-dir=${join(dir, 'a')}`,
      ...urls(ports.envRun, peerA),
      `--cert-file=${join(dir, 'server.crt')}`,
      `--key-file=${join(dir, 'server.key')}`,
      `--trusted-ca-file=${join(dir, 'ca.crt')}`,
      '--client-cert-auth=true',
    ];
    host.write(
      'etc/kubernetes/manifests/etcd.yaml',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'etcd', namespace: 'kube-system' },
        spec: { containers: [{ name: 'etcd', image: 'registry.k8s.io/etcd:3.5.15-0', command: ['etcd', ...manifestArgs] }] },
      }),
    );
    const pids = new Set(children.map((c) => c.pid as number));
    rows = checkNode({
      root: host.root,
      procDir: '/proc',
      pids,
      policy: DEFAULT_POLICY,
      now: Date.now(),
      expiryWarningMs: 30 * 86_400_000,
    }).rows;
  });

  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    host.remove();
  });

  const rowOf = (pid: number | undefined): ReportRow => {
    const r = rows.find((x) => x.source === `/proc/${pid ?? ''}`);
    if (r === undefined) throw new Error(`no row for pid ${pid ?? ''}: ${rows.map((x) => x.source).join(', ')}`);
    return r;
  };
  const finding = (row: ReportRow, rule: string): ReportRow['findings'][number] => {
    const f = row.findings.find((x) => x.rule === rule);
    if (f === undefined) throw new Error(`no ${rule}`);
    return f;
  };

  it('finds both processes, and the manifest', () => {
    expect(rows.map((r) => r.kind)).to.deep.equal(['Pod', 'Process', 'Process']);
    expect(rowOf(children[0]?.pid).name).to.equal(`etcd (pid ${children[0]?.pid ?? ''})`);
  });

  it('run 1: client-cert-auth from /proc/PID/environ passes, and etcd really refuses a client without a certificate', async () => {
    const f = finding(rowOf(children[0]?.pid), 'etcd-client-cert-auth');
    expect(f.status).to.equal('pass');
    expect(f.evidence).to.deep.equal(['ETCD_CLIENT_CERT_AUTH=true (env)']);
    expect(finding(rowOf(children[0]?.pid), 'etcd-client-auth-effective').status).to.equal('pass');
    expect(await answersWithoutCertificate(ports.envRun)).to.equal(false);
  });

  it('run 1: the certificate files are read through /proc/PID/root', () => {
    const f = finding(rowOf(children[0]?.pid), 'etcd-server-cert');
    expect(f.status, f.message).to.equal('pass');
    expect(f.file).to.equal(join(dir, 'server.crt'));
  });

  it('run 1 has the settings of its manifest: no drift', () => {
    const f = finding(rowOf(children[0]?.pid), 'etcd-running-matches-manifest');
    expect(f.status, f.message).to.equal('pass');
  });

  it('run 2: the config file says client-cert-auth false, and etcd really answers a client without a certificate', async () => {
    const row = rowOf(children[1]?.pid);
    const f = finding(row, 'etcd-client-cert-auth');
    expect(f.status).to.equal('fail');
    expect(f.evidence).to.deep.equal([`client-transport-security.client-cert-auth: false (${join(dir, 'etcd.conf.yml')})`]);
    expect(finding(row, 'etcd-client-auth-effective').status).to.equal('fail');
    expect(await answersWithoutCertificate(ports.fileRun)).to.equal(true);
  });

  it('probed (the default of etcd-tls-guard node): run 1 refuses a client with no certificate, run 2 serves one — what the configurations said', async () => {
    const probed = (
      await checkNodeProbing({
        root: host.root,
        procDir: '/proc',
        pids: new Set(children.map((c) => c.pid as number)),
        policy: DEFAULT_POLICY,
        now: Date.now(),
        expiryWarningMs: 30 * 86_400_000,
      })
    ).rows;
    const observed = (pid: number | undefined) => {
      const f = probed
        .find((r) => r.kind === 'Process' && r.name?.endsWith(`(pid ${pid ?? ''})`))
        ?.findings.find((x) => x.rule === 'etcd-client-auth-observed');
      if (f === undefined) throw new Error(`no observed finding for pid ${pid ?? ''}`);
      return f;
    };
    const refusing = observed(children[0]?.pid);
    expect(refusing.status, refusing.message).to.equal('pass');
    expect(refusing.evidence[0]).to.match(
      /^https:\/\/127\.0\.0\.1:\d+: the server ended the TLS handshake without a client certificate \(TLS alert bad certificate \(42\)\) \(server certificate CN=localhost, issued by CN=etcd-tls-guard development CA, valid until \d{4}-\d\d-\d\dT[\d:.]+Z\)$/,
    );
    const serving = observed(children[1]?.pid);
    expect(serving.status).to.equal('fail');
    expect(serving.message).to.equal(`a client with no certificate was served at https://127.0.0.1:${ports.fileRun}`);
    // Without probes the same check claims nothing on the wire.
    expect(finding(rowOf(children[1]?.pid), 'etcd-client-auth-observed')).to.include({
      status: 'not-applicable',
      message: 'not probed (--no-probe; or a manifest: the running process is what is probed)',
    });
  });

  it('run 2 differs from the manifest on the node: drift', () => {
    const f = finding(rowOf(children[1]?.pid), 'etcd-running-matches-manifest');
    expect(f.status).to.equal('fail');
    expect(f.message).to.contain('--client-cert-auth: running false, manifest true');
    expect(f.message).to.contain('--trusted-ca-file: running (not set)');
  });
});
