/**
 * `npm run bench:apiserver`: what a validating check costs a real kube-apiserver, and what it gets
 * right. Not part of npm test (it needs the e2e control plane: Debian etcd and kube-apiserver built
 * from the k8s.io/kubernetes module, cached).
 *
 * One namespace per way of checking, all configured at once so that rounds interleave
 * without reconfiguring the API server:
 *   bench-none   no webhook, no policy (the floor)
 *   bench-noop   a no-op webhook answering `allowed` (same TLS and process model: its own Node
 *                process with the same certificate; test/bench/baseline.ts)
 *   bench-floor  the express floor (test/bench/express-floor.ts, lean): the no-op's work behind
 *                express's router as the webhook uses it, so that what the framework
 *                costs through the API server is seen apart from what etcd-tls-guard's own work does
 *   bench-guard  etcd-tls-guard (the CLI's `serve`, the chart's webhook settings and Node.js options):
 *                every pod judged
 *   bench-vap    a ValidatingAdmissionPolicy whose CEL expression is the literal CIS 2.2 check
 * Each round sends, one at a time over a keep-alive connection, `create --dry-run=server` of a
 * kubeadm etcd pod into each namespace in turn; p50/p99 per way, and what each adds over the floor.
 * Then the inputs on which the CEL policy and etcd-tls-guard disagree, answered by the API server.
 *   ROUNDS (default 30) × REQUESTS per round per way (default 50); about 25 s. With 10 rounds the
 *   ratio to the no-op moved by ±0.15 from run to run (1.30, 1.46, 1.30 in three runs in a row,
 *   2026-12-01); with 30, 1.04–1.18 in sixteen runs on Node.js 20 and 24 (docs/performance.md).
 * NOOP_SCRIPT and NOOP_MODE put another server in the no-op's place (a script taking PORT CERT KEY
 * [MODE], as test/bench/baseline.ts does), for experiments.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane, startWebhook, waitFor } from '../e2e/cluster.js';
import { freePort } from '../processes.js';
import { CHART_NODE_OPTIONS } from './http.js';
import { loadFixture } from '../helpers.js';
import type { Pod } from '../../src/launch/pod.js';

const ROUNDS = Number(process.env.ROUNDS ?? 30);
const REQUESTS = Number(process.env.REQUESTS ?? 50);
const WAYS = ['none', 'noop', 'floor', 'guard', 'vap'] as const;
type Way = (typeof WAYS)[number];

const cp = await startControlPlane();
const stops: Array<() => Promise<void>> = [() => cp.stop()];
try {
  const admin = (() => {
    // The admin identity of the e2e kubeconfig, for direct HTTPS requests (kubectl would add ~100 ms of process start per request).
    const config = JSON.parse(cp.kubectl(['config', 'view', '--raw', '-o', 'json']).stdout) as {
      users: Array<{ name: string; user: Record<string, string> }>;
    };
    const user = config.users.find((u) => u.name === 'admin')?.user ?? {};
    return {
      cert: Buffer.from(user['client-certificate-data'] ?? '', 'base64').toString(),
      key: Buffer.from(user['client-key-data'] ?? '', 'base64').toString(),
    };
  })();
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: cp.pki.ca.certPem, cert: admin.cert, key: admin.key });

  /** One `create --dry-run=server`: status and milliseconds. */
  const dryRun = (namespace: string, pod: Pod): Promise<{ status: number; ms: number; body: string }> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ ...pod, metadata: { ...pod.metadata, namespace } });
      const started = process.hrtime.bigint();
      const req = request(
        `${cp.apiserverUrl}/api/v1/namespaces/${namespace}/pods?dryRun=All`,
        { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - started) / 1e6, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  // The no-op webhook: test/bench/baseline.ts (reads the body, JSON.parse, answers allowed), with the webhook's certificate.
  const noopPort = await freePort();
  await writeFile(join(cp.dir, 'noop.crt'), cp.pki.webhook.certPem);
  await writeFile(join(cp.dir, 'noop.key'), cp.pki.webhook.keyPem);
  /** A bench server (SCRIPT PORT CERT KEY [MODE]) in its own process, with the chart's Node.js options; resolves once it listens. */
  const startPeer = async (script: string, port: number, mode: string | undefined): Promise<void> => {
    const child = spawn(
      process.execPath,
      [
        ...CHART_NODE_OPTIONS,
        script,
        String(port),
        join(cp.dir, 'noop.crt'),
        join(cp.dir, 'noop.key'),
        ...(mode !== undefined ? [mode] : []),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    stops.push(() => new Promise((r) => (child.exitCode !== null ? r() : (child.once('exit', () => r()), child.kill('SIGTERM')))));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  };
  await startPeer(process.env.NOOP_SCRIPT ?? fileURLToPath(new URL('./baseline.js', import.meta.url)), noopPort, process.env.NOOP_MODE);
  const floorPort = await freePort();
  await startPeer(fileURLToPath(new URL('./express-floor.js', import.meta.url)), floorPort, 'lean');
  const asDeployed = { NODE_OPTIONS: CHART_NODE_OPTIONS.join(' ') };
  // The e2e harness polls for changed files every 0.2 s, so that its policy-reload scenarios are
  // quick; a deployed webhook polls every 10 s (the default; the chart leaves it).
  const asDeployedArgs = ['--reload-interval', '10'];
  const guard = await startWebhook(cp, asDeployedArgs, asDeployed);
  stops.push(() => guard.stop());

  const caBundle = Buffer.from(cp.pki.webhookCa.certPem).toString('base64');
  const hook = (name: string, url: string, namespace: string): object => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name },
    webhooks: [
      {
        name: `${name}.bench.io`,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        timeoutSeconds: 5,
        failurePolicy: 'Fail',
        clientConfig: { url: `${url}/validate`, caBundle },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'], scope: 'Namespaced' }],
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
      },
    ],
  });
  // CIS 2.2 as its text reads: "Ensure that the --client-cert-auth argument is set to true".
  const cel =
    "object.spec.containers.all(c, !(c.image.contains('etcd')) || (has(c.command) && c.command.exists(a, a == '--client-cert-auth=true')) || (has(c.args) && c.args.exists(a, a == '--client-cert-auth=true')))";
  const objects = [
    ...WAYS.map((w) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `bench-${w}` } })),
    hook('noop', `https://127.0.0.1:${noopPort}`, 'bench-noop'),
    hook('floor', `https://127.0.0.1:${floorPort}`, 'bench-floor'),
    hook('guard', guard.url, 'bench-guard'),
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'cis-2-2' },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] }],
        },
        validations: [{ expression: cel, message: 'CIS 2.2: --client-cert-auth=true is not set' }],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'cis-2-2' },
      spec: {
        policyName: 'cis-2-2',
        validationActions: ['Deny'],
        matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'bench-vap' } } },
      },
    },
  ];
  const applied = cp.kubectl(['apply', '-f', '-'], { input: objects.map((o) => JSON.stringify(o)).join('\n') });
  if (applied.status !== 0) throw new Error(`kubectl apply: ${applied.stderr}`);

  const compliant = loadFixture('kubeadm/etcd.yaml');
  const failing = loadFixture('insecure/etcd-plaintext.yaml');
  // Wait until every way is in force: a failing pod is denied where it should be.
  await waitFor('the webhooks and the policy in force', 60_000, async () => {
    const [g, v] = await Promise.all([dryRun('bench-guard', failing), dryRun('bench-vap', failing)]);
    return g.status === 403 && v.status !== 201 && v.status !== 200;
  });

  // --- Latency, interleaved rounds ---
  const samples: Record<Way, number[]> = { none: [], noop: [], floor: [], guard: [], vap: [] };
  const byRound: Array<Record<Way, number[]>> = [];
  for (let i = 0; i < 20; i++) for (const w of WAYS) await dryRun(`bench-${w}`, compliant); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    const thisRound: Record<Way, number[]> = { none: [], noop: [], floor: [], guard: [], vap: [] };
    byRound.push(thisRound);
    // Every other round in reverse order, so that no way always follows the same one.
    for (const w of round % 2 === 0 ? WAYS : [...WAYS].reverse()) {
      for (let i = 0; i < REQUESTS; i++) {
        const r = await dryRun(`bench-${w}`, compliant);
        if (r.status !== 201) throw new Error(`${w}: HTTP ${r.status} for a compliant pod: ${r.body.slice(0, 300)}`);
        samples[w].push(r.ms);
        thisRound[w].push(r.ms);
      }
    }
  }
  const pct = (xs: number[], p: number): number => {
    const s = [...xs].sort((a, b) => a - b);
    return Number((s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number).toFixed(2));
  };
  /**
   * What a way adds, as a multiple of what the no-op adds, round by round: the ways of one round ran
   * within a second of each other, so a host that slows down for a while slows all of them. The
   * median and quartiles of the rounds' ratios (rounds in which the no-op added nothing are left out).
   */
  const perRound = (w: Way): { median: number; q1: number; q3: number } | null => {
    const ratios = byRound
      .map((r) => {
        const none = pct(r.none, 50);
        const noop = pct(r.noop, 50) - none;
        return noop > 0 ? (pct(r[w], 50) - none) / noop : undefined;
      })
      .filter((x): x is number => x !== undefined)
      .sort((a, b) => a - b);
    if (ratios.length === 0) return null;
    const at = (q: number): number => Number((ratios[Math.round(q * (ratios.length - 1))] as number).toFixed(2));
    return { median: at(0.5), q1: at(0.25), q3: at(0.75) };
  };
  const latency = Object.fromEntries(
    WAYS.map((w) => [w, { p50Ms: pct(samples[w], 50), p99Ms: pct(samples[w], 99), requests: samples[w].length }]),
  ) as Record<Way, { p50Ms: number; p99Ms: number; requests: number }>;
  const added = (w: Way): number => Number((latency[w].p50Ms - latency.none.p50Ms).toFixed(2));
  console.log(`create --dry-run=server of a kubeadm etcd pod, ${ROUNDS} interleaved rounds × ${REQUESTS} requests per way`);
  for (const w of WAYS)
    console.log(
      `  ${w.padEnd(11)} p50 ${latency[w].p50Ms} ms, p99 ${latency[w].p99Ms} ms${w === 'none' ? '' : `; adds ${added(w)} ms at p50`}`,
    );
  const toNoop = (w: Way): number | null => (added('noop') > 0 ? Number((added(w) / added('noop')).toFixed(2)) : null);
  const ratio = toNoop('guard');
  console.log(`  etcd-tls-guard adds ${ratio ?? 'n/a'} × what the no-op webhook adds (the express floor: ${toNoop('floor') ?? 'n/a'} ×)`);
  const rounds = { guard: perRound('guard'), floor: perRound('floor') };
  const show = (r: { median: number; q1: number; q3: number } | null): string =>
    r === null ? 'n/a' : `${r.median} × (quartiles ${r.q1}–${r.q3})`;
  console.log(`  round by round: etcd-tls-guard ${show(rounds.guard)}; the express floor ${show(rounds.floor)}`);

  // --- Where the literal CEL check and etcd-tls-guard disagree, answered by the API server ---
  const withArgs = (changes: (args: string[]) => string[], env?: Array<{ name: string; value: string }>): Pod => {
    const pod = loadFixture('kubeadm/etcd.yaml');
    const c = pod.spec.containers[0];
    if (c !== undefined) {
      c.command = changes((c.command ?? []).filter((a) => !a.startsWith('--client-cert-auth')));
      if (env !== undefined) c.env = env;
    }
    return pod;
  };
  const cases: Array<{ input: string; truth: 'serves with client-cert-auth' | 'serves without it' | 'refuses to start'; pod: Pod }> = [
    { input: '--client-cert-auth=true', truth: 'serves with client-cert-auth', pod: withArgs((a) => [...a, '--client-cert-auth=true']) },
    {
      input: '--client-cert-auth=true --client-cert-auth=false (last wins)',
      truth: 'serves without it',
      pod: withArgs((a) => [...a, '--client-cert-auth=true', '--client-cert-auth=false']),
    },
    {
      input: '--client-cert-auth=1 (Go strconv.ParseBool)',
      truth: 'serves with client-cert-auth',
      pod: withArgs((a) => [...a, '--client-cert-auth=1']),
    },
    {
      input: 'ETCD_CLIENT_CERT_AUTH=true (env, no flag)',
      truth: 'serves with client-cert-auth',
      pod: withArgs((a) => a, [{ name: 'ETCD_CLIENT_CERT_AUTH', value: 'true' }]),
    },
    {
      input: '--client-cert-auth true (space form)',
      truth: 'refuses to start',
      pod: withArgs((a) => [...a, '--client-cert-auth', 'true']),
    },
    {
      input: '-client-cert-auth=true (one dash, Go flag)',
      truth: 'serves with client-cert-auth',
      pod: withArgs((a) => [...a, '-client-cert-auth=true']),
    },
  ];
  const verdicts: Array<Record<string, string>> = [];
  console.log('\ninput | what etcd does | CEL policy | etcd-tls-guard');
  for (const c of cases) {
    const [v, g] = await Promise.all([dryRun('bench-vap', c.pod), dryRun('bench-guard', c.pod)]);
    const word = (status: number): string => (status === 201 ? 'allowed' : status === 403 || status === 422 ? 'denied' : `HTTP ${status}`);
    // Right: allowed exactly when etcd serves with client certificate authentication.
    const right = (status: number): string => ((status === 201) === (c.truth === 'serves with client-cert-auth') ? 'right' : 'WRONG');
    verdicts.push({
      input: c.input,
      etcd: c.truth,
      cel: `${word(v.status)} (${right(v.status)})`,
      guard: `${word(g.status)} (${right(g.status)})`,
    });
    console.log(`${c.input} | ${c.truth} | ${word(v.status)} (${right(v.status)}) | ${word(g.status)} (${right(g.status)})`);
  }
  console.log(
    JSON.stringify({
      rounds: ROUNDS,
      requestsPerRound: REQUESTS,
      latency,
      addedP50Ms: { noop: added('noop'), floor: added('floor'), guard: added('guard'), vap: added('vap') },
      guardToNoop: ratio,
      floorToNoop: toNoop('floor'),
      toNoopByRound: rounds,
      verdicts,
    }),
  );
} finally {
  for (const stop of stops.reverse()) await stop();
}
