/**
 * Conformance with a real etcd: every case is run through etcd-tls-guard's model AND through the
 * etcd binary (Debian's etcd-server, installed by .ci/run), and both must agree on whether etcd
 * starts, refuses to start, or prints and exits. This is how the facts the model relies on were
 * measured, and how they stay true.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDevCertificates } from '../../src/certs/dev.js';
import { readEtcdConfig } from '../../src/program-config/etcd.js';
import { findInvocations } from '../../src/launch/invocation.js';
import { HostNodeFiles } from '../../src/node/files.js';
import { HostRoot } from '../../src/node/host.js';
import type { Container } from '../../src/launch/pod.js';
import { etcdPod, podWith } from '../helpers.js';
import { etcdBinaries, freePort } from '../processes.js';

type Outcome = 'starts' | 'refuses' | 'exits';

interface Case {
  readonly name: string;
  /** `{C}`/`{P}`: free client/peer ports; `{CERT}`/`{KEY}`/`{CA}`: real files; `{CFG}`: a config file. */
  readonly args: string[];
  readonly env?: Record<string, string>;
  /** YAML appended to the {CFG} file (whose base has http URLs on the free ports and a data dir). */
  readonly config?: string;
  readonly expected: Outcome;
}

const HTTP = [
  '--listen-client-urls=http://127.0.0.1:{C}',
  '--advertise-client-urls=http://127.0.0.1:{C}',
  '--listen-peer-urls=http://127.0.0.1:{P}',
  '--initial-advertise-peer-urls=http://127.0.0.1:{P}',
  '--initial-cluster=default=http://127.0.0.1:{P}',
];
const HTTPS = [
  '--listen-client-urls=https://127.0.0.1:{C}',
  '--advertise-client-urls=https://127.0.0.1:{C}',
  '--listen-peer-urls=http://127.0.0.1:{P}',
  '--initial-advertise-peer-urls=http://127.0.0.1:{P}',
  '--initial-cluster=default=http://127.0.0.1:{P}',
];
const CERTS = ['--cert-file={CERT}', '--key-file={KEY}', '--trusted-ca-file={CA}'];

