/**
 * The probes of the observed rules (src/node/probe.ts) against real etcd — Debian's etcd-server
 * (3.4.23) and the releases test/tools/etcd-flags/build.sh builds (3.5, 3.6, 3.7) — started with
 * each TLS configuration a cluster really has, on the client and the peer port, and the rule that
 * judges what they met (src/rules/observed.ts). What etcd does is measured, not assumed:
 * `--trusted-ca-file` without `--client-cert-auth` refuses a client with no certificate (etcd
 * verifies client certificates whenever it has a trusted CA), `--auto-tls` serves anyone.
 *   npm run build && npx mocha dist/test/node/probe.test.js
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCa, issueCertificate } from '../../src/certs/authority.js';
import { probeEndpoint, probeEndpoints, type ClientCredentials } from '../../src/node/probe.js';
import { observedClientAuth, probeTargetsOf, type Observation, type ProbeTarget } from '../../src/rules/observed.js';
import { readApiserverConfig } from '../../src/program-config/apiserver.js';
import { readEtcdConfig } from '../../src/program-config/etcd.js';
import { findInvocations, processInvocations } from '../../src/launch/invocation.js';
import { podWith } from '../helpers.js';
import type { NodeContext } from '../../src/rules/outcome.js';
import { etcdBinaries, freePort, until } from '../processes.js';

function target(url: string): ProbeTarget {
  const t = probeTargetsOf(
    'kube-apiserver',
    readApiserverConfig(processInvocations(['kube-apiserver', `--etcd-servers=${url}`], new Map())[0] as never),
  )[0];
  if (t === undefined) throw new Error(`no target for ${url}`);
  return t;
}

/** One PKI for every release: etcd's serving (and peer) certificate, a client of its CA, and another CA. */
const ca = generateCa({ commonName: 'etcd-ca' });
const server = issueCertificate(ca, { sans: ['localhost', '127.0.0.1'], usage: 'both' });
const client = issueCertificate(ca, { sans: [], commonName: 'kube-apiserver-etcd-client', usage: 'client' });
const otherCa = generateCa({ commonName: 'another-ca' });
const stranger = issueCertificate(otherCa, { sans: [], commonName: 'stranger', usage: 'client' });

type Side = 'client' | 'peer';
/** Each configuration, and what a client with no certificate meets on each port. */
const CONFIGURATIONS: ReadonlyArray<{
  name: string;
  flags: (f: (name: string) => string) => { client: string[]; peer: string[] };
  scheme: Record<Side, 'http' | 'https'>;
  expected: Record<Side, Observation['kind']>;
}> = [
  {
    name: 'TLS without client authentication',
    flags: (f) => ({
      client: [`--cert-file=${f('server.crt')}`, `--key-file=${f('server.key')}`],
      peer: [`--peer-cert-file=${f('server.crt')}`, `--peer-key-file=${f('server.key')}`],
    }),
    scheme: { client: 'https', peer: 'https' },
    expected: { client: 'served', peer: 'served' },
  },
  {
    name: 'client-cert-auth with a trusted CA',
    flags: (f) => ({
      client: [
        `--cert-file=${f('server.crt')}`,
        `--key-file=${f('server.key')}`,
        `--trusted-ca-file=${f('ca.crt')}`,
        '--client-cert-auth=true',
      ],
      peer: [
        `--peer-cert-file=${f('server.crt')}`,
        `--peer-key-file=${f('server.key')}`,
        `--peer-trusted-ca-file=${f('ca.crt')}`,
        '--peer-client-cert-auth=true',
      ],
    }),
    scheme: { client: 'https', peer: 'https' },
    expected: { client: 'refused', peer: 'refused' },
  },
  {
    name: 'a trusted CA alone',
    flags: (f) => ({
      client: [`--cert-file=${f('server.crt')}`, `--key-file=${f('server.key')}`, `--trusted-ca-file=${f('ca.crt')}`],
      peer: [`--peer-cert-file=${f('server.crt')}`, `--peer-key-file=${f('server.key')}`, `--peer-trusted-ca-file=${f('ca.crt')}`],
    }),
    scheme: { client: 'https', peer: 'https' },
    expected: { client: 'refused', peer: 'refused' },
  },
  {
    name: 'auto-TLS',
    flags: () => ({ client: ['--auto-tls=true'], peer: ['--peer-auto-tls=true'] }),
    scheme: { client: 'https', peer: 'https' },
    expected: { client: 'served', peer: 'served' },
  },
  {
    name: 'plaintext',
    flags: () => ({ client: [], peer: [] }),
    scheme: { client: 'http', peer: 'http' },
    expected: { client: 'served', peer: 'served' },
  },
];

