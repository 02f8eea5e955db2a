/**
 * Conformance with a real etcd: every case is run through etcd-tls-guard's model AND through the
 * etcd binary (Debian's etcd-server, installed by .ci/run), and both must agree on whether etcd
 * starts, refuses to start, or prints and exits. This is how the facts the model relies on were
 * measured, and how they stay true.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDevCertificates } from '../src/certs/dev.js';
import { readEtcdConfig } from '../src/core/etcd.js';
import { findInvocations } from '../src/core/invocation.js';
import { etcdPod } from './helpers.js';
import { freePort } from './processes.js';

type Outcome = 'starts' | 'refuses' | 'exits';

interface Case {
  readonly name: string;
  /** `{C}`/`{P}`: free client/peer ports; `{CERT}`/`{KEY}`/`{CA}`: real files; `{CFG}`: a config file. */
  readonly args: string[];
  readonly env?: Record<string, string>;
  readonly expected: Outcome;
}

const HTTP = ['--listen-client-urls=http://127.0.0.1:{C}', '--advertise-client-urls=http://127.0.0.1:{C}', '--listen-peer-urls=http://127.0.0.1:{P}', '--initial-advertise-peer-urls=http://127.0.0.1:{P}', '--initial-cluster=default=http://127.0.0.1:{P}'];
const HTTPS = ['--listen-client-urls=https://127.0.0.1:{C}', '--advertise-client-urls=https://127.0.0.1:{C}', '--listen-peer-urls=http://127.0.0.1:{P}', '--initial-advertise-peer-urls=http://127.0.0.1:{P}', '--initial-cluster=default=http://127.0.0.1:{P}'];
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
  { name: 'a non-boolean flag swallows the next argument, even --flag', args: [...HTTP, '--initial-cluster-token', '--client-cert-auth'], expected: 'starts' },
  { name: 'the same setting in argv and env refuses', args: [...HTTP, '--client-cert-auth=true'], env: { ETCD_CLIENT_CERT_AUTH: 'true' }, expected: 'refuses' },
  { name: 'an empty env twin of an argv flag refuses', args: [...HTTP, '--client-cert-auth=true'], env: { ETCD_CLIENT_CERT_AUTH: '' }, expected: 'refuses' },
  { name: 'ETCD_CLIENT_CERT_AUTH=yes refuses', args: HTTP, env: { ETCD_CLIENT_CERT_AUTH: 'yes' }, expected: 'refuses' },
  { name: 'lower-case etcd_client_cert_auth=yes is ignored', args: HTTP, env: { etcd_client_cert_auth: 'yes' }, expected: 'starts' },
  { name: 'ETCD_ADVERTISE_CLIENT_URLS satisfies an explicit listen URL', args: ['--listen-client-urls=http://127.0.0.1:{C}', '--listen-peer-urls=http://127.0.0.1:{P}', '--initial-advertise-peer-urls=http://127.0.0.1:{P}', '--initial-cluster=default=http://127.0.0.1:{P}'], env: { ETCD_ADVERTISE_CLIENT_URLS: 'http://127.0.0.1:{C}' }, expected: 'starts' },
  { name: '--listen-client-urls without --advertise-client-urls refuses', args: ['--listen-client-urls=http://127.0.0.1:{C}', '--listen-peer-urls=http://127.0.0.1:{P}'], expected: 'refuses' },
  { name: 'https without --cert-file/--key-file refuses', args: HTTPS, expected: 'refuses' },
  { name: 'https with --auto-tls starts', args: [...HTTPS, '--auto-tls'], expected: 'starts' },
  { name: 'https with certificates starts', args: [...HTTPS, ...CERTS, '--client-cert-auth'], expected: 'starts' },
  { name: 'an https peer URL without peer certificates refuses', args: ['--listen-client-urls=http://127.0.0.1:{C}', '--advertise-client-urls=http://127.0.0.1:{C}', '--listen-peer-urls=https://127.0.0.1:{P}', '--initial-advertise-peer-urls=https://127.0.0.1:{P}', '--initial-cluster=default=https://127.0.0.1:{P}'], expected: 'refuses' },
  { name: 'a listen URL with a path refuses', args: ['--listen-client-urls=http://127.0.0.1:{C}/x', '--advertise-client-urls=http://127.0.0.1:{C}'], expected: 'refuses' },
  { name: 'an invalid --initial-cluster-state refuses', args: [...HTTP, '--initial-cluster-state=bogus'], expected: 'refuses' },
  { name: 'a non-numeric --snapshot-count refuses', args: [...HTTP, '--snapshot-count=abc'], expected: 'refuses' },
  { name: '--version prints and exits', args: ['--version'], expected: 'exits' },
  { name: '--help prints and exits', args: ['--help'], expected: 'exits' },
  { name: 'with --config-file, env and argv never conflict', args: ['--config-file={CFG}', '--client-cert-auth'], env: { ETCD_CLIENT_CERT_AUTH: 'yes' }, expected: 'starts' },
  { name: 'with ETCD_CONFIG_FILE, argv is still parsed', args: ['--client-cert-auth', 'true'], env: { ETCD_CONFIG_FILE: '{CFG}' }, expected: 'refuses' },
];