const CASES: Case[] = [
  { name: 'a plain http etcd starts', args: HTTP, expected: 'starts' },
  { name: '--client-cert-auth true (space form) refuses', args: [...HTTP, '--client-cert-auth', 'true'], expected: 'refuses' },
  { name: '--client-cert-auth=yes refuses', args: [...HTTP, '--client-cert-auth=yes'], expected: 'refuses' },
  { name: '--client-cert-auth= (empty) refuses', args: [...HTTP, '--client-cert-auth='], expected: 'refuses' },
  { name: '-client-cert-auth (one dash) starts', args: [...HTTP, '-client-cert-auth'], expected: 'starts' },
  { name: '--client-cert-auth=T starts', args: [...HTTP, '--client-cert-auth=T'], expected: 'starts' },
  { name: '--Client-Cert-Auth (case) refuses', args: [...HTTP, '--Client-Cert-Auth'], expected: 'refuses' },
  { name: 'an unknown flag refuses', args: [...HTTP, '--bogus-flag'], expected: 'refuses' },
  { name: 'an argument after -- refuses', args: [...HTTP, '--', 'foo'], expected: 'refuses' },
  { name: 'a trailing -- starts', args: [...HTTP, '--'], expected: 'starts' },
  {
    name: 'a non-boolean flag swallows the next argument, even --flag',
    args: [...HTTP, '--initial-cluster-token', '--client-cert-auth'],
    expected: 'starts',
  },
  {
    name: 'the same setting in argv and env refuses',
    args: [...HTTP, '--client-cert-auth=true'],
    env: { ETCD_CLIENT_CERT_AUTH: 'true' },
    expected: 'refuses',
  },
  {
    name: 'an empty env twin of an argv flag refuses',
    args: [...HTTP, '--client-cert-auth=true'],
    env: { ETCD_CLIENT_CERT_AUTH: '' },
    expected: 'refuses',
  },
  { name: 'ETCD_CLIENT_CERT_AUTH=yes refuses', args: HTTP, env: { ETCD_CLIENT_CERT_AUTH: 'yes' }, expected: 'refuses' },
  { name: 'lower-case etcd_client_cert_auth=yes is ignored', args: HTTP, env: { etcd_client_cert_auth: 'yes' }, expected: 'starts' },
  {
    name: 'ETCD_ADVERTISE_CLIENT_URLS satisfies an explicit listen URL',
    args: [
      '--listen-client-urls=http://127.0.0.1:{C}',
      '--listen-peer-urls=http://127.0.0.1:{P}',
      '--initial-advertise-peer-urls=http://127.0.0.1:{P}',
      '--initial-cluster=default=http://127.0.0.1:{P}',
    ],
    env: { ETCD_ADVERTISE_CLIENT_URLS: 'http://127.0.0.1:{C}' },
    expected: 'starts',
  },
  {
    name: '--listen-client-urls without --advertise-client-urls refuses',
    args: ['--listen-client-urls=http://127.0.0.1:{C}', '--listen-peer-urls=http://127.0.0.1:{P}'],
    expected: 'refuses',
  },
  { name: 'https without --cert-file/--key-file refuses', args: HTTPS, expected: 'refuses' },
  { name: 'https with --auto-tls starts', args: [...HTTPS, '--auto-tls'], expected: 'starts' },
  { name: 'https with certificates starts', args: [...HTTPS, ...CERTS, '--client-cert-auth'], expected: 'starts' },
  {
    name: 'an https peer URL without peer certificates refuses',
    args: [
      '--listen-client-urls=http://127.0.0.1:{C}',
      '--advertise-client-urls=http://127.0.0.1:{C}',
      '--listen-peer-urls=https://127.0.0.1:{P}',
      '--initial-advertise-peer-urls=https://127.0.0.1:{P}',
      '--initial-cluster=default=https://127.0.0.1:{P}',
    ],
    expected: 'refuses',
  },
  {
    name: 'a listen URL with a path refuses',
    args: ['--listen-client-urls=http://127.0.0.1:{C}/x', '--advertise-client-urls=http://127.0.0.1:{C}'],
    expected: 'refuses',
  },
  { name: 'an invalid --initial-cluster-state refuses', args: [...HTTP, '--initial-cluster-state=bogus'], expected: 'refuses' },
  { name: 'a non-numeric --snapshot-count refuses', args: [...HTTP, '--snapshot-count=abc'], expected: 'refuses' },
  { name: '--version prints and exits', args: ['--version'], expected: 'exits' },
  { name: '--help prints and exits', args: ['--help'], expected: 'exits' },
  {
    name: 'with --config-file, env and argv never conflict',
    args: ['--config-file={CFG}', '--client-cert-auth'],
    env: { ETCD_CLIENT_CERT_AUTH: 'yes' },
    expected: 'starts',
  },
  {
    name: 'with ETCD_CONFIG_FILE, argv is still parsed',
    args: ['--client-cert-auth', 'true'],
    env: { ETCD_CONFIG_FILE: '{CFG}' },
    expected: 'refuses',
  },
  // The configuration file, read with etcd's semantics (src/program-config/etcd-config-file.ts).
  {
    name: 'config: client-cert-auth: yes (YAML 1.1) starts',
    args: ['--config-file={CFG}'],
    config: 'client-transport-security:\n  client-cert-auth: yes\n',
    expected: 'starts',
  },
  {
    name: 'config: client-cert-auth: "true" (a string) refuses',
    args: ['--config-file={CFG}'],
    config: 'client-transport-security:\n  client-cert-auth: "true"\n',
    expected: 'refuses',
  },
  {
    name: 'config: client-cert-auth: 1 (a number) refuses',
    args: ['--config-file={CFG}'],
    config: 'peer-transport-security:\n  client-cert-auth: 1\n',
    expected: 'refuses',
  },
  {
    name: 'config: a list where the section goes refuses',
    args: ['--config-file={CFG}'],
    config: 'client-transport-security: [a]\n',
    expected: 'refuses',
  },
  {
    name: 'config: TLS names at the top level are ignored',
    args: ['--config-file={CFG}'],
    config: 'client-cert-auth: "not even a bool"\nauto-tls: 7\n',
    expected: 'starts',
  },
  {
    name: 'config: keys match case-insensitively',
    args: ['--config-file={CFG}'],
    config: 'CLIENT-TRANSPORT-SECURITY:\n  Client-Cert-Auth: "x"\n',
    expected: 'refuses',
  },
  { name: 'config: invalid YAML refuses', args: ['--config-file={CFG}'], config: 'foo: [\n', expected: 'refuses' },
  {
    name: 'config: a date where a string goes is that string (go-yaml v2)',
    args: ['--config-file={CFG}'],
    config: 'initial-cluster-token: 2001-12-14\n',
    expected: 'starts',
  },
  { name: 'config: unknown keys are ignored', args: ['--config-file={CFG}'], config: 'no-such-key: 1\n', expected: 'starts' },
  {
    name: 'config: an https URL without cert and key refuses',
    args: ['--config-file={CFG}'],
    config: 'listen-client-urls: https://127.0.0.1:{C}\nadvertise-client-urls: https://127.0.0.1:{C}\n',
    expected: 'refuses',
  },
  {
    name: 'config: https with auto-tls starts',
    args: ['--config-file={CFG}'],
    config:
      'listen-client-urls: https://127.0.0.1:{C}\nadvertise-client-urls: https://127.0.0.1:{C}\nclient-transport-security:\n  auto-tls: true\n',
    expected: 'starts',
  },
  {
    name: 'config: https with certificates starts',
    args: ['--config-file={CFG}'],
    config:
      'listen-client-urls: https://127.0.0.1:{C}\nadvertise-client-urls: https://127.0.0.1:{C}\nclient-transport-security:\n  cert-file: {CERT}\n  key-file: {KEY}\n  client-cert-auth: true\n',
    expected: 'starts',
  },
  {
    name: 'config: a URL with a path refuses',
    args: ['--config-file={CFG}'],
    config: 'listen-client-urls: http://127.0.0.1:{C}/x\n',
    expected: 'refuses',
  },
];