const binaries = etcdBinaries();
for (const { release, bin } of binaries.length > 0 ? binaries : [{ release: 'none', bin: '' }]) {
  describe(`observed rules: what a client with no certificate meets at real etcd (${release === 'none' ? 'not installed' : `etcd ${release}`})`, function () {
    this.timeout(120_000);
    const dir = mkdtempSync(join(tmpdir(), 'etg-probe-'));
    const f = (name: string): string => join(dir, name);
    const children: ChildProcess[] = [];
    const urls: Record<string, Record<Side, string>> = {};
    const credentials = (cert = client, caFile = 'ca.crt'): ClientCredentials => ({
      certFile: '/etc/kubernetes/pki/apiserver-etcd-client.crt',
      cert: cert.certPem,
      key: cert.keyPem,
      caFile: `/etc/kubernetes/pki/etcd/${caFile}`,
      ca: caFile === 'ca.crt' ? ca.certPem : otherCa.certPem,
    });

    before(async function () {
      if (release === 'none') {
        if (process.env.CI === 'true') throw new Error('etcd is not installed: apt-get install etcd-server');
        this.skip();
      }
      writeFileSync(f('server.crt'), server.certPem);
      writeFileSync(f('server.key'), server.keyPem, { mode: 0o600 });
      writeFileSync(f('ca.crt'), ca.certPem);
      for (const c of CONFIGURATIONS) {
        const [clientPort, peerPort] = [await freePort(), await freePort()];
        const u = { client: `${c.scheme.client}://127.0.0.1:${clientPort}`, peer: `${c.scheme.peer}://127.0.0.1:${peerPort}` };
        urls[c.name] = u;
        const flags = c.flags(f);
        const name = `m${children.length}`;
        children.push(
          spawn(
            bin,
            [
              `--name=${name}`,
              `--data-dir=${f(name)}`,
              `--listen-client-urls=${u.client}`,
              `--advertise-client-urls=${u.client}`,
              `--listen-peer-urls=${u.peer}`,
              `--initial-advertise-peer-urls=${u.peer}`,
              `--initial-cluster=${name}=${u.peer}`,
              ...flags.client,
              ...flags.peer,
            ],
            { stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } },
          ),
        );
      }
      // Each listens once it has its certificates; an answer of any kind (or a TLS alert) says it is up.
      for (const u of Object.values(urls))
        for (const url of [u.client, u.peer]) {
          let up = false;
          await until(`etcd ${release} at ${url}`, () => {
            void probeEndpoint(target(url), 1000).then((o) => (up = o.kind !== 'unreachable'));
            return up;
          });
        }
    });

    after(() => {
      for (const c of children) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });

    for (const c of CONFIGURATIONS)
      for (const side of ['client', 'peer'] as const)
        it(`${c.name}, ${side} port: ${c.expected[side]}`, async () => {
          const o = await probeEndpoint(target(urls[c.name]?.[side] ?? ''), 2000);
          expect(o.kind, JSON.stringify(o)).to.equal(c.expected[side]);
          if (o.kind === 'served')
            expect(o.detail).to.match(
              c.scheme[side] === 'https'
                ? /^TLS handshake completed without a client certificate; GET \/version answered HTTP\/1\.1 200 OK$/
                : /^plaintext GET \/version answered HTTP\/1\.1 200 OK$/,
            );
          // Go's TLS server asks for a certificate and ends the handshake with an alert when none comes.
          if (o.kind === 'refused')
            expect(o.detail).to.match(
              /^the server ended the TLS handshake without a client certificate \(TLS alert (bad certificate \(42\)|certificate required \(116\))\)$/,
            );
        });

    it('the server certificate is in the evidence: the CA that signed it, or auto-TLS’s self-signed one', async () => {
      const signed = await probeEndpoint(target(urls['client-cert-auth with a trusted CA']?.client ?? ''), 2000);
      expect(signed.kind !== 'unreachable' && signed.server).to.deep.include({ subject: 'CN=localhost', issuer: 'CN=etcd-ca' });
      const auto = await probeEndpoint(target(urls['auto-TLS']?.client ?? ''), 2000);
      expect(auto.kind !== 'unreachable' && auto.server?.subject).to.equal(auto.kind !== 'unreachable' && auto.server?.issuer);
    });

    it('the positive check: kube-apiserver’s client certificate is accepted where one without is refused, and --etcd-cafile verifies the server', async () => {
      for (const name of ['client-cert-auth with a trusted CA', 'a trusted CA alone']) {
        const o = await probeEndpoint(target(urls[name]?.client ?? ''), 2000, credentials());
        expect(o.kind, name).to.equal('refused');
        expect(o.kind === 'refused' && o.withCertificate, name).to.deep.equal({
          certFile: '/etc/kubernetes/pki/apiserver-etcd-client.crt',
          result: 'accepted',
          detail: 'TLS handshake completed; GET /version answered HTTP/1.1 200 OK',
          verifiedBy: { caFile: '/etc/kubernetes/pki/etcd/ca.crt', verified: true, detail: 'chain and host verified' },
        });
      }
    });

    it('the positive check tells a certificate of another CA refused, and a server --etcd-cafile does not verify', async () => {
      const url = urls['client-cert-auth with a trusted CA']?.client ?? '';
      const strangerOutcome = await probeEndpoint(target(url), 2000, credentials(stranger));
      expect(strangerOutcome.kind === 'refused' && strangerOutcome.withCertificate?.result).to.equal('refused');
      const wrongCa = await probeEndpoint(target(url), 2000, credentials(client, 'other-ca.crt'));
      expect(wrongCa.kind === 'refused' && wrongCa.withCertificate).to.deep.include({ result: 'accepted' });
      expect(wrongCa.kind === 'refused' && wrongCa.withCertificate?.verifiedBy).to.deep.equal({
        caFile: '/etc/kubernetes/pki/etcd/other-ca.crt',
        verified: false,
        detail: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      });
    });

    it('credentials Node cannot use (a key that is not the certificate’s, not PEM at all): not tried, with the reason; never a crash', async () => {
      const url = urls['client-cert-auth with a trusted CA']?.client ?? '';
      for (const [what, bad, reason] of [
        ['a key of another certificate', { ...credentials(), key: stranger.keyPem }, /key values mismatch/],
        ['no PEM', { ...credentials(), cert: 'not a certificate', key: 'not a key' }, /no start line|PEM/],
      ] as const) {
        const o = await probeEndpoint(target(url), 2000, bad);
        expect(o.kind, what).to.equal('refused');
        const withCertificate = o.kind === 'refused' ? o.withCertificate : undefined;
        expect(withCertificate?.result, what).to.equal('not-tried');
        expect(withCertificate?.detail, what).to.match(/^the client certificate, key or CA cannot be used: /);
        expect(withCertificate?.detail, what).to.match(reason);
      }
    });

    it('credentials are sent only to a server that refused a client without one', async () => {
      const o = await probeEndpoint(target(urls['TLS without client authentication']?.client ?? ''), 2000, credentials());
      expect(o.kind).to.equal('served');
      expect(o).to.not.have.property('withCertificate');
    });

    it('external etcd through kube-apiserver’s --etcd-servers: one refusing and one serving member fail the API server’s rule', async () => {
      const [refusing, serving] = [
        urls['client-cert-auth with a trusted CA']?.client ?? '',
        urls['TLS without client authentication']?.client ?? '',
      ];
      const config = readApiserverConfig(
        processInvocations(['kube-apiserver', `--etcd-servers=${refusing},${serving}`], new Map())[0] as never,
      );
      const observed = await probeEndpoints(probeTargetsOf('kube-apiserver', config));
      const outcome = observedClientAuth('kube-apiserver', 'client')(config, { observed: (u) => observed.get(u) } as NodeContext);
      expect(outcome.status).to.equal('fail');
      expect(outcome.message).to.equal(`a client with no certificate was served at ${serving}`);
      expect(outcome.evidence).to.have.length(2);
    });

    it('k3s’s etcd-arg lands at the top of the config file, where etcd ignores TLS: a top-level client-cert-auth changes nothing', async () => {
      // k3s writes client-transport-security itself and each etcd-arg as a top-level key
      // (ETCDConfig.ToConfigFile): `--etcd-arg=client-cert-auth=false` beside k3s's nested true, and a
      // top-level true where the nested key is absent.
      const started: ChildProcess[] = [];
      try {
        const seen: Record<string, Observation['kind']> = {};
        for (const [name, tls] of [
          [
            'nested true, top-level false',
            `client-transport-security:\n  cert-file: ${f('server.crt')}\n  key-file: ${f('server.key')}\n  trusted-ca-file: ${f('ca.crt')}\n  client-cert-auth: true\nclient-cert-auth: false\n`,
          ],
          [
            'nested absent, top-level true',
            `client-transport-security:\n  cert-file: ${f('server.crt')}\n  key-file: ${f('server.key')}\nclient-cert-auth: true\ntrusted-ca-file: ${f('ca.crt')}\n`,
          ],
        ] as const) {
          const [clientPort, peerPort] = [await freePort(), await freePort()];
          const member = `k${started.length}`;
          const url = `https://127.0.0.1:${clientPort}`;
          writeFileSync(
            f(`${member}.yaml`),
            `name: ${member}\ndata-dir: ${f(member)}\nlisten-client-urls: ${url}\nadvertise-client-urls: ${url}\nlisten-peer-urls: http://127.0.0.1:${peerPort}\ninitial-advertise-peer-urls: http://127.0.0.1:${peerPort}\ninitial-cluster: ${member}=http://127.0.0.1:${peerPort}\n${tls}`,
          );
          started.push(spawn(bin, [`--config-file=${f(`${member}.yaml`)}`], { stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } }));
          let o: Observation | undefined;
          await until(`etcd ${release} at ${url}`, () => {
            void probeEndpoint(target(url), 1000).then((r) => (o = r.kind !== 'unreachable' ? r : o));
            return o !== undefined;
          });
          seen[name] = (o as Observation).kind;
        }
        expect(seen).to.deep.equal({ 'nested true, top-level false': 'refused', 'nested absent, top-level true': 'served' });
      } finally {
        for (const c of started) c.kill('SIGKILL');
      }
    });

    it('a peer port that serves anyone fails etcd-peer-auth-observed; one that refuses passes', async () => {
      for (const [name, status] of [
        ['TLS without client authentication', 'fail'],
        ['client-cert-auth with a trusted CA', 'pass'],
      ] as const) {
        const peerUrl = urls[name]?.peer ?? '';
        const config = readEtcdConfig(processInvocations(['etcd', `--listen-peer-urls=${peerUrl}`], new Map())[0] as never);
        const observed = await probeEndpoints(probeTargetsOf('etcd', config).filter((t) => t.side === 'peer'));
        expect(observedClientAuth('etcd', 'peer')(config, { observed: (u) => observed.get(u) } as NodeContext).status, name).to.equal(
          status,
        );
      }
    });
  });
}