function findEtcd(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path !== '' ? path : undefined;
}


/** Runs etcd; it has started when it is still running after `graceMs`. */
async function runEtcd(bin: string, args: string[], env: Record<string, string>, dataDir: string, graceMs: number): Promise<{ outcome: Outcome; log: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, [`--data-dir=${dataDir}`, ...args], { env: { PATH: '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ outcome: 'starts', log });
    }, graceMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ outcome: code === 0 ? 'exits' : 'refuses', log });
    });
  });
}

function modelOutcome(args: string[], env: Record<string, string>): Outcome {
  const pod = etcdPod(args, { env: Object.entries(env).map(([name, value]) => ({ name, value })) });
  const c = pod.spec.containers[0];
  if (c === undefined) throw new Error('no container');
  const [inv] = findInvocations(pod, c);
  if (inv === undefined) throw new Error('etcd not found');
  const cfg = readEtcdConfig(inv);
  return cfg.refusal !== undefined ? 'refuses' : cfg.exits !== undefined ? 'exits' : 'starts';
}

describe('conformance with a real etcd binary', function () {
  // Cases run concurrently in small batches; each waits at most GRACE_MS for etcd to fail.
  this.timeout(120_000);
  const GRACE_MS = 2500;
  const bin = findEtcd();
  let dir = '';
  const files: Record<string, string> = {};

  before(async function () {
    if (bin === undefined) {
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

  const results = new Map<string, Promise<{ outcome: Outcome; log: string; model: Outcome }>>();
  async function outcomeOf(c: Case, index: number): Promise<{ outcome: Outcome; log: string; model: Outcome }> {
    const [client, peer] = [await freePort(), await freePort()];
    const cfg = join(dir, `config-${index}.yaml`);
    const fill = (s: string): string =>
      s.replaceAll('{C}', String(client)).replaceAll('{P}', String(peer)).replaceAll('{CERT}', files.CERT ?? '').replaceAll('{KEY}', files.KEY ?? '').replaceAll('{CA}', files.CA ?? '').replaceAll('{CFG}', cfg);
    await writeFile(cfg, `data-dir: ${join(dir, `cfgdata-${index}`)}\nlisten-client-urls: http://127.0.0.1:${client}\nadvertise-client-urls: http://127.0.0.1:${client}\nlisten-peer-urls: http://127.0.0.1:${peer}\ninitial-advertise-peer-urls: http://127.0.0.1:${peer}\ninitial-cluster: default=http://127.0.0.1:${peer}\n`);
    const args = c.args.map(fill);
    const env = Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, fill(v)]));
    const real = await runEtcd(bin as string, args, env, join(dir, `data-${index}`), GRACE_MS);
    return { ...real, model: modelOutcome(args, env) };
  }

  before(async function () {
    if (bin === undefined) return;
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
      const r = await (results.get(c.name) as Promise<{ outcome: Outcome; log: string; model: Outcome }>);
      expect(r.outcome, `etcd ${r.outcome}; log:\n${r.log.slice(-600)}`).to.equal(c.expected);
      expect(r.model, 'model').to.equal(c.expected);
    });
  }
});