/** Resolves when something accepts TCP connections on 127.0.0.1:port. */
function whenListening(port: number, stop: { stopped: boolean }): Promise<void> {
  return new Promise((resolve) => {
    const attempt = (): void => {
      if (stop.stopped) return;
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', () => {
        s.destroy();
        setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

/**
 * Runs etcd until an event decides: it exits (refuses, or prints and exits), or its port accepts a
 * connection (it started). Bounded by `limitMs`, after which the case fails as undecided.
 */
async function runEtcd(
  bin: string,
  args: string[],
  env: Record<string, string>,
  dataDir: string | undefined,
  port: number,
  limitMs: number,
): Promise<{ outcome: Outcome | 'undecided'; log: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, dataDir === undefined ? args : [`--data-dir=${dataDir}`, ...args], {
      env: { PATH: '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const stop = { stopped: false };
    const finish = (outcome: Outcome | 'undecided'): void => {
      if (stop.stopped) return;
      stop.stopped = true;
      clearTimeout(limit);
      child.kill('SIGKILL');
      resolve({ outcome, log });
    };
    const limit = setTimeout(() => finish('undecided'), limitMs);
    void whenListening(port, stop).then(() => finish('starts'));
    child.on('exit', (code) => finish(code === 0 ? 'exits' : 'refuses'));
  });
}

function modelOutcome(release: string, args: string[], env: Record<string, string>): Outcome {
  const pod = etcdPod(args, {
    env: Object.entries(env).map(([name, value]) => ({ name, value })),
    image: `registry.k8s.io/etcd:${release}-0`,
  });
  const c = pod.spec.containers[0];
  if (c === undefined) throw new Error('no container');
  const [inv] = findInvocations(pod, c);
  if (inv === undefined) throw new Error('etcd not found');
  // The node's files as a node check reads them: here the real filesystem.
  const cfg = readEtcdConfig(
    inv,
    new HostNodeFiles(
      new HostRoot('/'),
      (path) => ({ hostPath: path, via: path }),
      () => ({ users: new Map(), groups: new Map() }),
    ),
  );
  return cfg.refusal !== undefined ? 'refuses' : cfg.exits !== undefined ? 'exits' : 'starts';
}

// Only bounds a case that neither exits nor listens (a failure); a loaded 2-core machine needs headroom.
const LIMIT_MS = 60_000;

for (const { release, bin } of etcdBinaries().length > 0 ? etcdBinaries() : [{ release: 'none', bin: '' }]) {
  describe(`conformance with a real etcd binary (${release === 'none' ? 'not installed' : `etcd ${release}`})`, function () {
    // Cases run concurrently in small batches; each ends on an event (exit, or a listening port).
    this.timeout(120_000);
    let dir = '';
    const files: Record<string, string> = {};

    before(async function () {
      if (bin === '') {
        // CI installs etcd-server (.ci/run); a developer machine without it skips, loudly.
        if (process.env.CI === 'true') throw new Error('etcd is not installed: apt-get install etcd-server');
        console.warn('    (etcd not installed: apt-get install etcd-server to run these)');
        this.skip();
      }
      dir = await mkdtemp(join(tmpdir(), 'etg-etcd-'));
      const certs = generateDevCertificates(['localhost', '127.0.0.1']);
      files.CERT = join(dir, 'server.crt');
      files.KEY = join(dir, 'server.key');
      files.CA = join(dir, 'ca.crt');
      await writeFile(files.CERT, certs.server.certPem);
      await writeFile(files.KEY, certs.server.keyPem, { mode: 0o600 });
      await writeFile(files.CA, certs.ca.certPem);
    });
    after(async () => {
      if (dir !== '') await rm(dir, { recursive: true, force: true });
    });

    const results = new Map<string, Promise<{ outcome: Outcome | 'undecided'; log: string; model: Outcome }>>();
    async function outcomeOf(c: Case, index: number): Promise<{ outcome: Outcome | 'undecided'; log: string; model: Outcome }> {
      const [client, peer] = [await freePort(), await freePort()];
      const cfg = join(dir, `config-${index}.yaml`);
      const fill = (s: string): string =>
        s
          .replaceAll('{C}', String(client))
          .replaceAll('{P}', String(peer))
          .replaceAll('{CERT}', files.CERT ?? '')
          .replaceAll('{KEY}', files.KEY ?? '')
          .replaceAll('{CA}', files.CA ?? '')
          .replaceAll('{CFG}', cfg);
      // A later key wins (measured: etcd reads duplicate keys, the last one counts), so c.config may override the base.
      await writeFile(
        cfg,
        `data-dir: ${join(dir, `cfgdata-${index}`)}\nlisten-client-urls: http://127.0.0.1:${client}\nadvertise-client-urls: http://127.0.0.1:${client}\nlisten-peer-urls: http://127.0.0.1:${peer}\ninitial-advertise-peer-urls: http://127.0.0.1:${peer}\ninitial-cluster: default=http://127.0.0.1:${peer}\n${fill(c.config ?? '')}`,
      );
      const args = c.args.map(fill);
      const env = Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, fill(v)]));
      const real = await runEtcd(bin, args, env, join(dir, `data-${index}`), client, LIMIT_MS);
      return { ...real, model: modelOutcome(release, args, env) };
    }

    before(async function () {
      if (bin === '') return;
      const BATCH = 6;
      for (let i = 0; i < CASES.length; i += BATCH) {
        const batch = CASES.slice(i, i + BATCH).map((c, j) => {
          const p = outcomeOf(c, i + j);
          results.set(c.name, p);
          return p;
        });
        await Promise.all(batch);
      }
    });

    for (const c of CASES) {
      it(`${c.name}: etcd ${c.expected}, and the model agrees`, async () => {
        const r = await (results.get(c.name) as Promise<{ outcome: Outcome | 'undecided'; log: string; model: Outcome }>);
        expect(r.outcome, `etcd ${r.outcome}; log:\n${r.log.slice(-600)}`).to.equal(c.expected);
        expect(r.model, 'model').to.equal(c.expected);
      });
    }

    // etcdmain.Main hands `grpc-proxy` and `gateway` to the proxies: they start (measured), and a
    // container running one is not an etcd member, so the model finds no etcd to judge there.
    for (const sub of ['grpc-proxy', 'gateway']) {
      it(`etcd ${sub} start runs a proxy (it starts), which the model does not judge as a member`, async () => {
        const [backend, listen] = [await freePort(), await freePort()];
        // The subcommand must be etcd's first argument (etcdmain.Main looks at os.Args[1] only).
        const real = await runEtcd(
          bin,
          [sub, 'start', `--endpoints=127.0.0.1:${backend}`, `--listen-addr=127.0.0.1:${listen}`],
          {},
          undefined,
          listen,
          LIMIT_MS,
        );
        expect(real.outcome, real.log.slice(-600)).to.equal('starts');
        const pod = podWith({
          image: `registry.k8s.io/etcd:${release}-0`,
          command: ['etcd', sub, 'start', `--endpoints=127.0.0.1:${backend}`],
        });
        expect(findInvocations(pod, pod.spec.containers[0] as Container)).to.deep.equal([]);
      });
    }
  });
}