describe('observed rules: nothing listening', () => {
  it('unreachable, within the deadline', async () => {
    const port = await freePort();
    const started = Date.now();
    const o = await probeEndpoint(target(`https://127.0.0.1:${port}`), 2000);
    expect(o).to.deep.include({ kind: 'unreachable' });
    expect(o.detail).to.match(/ECONNREFUSED/);
    expect(Date.now() - started).to.be.below(2000);
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

  it('endpoint URLs out of sight (a value etcd refuses): unknown with the reason, not “nothing to probe”', () => {
    const outcome = rule(etcd(['--listen-client-urls=unix://x']), node({}));
    expect(outcome.status).to.equal('unknown');
    expect(outcome.message).to.match(/^the client endpoint URLs are out of sight: --listen-client-urls: invalid value "unix:\/\/x"/);
  });

  it('one URL list out of sight beside another that was probed: unknown, never a pass', () => {
    // kube-apiserver's --etcd-servers-overrides from a Secret: out of sight of the judgement.
    const pod = podWith({
      command: ['kube-apiserver', '--etcd-servers=https://10.0.0.5:2379', '--etcd-servers-overrides=$(OVERRIDES)'],
      env: [{ name: 'OVERRIDES', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
    });
    const config = readApiserverConfig(findInvocations(pod, pod.spec.containers[0] as never)[0] as never);
    if (config.get('etcd-servers-overrides').state !== 'unknown') return expect.fail('the override should be out of sight');
    const outcome = observedClientAuth('kube-apiserver', 'client')(config, node({ 'https://10.0.0.5:2379': refused }));
    expect(outcome.status).to.equal('unknown');
    expect(outcome.message).to.match(/^some etcd server URLs are out of sight: --etcd-servers-overrides: /);
  });

  it('the positive check, in the message and the evidence: accepted and verified, refused, or not verified', () => {
    const config = readApiserverConfig(
      processInvocations(
        [
          'kube-apiserver',
          '--etcd-servers=https://10.0.0.5:2379,https://10.0.0.6:2379',
          '--etcd-certfile=/pki/client.crt',
          '--etcd-keyfile=/pki/client.key',
          '--etcd-cafile=/pki/ca.crt',
        ],
        new Map(),
      )[0] as never,
    );
    expect(probeTargetsOf('kube-apiserver', config)[0]?.identity).to.deep.equal({
      certFile: '/pki/client.crt',
      keyFile: '/pki/client.key',
      caFile: '/pki/ca.crt',
    });
    const verified = { caFile: '/pki/ca.crt', verified: true, detail: 'chain and host verified' };
    const accepted: Observation = {
      ...refused,
      withCertificate: {
        certFile: '/pki/client.crt',
        result: 'accepted',
        detail: 'GET /version answered HTTP/1.1 200 OK',
        verifiedBy: verified,
      },
    };
    const apiserverRule = observedClientAuth('kube-apiserver', 'client');
    const both = apiserverRule(config, node({ 'https://10.0.0.5:2379': accepted, 'https://10.0.0.6:2379': accepted }));
    expect(both.status).to.equal('pass');
    expect(both.message).to.equal(
      "every etcd server refused a client with no certificate and accepted kube-apiserver's client certificate",
    );
    expect(both.evidence[0]).to.equal(
      "https://10.0.0.5:2379: the server ended the TLS handshake without a client certificate; with kube-apiserver's --etcd-certfile /pki/client.crt: accepted (GET /version answered HTTP/1.1 200 OK); its certificate is verified by --etcd-cafile /pki/ca.crt",
    );
    const refusedToo: Observation = {
      ...refused,
      withCertificate: {
        certFile: '/pki/client.crt',
        result: 'refused',
        detail: 'the server ended the TLS handshake (TLS alert bad certificate (42))',
        verifiedBy: { ...verified, verified: false, detail: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
      },
    };
    const mixed = apiserverRule(config, node({ 'https://10.0.0.5:2379': accepted, 'https://10.0.0.6:2379': refusedToo }));
    // The control holds (no client without a certificate is served); what kube-apiserver meets is said.
    expect(mixed.status).to.equal('pass');
    expect(mixed.message).to.equal(
      "every etcd server refused a client with no certificate; 1 of 2 accepted kube-apiserver's client certificate; 1 refused kube-apiserver's client certificate too; 1 served a certificate --etcd-cafile does not verify",
    );
    expect(mixed.evidence[1]).to.match(/NOT verified by --etcd-cafile \/pki\/ca\.crt \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/);
  });

  it('--no-probe: not applicable, saying so; nothing to probe: not applicable', () => {
    expect(rule(etcd(['--listen-client-urls=https://127.0.0.1:2379']), {} as NodeContext)).to.include({
      status: 'not-applicable',
      message: 'not probed (--no-probe; or a manifest: the running process is what is probed)',
    });
    expect(rule(etcd(['--listen-client-urls=unix://localhost:2379']), node({})).status).to.equal('not-applicable');
  });
});
