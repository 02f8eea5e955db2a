/**
 * `etcd-tls-guard node` as a command: options, output, exit codes; and the node agent as a real
 * process (the DaemonSet's command): gauges on /metrics, SIGTERM → exit 0.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { chownSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { issueCertificate } from '../../src/certs/authority.js';
import { main } from '../../src/cli/main.js';
import { kubeadmNode, NODE_IP } from '../node-host.js';
import { freePort, httpGet, until } from '../processes.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), env: {}, readStdin: () => Promise.resolve('') });
  return { code, out, err };
}

describe('etcd-tls-guard node (the command)', function () {
  this.timeout(60_000);

  it('--help says what it reads, its privileges and exit codes', async () => {
    const r = await cli(['node', '--help']);
    expect(r.code).to.equal(0);
    expect(r.out)
      .to.match(/--root DIR/)
      .and.match(/CAP_SYS_PTRACE/)
      .and.match(/Exit codes/);
  });

  it('rules lists the node rules with scope node (json and text)', async () => {
    const json = JSON.parse((await cli(['rules', '--format', 'json'])).out) as Array<{ id: string; scope: string }>;
    expect(json.filter((r) => r.scope === 'node').map((r) => r.id)).to.include.members([
      'etcd-server-cert',
      'etcd-peer-cert',
      'apiserver-etcd-client-cert-valid',
      'etcd-unique-ca',
    ]);
    expect(json.find((r) => r.id === 'etcd-client-cert-auth')?.scope).to.equal('pod');
    expect((await cli(['rules'])).out).to.match(/^etcd-unique-ca +etcd +node +CIS 2\.7 \(v1\.10 2\.7\)/m);
  });

  it('a malformed --expiry-warning is a usage error (exit 2)', async () => {
    const r = await cli(['node', '--expiry-warning', '3 weeks']);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(/--expiry-warning must be a duration such as 30d or 720h/);
  });

  it('a healthy kubeadm node: exit 0, and JSON with the node rules', async () => {
    const { host } = kubeadmNode();
    try {
      // With no etcd process to show which user etcd runs as, CIS 1.1.12 asks for the etcd account.
      chownSync(host.path('var/lib/etcd'), 998, 998);
      const r = await cli(['node', '--root', host.root, '--proc', host.path('proc'), '--format', 'json', '--no-probe']);
      expect(r.code, r.out).to.equal(0);
      const report = JSON.parse(r.out) as {
        results: Array<{ findings: Array<{ rule: string; status: string }> }>;
        summary: { checked: number };
      };
      expect(report.summary.checked).to.equal(2);
      expect(report.results[0]?.findings.find((f) => f.rule === 'etcd-unique-ca')?.status).to.equal('pass');
    } finally {
      host.remove();
    }
  });

  it('an expired etcd certificate: exit 1, and the text names it with its date', async () => {
    const { host, pki } = kubeadmNode();
    try {
      host.pair(
        'etc/kubernetes/pki/etcd/server',
        issueCertificate(pki.etcdCa, {
          sans: ['localhost', NODE_IP],
          usage: 'both',
          now: new Date(Date.now() - 400 * 86_400_000),
          days: 365,
        }),
      );
      const r = await cli(['node', '--root', host.root, '--proc', host.path('proc'), '--no-probe']);
      expect(r.code).to.equal(1);
      expect(r.out).to.match(/DENY Pod kube-system\/etcd-cp-1 \(etcd in container etcd\) \/etc\/kubernetes\/manifests\/etcd.yaml#0/);
      expect(r.out).to.match(
        /fail {4}etcd-server-cert \[enforce\]: etcd's serving certificate \/etc\/kubernetes\/pki\/etcd\/server.crt: expired on /,
      );
    } finally {
      host.remove();
    }
  });

  it('nothing to check (a worker node, no host filesystem or process table): exit 4 and what was looked at, never a green 0', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'etg-worker-'));
    await mkdir(join(empty, 'proc'));
    const r = await cli(['node', '--root', empty]);
    expect(r.code).to.equal(4);
    expect(r.out).to.match(/0 control-plane containers checked/);
    expect(r.err).to.match(
      /warning: no etcd or kube-apiserver found on this node: looked for a static pod directory .*\/etc\/kubernetes\/manifests/,
    );
    expect(r.err).to.contain(`${join(empty, 'proc')} lists no process (not the host's process table`);
    // A static pod directory with something else in it, and a process table without the programs.
    await mkdir(join(empty, 'etc', 'kubernetes', 'manifests'), { recursive: true });
    await mkdir(join(empty, 'proc', '42'));
    await writeFile(join(empty, 'proc', '42', 'cmdline'), 'sleep\u0000infinity\u0000');
    const worker = await cli(['node', '--root', empty]);
    expect(worker.code).to.equal(4);
    expect(worker.err).to.contain('looked for static pod manifests in /etc/kubernetes/manifests (default)');
    expect(worker.err).to.contain('none of the 1 processes in');
  });

  it('an unreadable --manifests directory: exit 2', async () => {
    const { host } = kubeadmNode();
    try {
      const r = await cli(['node', '--root', host.root, '--proc', host.path('proc'), '--manifests', '/nowhere', '--no-probe']);
      expect(r.code).to.equal(2);
      expect(r.out).to.match(/ERROR \/nowhere: no such file on the node/);
    } finally {
      host.remove();
    }
  });

  it('the agent reads the policy again before each check, and keeps the one in force when the new one is refused', async () => {
    const { runNodeAgent } = await import('../../src/node/agent.js');
    const { DEFAULT_POLICY } = await import('../../src/policy/policy.js');
    const { createLogger } = await import('../../src/log.js');
    const { Writable } = await import('node:stream');
    const { host } = kubeadmNode();
    let logged = '';
    const log = createLogger('info', new Writable({ write: (chunk: Buffer, _e, done) => ((logged += chunk.toString()), done()) }));
    let reloads = 0;
    try {
      await runNodeAgent({
        root: host.root,
        procDir: host.path('proc'),
        policy: DEFAULT_POLICY,
        expiryWarningMs: 30 * 86_400_000,
        intervalMs: 10,
        metricsPort: 0,
        policyReport: false,
        probe: false,
        nodeName: 'cp-1',
        log,
        checks: 3,
        reloadPolicy: () => {
          reloads++;
          return reloads === 1
            ? Promise.resolve(DEFAULT_POLICY)
            : Promise.reject(new Error('policy.yaml: defaultAction must be one of enforce, warn, audit'));
        },
      });
      expect(reloads).to.equal(2);
      expect(logged.match(/"msg":"node check done"/g)).to.have.length(3);
      expect(logged).to.contain('refused the changed policy; the one in force stays');
    } finally {
      host.remove();
    }
  });

  it('the agent: gauges by rule and status, days to expiry per certificate, and SIGTERM → exit 0', async () => {
    const { host } = kubeadmNode();
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [CLI, 'node', '--root', host.root, '--proc', host.path('proc'), '--interval', '10', '--metrics-port', String(port), '--no-probe'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ETCD_TLS_GUARD_LOG_LEVEL: 'info' } },
    );
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await until('the first node check', () => log.includes('node check done'));
      const metrics = (await httpGet(`http://127.0.0.1:${port}/metrics`)).body;
      expect(metrics).to.contain('etcd_tls_guard_node_findings{rule="etcd-server-cert",status="pass"} 1');
      // Base units: the certificate's notAfter as a Unix timestamp (about a year from now here).
      const expiry =
        /etcd_tls_guard_node_certificate_expiry_timestamp_seconds\{rule="etcd-server-cert",file="\/etc\/kubernetes\/pki\/etcd\/server.crt"\} (\d+)/.exec(
          metrics,
        );
      expect(Number(expiry?.[1]) - Date.now() / 1000).to.be.within(364 * 86400, 366 * 86400);
      expect(metrics).to.match(/etcd_tls_guard_build_info\{version="\d+\.\d+\.\d+",nodejs="v\d+\.\d+\.\d+",component="node-agent"\} 1/);
      child.kill('SIGTERM');
      expect(await exited).to.equal(0);
    } finally {
      child.kill('SIGKILL');
      host.remove();
    }
  });
});
