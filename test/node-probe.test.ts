/**
 * The probes of the observed rules (src/node/probe.ts) against real etcd — Debian's etcd-server,
 * 3.4.23 here — started with each TLS configuration a cluster really has, and the rule that judges
 * what they met (src/rules/observed.ts). What etcd does is measured, not assumed: `--trusted-ca-file`
 * without `--client-cert-auth` refuses a client with no certificate (etcd 3.4 verifies client
 * certificates whenever it has a trusted CA), `--auto-tls` serves anyone.
 *   npm run build && npx mocha dist/test/node-probe.test.js
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDevCertificates } from '../src/certs/dev.js';
import { probeEndpoint, probeEndpoints } from '../src/node/probe.js';
import { observedClientAuth, probeTargetsOf, type Observation, type ProbeTarget } from '../src/rules/observed.js';
import { readApiserverConfig } from '../src/configuration/apiserver.js';
import { readEtcdConfig } from '../src/configuration/etcd.js';
import { processInvocations } from '../src/launch/invocation.js';
import type { NodeContext } from '../src/rules/outcome.js';
import { freePort, until } from './processes.js';

const etcdBin = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();

function target(url: string): ProbeTarget {
  const t = probeTargetsOf(
    'kube-apiserver',
    readApiserverConfig(processInvocations(['kube-apiserver', `--etcd-servers=${url}`], new Map())[0] as never),
  )[0];
  if (t === undefined) throw new Error(`no target for ${url}`);
  return t;
}

describe('observed rules: what a client with no certificate meets at real etcd', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'etg-probe-'));
  const children: ChildProcess[] = [];
  const urls: Record<string, string> = {};

  before(async function () {
    if (etcdBin === '') {
      if (process.env.CI === 'true') throw new Error('etcd is not installed: apt-get install etcd-server');
      this.skip();
    }
    const certs = generateDevCertificates(['localhost', '127.0.0.1']);
    writeFileSync(join(dir, 'server.crt'), certs.server.certPem);
    writeFileSync(join(dir, 'server.key'), certs.server.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'ca.crt'), certs.ca.certPem);
    const tls = [`--cert-file=${join(dir, 'server.crt')}`, `--key-file=${join(dir, 'server.key')}`];
    const configurations: Record<string, { scheme: 'http' | 'https'; flags: string[] }> = {
      'tls-without-client-auth': { scheme: 'https', flags: tls },
      'client-cert-auth': { scheme: 'https', flags: [...tls, `--trusted-ca-file=${join(dir, 'ca.crt')}`, '--client-cert-auth=true'] },
      'trusted-ca-only': { scheme: 'https', flags: [...tls, `--trusted-ca-file=${join(dir, 'ca.crt')}`] },
      'auto-tls': { scheme: 'https', flags: ['--auto-tls=true'] },
      plaintext: { scheme: 'http', flags: [] },
    };
    for (const [name, c] of Object.entries(configurations)) {
      const [client, peer] = [await freePort(), await freePort()];
      urls[name] = `${c.scheme}://127.0.0.1:${client}`;
      children.push(
        spawn(
          etcdBin,
          [
            `--name=${name}`,
            `--data-dir=${join(dir, name)}`,
            `--listen-client-urls=${urls[name]}`,
            `--advertise-client-urls=${urls[name]}`,
            `--listen-peer-urls=http://127.0.0.1:${peer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
            `--initial-cluster=${name}=http://127.0.0.1:${peer}`,
            ...c.flags,
          ],
          { stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } },
        ),
      );
    }
    // Each listens once it has its certificate; an answer of any kind (or a TLS alert) says it is up.
    for (const url of Object.values(urls)) {
      let up = false;
      await until(`etcd at ${url}`, () => {
        void probeEndpoint(target(url), 1000).then((o) => (up = o.kind !== 'unreachable'));
        return up;
      });
    }
  });

  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const expected: [string, Observation['kind'], RegExp][] = [
    [
      'tls-without-client-auth',
      'served',
      /^TLS handshake completed without a client certificate; GET \/version answered HTTP\/1\.1 200 OK$/,
    ],
    [
      'client-cert-auth',
      'refused',
      /^the server ended the TLS handshake without a client certificate \(TLS alert bad certificate \(42\)\)$/,
    ],
    ['trusted-ca-only', 'refused', /^the server ended the TLS handshake without a client certificate/],
    ['auto-tls', 'served', /^TLS handshake completed without a client certificate/],
    ['plaintext', 'served', /^plaintext GET \/version answered HTTP\/1\.1 200 OK$/],
  ];
  for (const [name, kind, detail] of expected) {
    it(`${name}: ${kind}`, async () => {
      const o = await probeEndpoint(target(urls[name] as string), 2000);
      expect(o.kind, JSON.stringify(o)).to.equal(kind);
      expect(o.detail).to.match(detail);
    });
  }

  it('the server certificate is in the evidence: the CA that signed it, or auto-TLS’s self-signed one', async () => {
    const signed = await probeEndpoint(target(urls['client-cert-auth'] as string), 2000);
    expect(signed.kind !== 'unreachable' && signed.server).to.deep.include({
      subject: 'CN=localhost',
      issuer: 'CN=etcd-tls-guard development CA',
    });
    const auto = await probeEndpoint(target(urls['auto-tls'] as string), 2000);
    expect(auto.kind !== 'unreachable' && auto.server?.subject).to.equal(auto.kind !== 'unreachable' && auto.server?.issuer);
  });

  it('nothing listening: unreachable, within the deadline', async () => {
    const port = await freePort();
    const started = Date.now();
    const o = await probeEndpoint(target(`https://127.0.0.1:${port}`), 2000);
    expect(o).to.deep.include({ kind: 'unreachable' });
    expect(o.detail).to.match(/ECONNREFUSED/);
    expect(Date.now() - started).to.be.below(2000);
  });

  it('external etcd through kube-apiserver’s --etcd-servers: one refusing and one serving member fail the API server’s rule', async () => {
    const config = readApiserverConfig(
      processInvocations(
        ['kube-apiserver', `--etcd-servers=${urls['client-cert-auth'] ?? ''},${urls['tls-without-client-auth'] ?? ''}`],
        new Map(),
      )[0] as never,
    );
    const observed = await probeEndpoints(probeTargetsOf('kube-apiserver', config));
    const outcome = observedClientAuth('kube-apiserver', 'client')(config, { observed: (u) => observed.get(u) } as NodeContext);
    expect(outcome.status).to.equal('fail');
    expect(outcome.message).to.equal(`a client with no certificate was served at ${urls['tls-without-client-auth'] ?? ''}`);
    expect(outcome.evidence).to.have.length(2);
  });
});

describe('observed rules: the judgement of what was met (pure)', () => {
  const etcd = (args: string[]) => readEtcdConfig(processInvocations(['etcd', ...args], new Map())[0] as never);
  const node = (observations: Record<string, Observation>): NodeContext => ({ observed: (u: string) => observations[u] }) as NodeContext;
  const refused: Observation = { kind: 'refused', detail: 'the server ended the TLS handshake without a client certificate' };
  const served: Observation = { kind: 'served', transport: 'tls', detail: 'TLS handshake completed without a client certificate' };
  const unreachable: Observation = { kind: 'unreachable', detail: 'ECONNREFUSED' };
  const rule = observedClientAuth('etcd', 'client');

  it('a wildcard listener is dialled on the loopback of its family; the default listener when the flag is unset', () => {
    const targets = probeTargetsOf('etcd', etcd(['--listen-client-urls=https://0.0.0.0:2379,https://[::]:2381']));
    expect(targets.filter((t) => t.side === 'client').map((t) => [t.url, t.host, t.port])).to.deep.equal([
      ['https://0.0.0.0:2379', '127.0.0.1', 2379],
      ['https://[::]:2381', '::1', 2381],
    ]);
    // etcd's default listener when the flag is unset.
    expect(probeTargetsOf('etcd', etcd([])).map((t) => t.url)).to.deep.equal(['http://localhost:2379', 'http://localhost:2380']);
  });

  it('--etcd-servers-overrides adds its servers', () => {
    const config = readApiserverConfig(
      processInvocations(
        [
          'kube-apiserver',
          '--etcd-servers=https://10.0.0.5:2379',
          '--etcd-servers-overrides=/events#https://10.0.0.9:2379;https://10.0.0.10:2379',
        ],
        new Map(),
      )[0] as never,
    );
    expect(probeTargetsOf('kube-apiserver', config).map((t) => t.url)).to.deep.equal([
      'https://10.0.0.5:2379',
      'https://10.0.0.9:2379',
      'https://10.0.0.10:2379',
    ]);
  });

  const table: [string, Record<string, Observation>, string][] = [
    ['every endpoint refused: pass', { 'https://127.0.0.1:2379': refused, 'https://10.0.0.1:2379': refused }, 'pass'],
    ['one served: fail, whatever the others', { 'https://127.0.0.1:2379': refused, 'https://10.0.0.1:2379': served }, 'fail'],
    [
      'one unreachable, none served: unknown, never a pass',
      { 'https://127.0.0.1:2379': refused, 'https://10.0.0.1:2379': unreachable },
      'unknown',
    ],
    ['one beyond the endpoint limit (no observation): unknown', { 'https://127.0.0.1:2379': refused }, 'unknown'],
  ];
  for (const [what, observations, status] of table) {
    it(what, () => {
      const config = etcd(['--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.1:2379']);
      expect(rule(config, node(observations)).status).to.equal(status);
    });
  }

  it('--no-probe: not applicable, saying so; nothing to probe: not applicable', () => {
    expect(rule(etcd(['--listen-client-urls=https://127.0.0.1:2379']), {} as NodeContext)).to.include({
      status: 'not-applicable',
      message: 'not probed (--no-probe; or a manifest: the running process is what is probed)',
    });
    expect(rule(etcd(['--listen-client-urls=unix://etcd.sock']), node({})).status).to.equal('not-applicable');
  });
});
