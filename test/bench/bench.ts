/**
 * `npm run bench`: the webhook's speed and memory, measured, never asserted in tests. Prints a short
 * table and, last, one JSON object with every figure. It refuses to report a run with errors.
 *  1. HTTP: POST /validate over HTTPS with keep-alive, four servers, each its own process on the same
 *     certificates, one at a time, in interleaved rounds (BENCH_ROUNDS, default 3; every other round in
 *     reverse order; medians, and ratios taken round by round, their median): the bare
 *     node:https baseline, an express application with its body parser ("express defaults"), express's
 *     router as the webhook uses it ("express floor": its own body reader), and the webhook. Requests/s at full speed
 *     (autocannon, 16 connections) and latency at a steady 1,000 requests/s (open loop), for a passing
 *     and a failing kubeadm etcd mirror pod sent again and again
 *     and for 5,000 distinct passing pods in turn (every one judged); then a 200-container pod and a
 *     1 MiB pod. Every server runs with the Node.js options the chart gives the webhook.
 *  2. A burst of 32 concurrent 6.1 MiB UPDATE reviews against the webhook with the chart's Node.js
 *     options (256 Mi limit → a 192 MiB heap): all answered, peak RSS against the limit.
 *  3. The core in-process: judgements/s (median of rounds).
 *  4. scan of 10,000 manifest files, and audit of 10,000 pods from a fake API server, each in a
 *     process of its own.
 * BENCH_SECONDS shortens or lengthens each HTTP run (default 10).
 * After the rounds, the webhook and the express floor once more, paired (pairedWithFloor):
 * BENCH_PAIRS pairs of 2 s windows (default 12), both servers warm, their ratio taken pair by pair.
 * Then the passing review one at a time with the CPU caches cold before each, as the API server sends
 * them (oneReviewAtATime): BENCH_ONE_ROUNDS rounds (default 30) × 50 to the baseline, the express
 * floor and the webhook.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { admit } from '../../src/webhook/admission.js';
import type { AdmissionRequest } from '../../src/input/admission-review.js';
import { writeDevCertificates } from '../../src/certs/dev.js';
import { judgePod } from '../../src/judgement/judge.js';
import type { Pod } from '../../src/launch/pod.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { admissionReviewJson, postReview } from '../admission.js';
import { loadFixture } from '../helpers.js';
import {
  CHART_NODE_OPTIONS,
  load,
  oneAtATime,
  paced,
  startBaselineProcess,
  startExpressFloorProcess,
  startWebhookProcess,
  type Bodies,
  type LoadResult,
  type Target,
} from './http.js';
import { bigUnrelatedPod, distinctPassingEtcd, failingEtcd, oneMiBEtcd, passingEtcd, reviewOf } from './pods.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 16;
const row = (label: string, text: string): void => console.log(`${label.padEnd(52)} ${text}`);
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** A benchmark that measured errors instead of work would be worse than none. */
function refuseErrors(what: string, r: LoadResult): LoadResult {
  if (r.errors + r.non2xx > 0)
    throw new Error(`${what}: ${r.errors} errors and ${r.non2xx} non-2xx answers; the figures would not mean anything`);
  return r;
}

// --- 1. HTTP ---
const certDir = await mkdtemp(join(tmpdir(), 'etg-bench-certs-'));
const certs = await writeDevCertificates(certDir, ['localhost', '127.0.0.1']);
const certFile = join(certDir, 'tls.crt');
const keyFile = join(certDir, 'tls.key');

type ServerName = 'baseline' | 'expressDefaults' | 'expressFloor' | 'webhook';
const SERVERS: ReadonlyArray<readonly [ServerName, () => Promise<Target>]> = [
  ['baseline', () => startBaselineProcess(certFile, keyFile, certs.ca.certPem)],
  ['expressDefaults', () => startExpressFloorProcess(certFile, keyFile, certs.ca.certPem, 'defaults')],
  ['expressFloor', () => startExpressFloorProcess(certFile, keyFile, certs.ca.certPem, 'lean')],
  ['webhook', () => startWebhookProcess(certFile, keyFile, certs.ca.certPem)],
];

interface Measured {
  readonly requestsPerSecond: number;
  readonly p99FullSpeedMs: number;
  readonly at1000: { readonly p50Ms: number; readonly p99Ms: number; readonly p999Ms: number };
  readonly peakRssMiB: number;
  readonly rounds: readonly number[];
}

/**
 * Each server, one at a time, in ROUNDS interleaved rounds; medians of the rounds. Every other round
 * runs the servers in reverse order, so that none is always measured at the same point of a round:
 * this machine's speed drifts from minute to minute, and the floor and the webhook, compared round
 * by round (pairedRatio), are measured next to each other, in either order.
 */
async function measureEach(body: Bodies): Promise<Record<ServerName, Measured>> {
  const runs = new Map<ServerName, Array<{ max: LoadResult; at1000: LoadResult; rss: number }>>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, start] of round % 2 === 0 ? SERVERS : [...SERVERS].reverse()) {
      const target = await start();
      await load(target, body, { connections: CONNECTIONS, seconds: Math.min(2, SECONDS) }); // warm-up (JIT, TLS sessions)
      const max = refuseErrors(name, await load(target, body, { connections: CONNECTIONS, seconds: SECONDS }));
      const at1000 = refuseErrors(
        name,
        await paced(target, body, { rate: 1000, seconds: SECONDS, connections: CONNECTIONS, ca: certs.ca.certPem }),
      );
      runs.set(name, [...(runs.get(name) ?? []), { max, at1000, rss: target.peakRssMiB() }]);
      await target.stop();
    }
  }
  const out: Partial<Record<ServerName, Measured>> = {};
  for (const [name, rs] of runs) {
    out[name] = {
      requestsPerSecond: median(rs.map((r) => r.max.requestsPerSecond)),
      p99FullSpeedMs: median(rs.map((r) => r.max.p99Ms)),
      at1000: {
        p50Ms: median(rs.map((r) => r.at1000.p50Ms)),
        p99Ms: median(rs.map((r) => r.at1000.p99Ms)),
        p999Ms: median(rs.map((r) => r.at1000.p999Ms)),
      },
      peakRssMiB: Math.max(...rs.map((r) => r.rss)),
      rounds: rs.map((r) => r.max.requestsPerSecond),
    };
  }
  return out as Record<ServerName, Measured>;
}

// The same pod again and again, and a pod never sent before in every request: one flag's value counts up.
const template = reviewOf(distinctPassingEtcd(1)[0] as Pod);
let sent = 0;
const bodies: Record<string, Bodies> = {
  passing: reviewOf(passingEtcd),
  failing: reviewOf(failingEtcd),
  'passing, a new pod each time,': () => template.replace('--snapshot-count=20000', `--snapshot-count=${20_001 + sent++}`),
};
const http: Record<string, unknown> = {};
const ratio = (a: number, b: number): number => Number((a / b).toFixed(2));
/**
 * a's speed as a multiple of b's: the median of their ratios round by round (each round measures
 * both within a minute of each other), which the minute-to-minute drift of a shared machine moves
 * less than the ratio of their medians, taken from different rounds.
 */
const perRound = (a: Measured, b: Measured): number[] => a.rounds.map((x, i) => x / (b.rounds[i] as number));
const pairedRatio = (a: Measured, b: Measured): number => ratio(median(perRound(a, b)), 1);
for (const [kind, body] of Object.entries(bodies)) {
  const m = await measureEach(body);
  const toBaseline = pairedRatio(m.webhook, m.baseline);
  const toFloor = pairedRatio(m.webhook, m.expressFloor);
  const floorToBaseline = pairedRatio(m.expressFloor, m.baseline);
  const perRoundToFloor = perRound(m.webhook, m.expressFloor).map((r) => ratio(r, 1));
  http[kind] = {
    ...m,
    ratioToBaseline: toBaseline,
    ratioToExpressFloor: toFloor,
    expressFloorToBaseline: floorToBaseline,
    ratioToExpressFloorPerRound: perRoundToFloor,
    // The ratios of the medians, as earlier runs reported them.
    ratioOfMediansToBaseline: ratio(m.webhook.requestsPerSecond, m.baseline.requestsPerSecond),
    ratioOfMediansToExpressFloor: ratio(m.webhook.requestsPerSecond, m.expressFloor.requestsPerSecond),
  };
  const first = typeof body === 'string' ? body : typeof body === 'function' ? body() : (body[0] as string);
  row(
    `HTTP ${kind} kubeadm etcd review (${(first.length / 1024).toFixed(1)} KiB), req/s`,
    `webhook ${m.webhook.requestsPerSecond}: ${toBaseline} × baseline ${m.baseline.requestsPerSecond}, ${toFloor} × express floor ${m.expressFloor.requestsPerSecond} (express defaults ${m.expressDefaults.requestsPerSecond}; floor = ${floorToBaseline} × baseline) [medians; ratios round by round, median]`,
  );
  row(
    '  p50/p99/p99.9 at a steady 1,000 req/s',
    `webhook ${Object.values(m.webhook.at1000).join('/')} ms, floor ${Object.values(m.expressFloor.at1000).join('/')} ms, baseline ${Object.values(m.baseline.at1000).join('/')} ms`,
  );
  row(
    '  p99 at full speed; webhook peak RSS',
    `webhook ${m.webhook.p99FullSpeedMs} ms, floor ${m.expressFloor.p99FullSpeedMs} ms, baseline ${m.baseline.p99FullSpeedMs} ms; ${m.webhook.peakRssMiB} MiB`,
  );
  row('  webhook req/s per round', m.webhook.rounds.join(', '));
  row(
    '  webhook ÷ floor per round; ratio of the medians',
    `${perRoundToFloor.join(', ')}; ${ratio(m.webhook.requestsPerSecond, m.expressFloor.requestsPerSecond)}`,
  );
}

const PAIRS = Number(process.env.BENCH_PAIRS ?? 12);
const PAIR_SECONDS = 2;
const quartiles = (xs: readonly number[]): [number, number, number] => {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return [at(0.25), at(0.5), at(0.75)];
};
/**
 * The webhook against the express floor, paired: both processes up and warm at the same time, loaded
 * in turn in short windows, PAIRS pairs of 2 s in ABBA order (the floor first in even pairs, the
 * webhook first in odd ones), so that each pair's two windows are seconds apart. The rounds above
 * restart each server and measure the two 20 s or more apart; this machine's speed drifts by up to a
 * factor of two from minute to minute, and that drift was most of their spread (the floor alone:
 * 15,244, 8,909 and 7,812 req/s in one run). Two ratios per pair: requests/s, and CPU per request
 * (each server process's CPU time from /proc, all its threads, over its window's requests), which
 * the load generator's share of the two cores does not move. Printed: their medians and quartiles.
 */
async function pairedWithFloor(body: Bodies): Promise<Record<string, unknown>> {
  const floor = await startExpressFloorProcess(certFile, keyFile, certs.ca.certPem, 'lean');
  const webhook = await startWebhookProcess(certFile, keyFile, certs.ca.certPem);
  try {
    for (const target of [floor, webhook]) await load(target, body, { connections: CONNECTIONS, seconds: 2 }); // warm-up
    const window = async (target: Target): Promise<{ requestsPerSecond: number; cpuMicrosPerRequest: number }> => {
      const cpuBefore = target.cpuSeconds();
      const r = refuseErrors(target.name, await load(target, body, { connections: CONNECTIONS, seconds: PAIR_SECONDS }));
      return { requestsPerSecond: r.requestsPerSecond, cpuMicrosPerRequest: ((target.cpuSeconds() - cpuBefore) * 1e6) / r.requests };
    };
    const pairs: Array<{ floor: Awaited<ReturnType<typeof window>>; webhook: Awaited<ReturnType<typeof window>> }> = [];
    for (let i = 0; i < PAIRS; i++) {
      if (i % 2 === 0) {
        const f = await window(floor);
        pairs.push({ floor: f, webhook: await window(webhook) });
      } else {
        const w = await window(webhook);
        pairs.push({ webhook: w, floor: await window(floor) });
      }
    }
    const speed = quartiles(pairs.map((p) => p.webhook.requestsPerSecond / p.floor.requestsPerSecond)).map((x) => ratio(x, 1));
    const cpu = quartiles(pairs.map((p) => p.floor.cpuMicrosPerRequest / p.webhook.cpuMicrosPerRequest)).map((x) => ratio(x, 1));
    row(
      `  paired with the floor, ${PAIRS} × ${PAIR_SECONDS} s windows each, both warm`,
      `webhook ÷ floor: req/s ${speed[1]} (quartiles ${speed[0]}–${speed[2]}), CPU per request ${cpu[1]} (${cpu[0]}–${cpu[2]}) [floor µs ÷ webhook µs]`,
    );
    return {
      pairs: PAIRS,
      windowSeconds: PAIR_SECONDS,
      ratioRequestsPerSecond: speed[1],
      ratioRequestsPerSecondQuartiles: [speed[0], speed[2]],
      ratioCpuPerRequest: cpu[1],
      ratioCpuPerRequestQuartiles: [cpu[0], cpu[2]],
      windows: pairs.map((p) => ({
        floor: p.floor.requestsPerSecond,
        webhook: p.webhook.requestsPerSecond,
        floorCpuMicros: Number(p.floor.cpuMicrosPerRequest.toFixed(1)),
        webhookCpuMicros: Number(p.webhook.cpuMicrosPerRequest.toFixed(1)),
      })),
    };
  } finally {
    await floor.stop();
    await webhook.stop();
  }
}
(http.passing as Record<string, unknown>).pairedWithFloor = await pairedWithFloor(bodies.passing as Bodies);

const ONE_ROUNDS = Number(process.env.BENCH_ONE_ROUNDS ?? 30);
/**
 * The passing review one at a time, the CPU caches cold before each (oneAtATime): the baseline, the
 * express floor and the webhook up at once; p50 round trips, and what the floor and the webhook add
 * to the baseline's, round by round (median). What a single `kubectl apply --dry-run=server` waits
 * for, without the API server's own 1–2 ms around it.
 */
async function oneReviewAtATime(body: string): Promise<Record<string, unknown>> {
  const targets = [
    await startBaselineProcess(certFile, keyFile, certs.ca.certPem),
    await startExpressFloorProcess(certFile, keyFile, certs.ca.certPem, 'lean'),
    await startWebhookProcess(certFile, keyFile, certs.ca.certPem),
  ];
  try {
    const r = await oneAtATime(targets, body, { rounds: ONE_ROUNDS, perRound: 50, walkMiB: 16, ca: certs.ca.certPem });
    if (r.errors + r.non2xx > 0)
      throw new Error(`one review at a time: ${r.errors} errors and ${r.non2xx} non-200 answers; the figures would not mean anything`);
    const [baseline, floor, webhook] = r.roundP50Us as [number[], number[], number[]];
    const over = (a: number[], b: number[]): number => Math.round(median(a.map((x, i) => x - (b[i] as number))));
    const out = {
      rounds: ONE_ROUNDS,
      perRound: 50,
      p50Us: { baseline: r.p50Us[0], expressFloor: r.p50Us[1], webhook: r.p50Us[2] },
      addedUsPerRoundMedian: {
        expressFloorOverBaseline: over(floor, baseline),
        webhookOverBaseline: over(webhook, baseline),
        webhookOverExpressFloor: over(webhook, floor),
      },
    };
    row(
      `HTTP passing review one at a time, caches cold (${ONE_ROUNDS} × 50)`,
      `p50 round trip: baseline ${out.p50Us.baseline} µs, express floor ${out.p50Us.expressFloor} µs (+${out.addedUsPerRoundMedian.expressFloorOverBaseline}), webhook ${out.p50Us.webhook} µs (+${out.addedUsPerRoundMedian.webhookOverBaseline}; +${out.addedUsPerRoundMedian.webhookOverExpressFloor} over the floor) [differences round by round, median]`,
    );
    return out;
  } finally {
    for (const t of targets) await t.stop();
  }
}
(http.passing as Record<string, unknown>).oneAtATime = await oneReviewAtATime(bodies.passing as string);

for (const [kind, pod] of [
  ['200-container unrelated pod', bigUnrelatedPod],
  ['1 MiB etcd pod', oneMiBEtcd],
] as const) {
  const body = reviewOf(pod);
  const seconds = Math.max(2, Math.round(SECONDS / 2));
  const baseline = await startBaselineProcess(certFile, keyFile, certs.ca.certPem);
  const b = refuseErrors(`baseline, ${kind}`, await load(baseline, body, { connections: 4, seconds }));
  await baseline.stop();
  const webhook = await startWebhookProcess(certFile, keyFile, certs.ca.certPem);
  await load(webhook, body, { connections: 4, seconds: 1 });
  const w = refuseErrors(`webhook, ${kind}`, await load(webhook, body, { connections: 4, seconds }));
  const rss = webhook.peakRssMiB();
  await webhook.stop();
  http[kind] = {
    bodyKiB: Math.round(body.length / 1024),
    webhook: w,
    baseline: b,
    ratio: ratio(w.requestsPerSecond, b.requestsPerSecond),
    webhookPeakRssMiB: rss,
  };
  row(
    `HTTP ${kind} (${Math.round(body.length / 1024)} KiB), 4 connections`,
    `webhook ${w.requestsPerSecond}/s p99 ${w.p99Ms} ms vs baseline ${b.requestsPerSecond}/s p99 ${b.p99Ms} ms; RSS ${rss} MiB`,
  );
}

// --- 2. A burst of large UPDATE reviews, with the chart's heap ---
const burstPod: Pod = (() => {
  const pod = loadFixture('kubeadm/etcd.yaml');
  const c = pod.spec.containers[0];
  if (c !== undefined) c.env = Array.from({ length: 3000 }, (_, i) => ({ name: `APP_SETTING_${i}`, value: 'v'.repeat(1000) }));
  return pod;
})();
const burstBody = admissionReviewJson(burstPod, { operation: 'UPDATE', oldObject: burstPod });
const burstTarget = await startWebhookProcess(certFile, keyFile, certs.ca.certPem, CHART_NODE_OPTIONS);
const burstStart = performance.now();
const burstReplies = await Promise.all(Array.from({ length: 32 }, () => postReview(burstTarget.url, burstBody, { ca: certs.ca.certPem })));
const burstSeconds = Number(((performance.now() - burstStart) / 1000).toFixed(2));
const burstRss = burstTarget.peakRssMiB();
await burstTarget.stop();
const burstFailures = burstReplies.filter((r) => r.status !== 200).length;
if (burstFailures > 0) throw new Error(`burst: ${burstFailures} of 32 reviews not answered 200`);
const burst = {
  reviews: 32,
  reviewMiB: Number((burstBody.length / 2 ** 20).toFixed(1)),
  seconds: burstSeconds,
  peakRssMiB: burstRss,
  chartLimitMiB: 256,
};
row(
  `burst: 32 × ${burst.reviewMiB} MiB UPDATE reviews at once (heap 192 MiB)`,
  `all 200 in ${burstSeconds} s; peak RSS ${burstRss} MiB (chart limit 256 Mi)`,
);
await rm(certDir, { recursive: true, force: true });

// --- 2. The core, in-process ---
/** Operations per second: the median of five rounds (this machine's speed varies from run to run). */
function rate(name: string, iterations: number, fn: () => void): { name: string; perSecond: number; microsPerOp: number } {
  for (let i = 0; i < Math.min(2000, iterations / 5); i++) fn(); // warm-up
  const perRound: number[] = [];
  for (let round = 0; round < 5; round++) {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) fn();
    perRound.push((performance.now() - start) / iterations);
  }
  const ms = median(perRound);
  return { name, perSecond: Math.round(1000 / ms), microsPerOp: Number((ms * 1000).toFixed(1)) };
}
const request = (pod: Pod): AdmissionRequest => ({
  uid: 'u',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  operation: 'CREATE',
  namespace: 'kube-system',
  userInfo: { username: 'kubernetes-admin', groups: ['system:authenticated'] },
  object: pod,
});
const evaluateAndDecide = (pod: Pod) => (): unknown => judgePod(pod, DEFAULT_POLICY);
const core = [
  rate('judgePod kubeadm etcd (pass)', 20_000, evaluateAndDecide(passingEtcd)),
  rate('judgePod kubeadm etcd (client-cert-auth off: deny)', 20_000, evaluateAndDecide(failingEtcd)),
  rate('judgePod plaintext etcd (deny)', 20_000, evaluateAndDecide(loadFixture('insecure/etcd-plaintext.yaml'))),
  rate('judgePod kubeadm kube-apiserver', 20_000, evaluateAndDecide(loadFixture('kubeadm/kube-apiserver.yaml'))),
  rate('judgePod sh -c etcd script', 20_000, evaluateAndDecide(loadFixture('other/etcd-shell-wrapper.yaml'))),
  rate('admit() kubeadm etcd incl. schema check', 20_000, () => admit(request(passingEtcd), DEFAULT_POLICY)),
  rate('admit() unrelated 200-container pod', 500, () => admit(request(bigUnrelatedPod), DEFAULT_POLICY)),
  rate('admit() 1 MiB etcd pod', 200, () => admit(request(oneMiBEtcd), DEFAULT_POLICY)),
];
for (const r of core) row(r.name, `${String(r.perSecond).padStart(7)} /s ${String(r.microsPerOp).padStart(9)} µs`);

// --- 3. scan, in a process of its own ---
const dir = await mkdtemp(join(tmpdir(), 'etg-bench-'));
const FILES = 10_000;
const yamlText = stringify(failingEtcd);
await Promise.all(Array.from({ length: FILES }, (_, i) => writeFile(join(dir, `pod-${String(i).padStart(5, '0')}.yaml`), yamlText)));
const scanChild = fileURLToPath(new URL('./scan-child.js', import.meta.url));
const scan = JSON.parse(execFileSync(process.execPath, [scanChild, dir, String(FILES)], { encoding: 'utf8' })) as Record<string, number>;
await rm(dir, { recursive: true, force: true });
// A benchmark that measured errors instead of work would be worse than none.
if (scan.checked !== FILES) throw new Error(`scan checked ${scan.checked} of ${FILES} manifests: the benchmark input is wrong`);
row('scan of 10,000 manifest files (own process)', `${scan.filesPerSecond} files/s, ${scan.seconds} s, peak RSS ${scan.peakRssMiB} MiB`);

// --- 4. audit of 10,000 pods, in a process of its own ---
const auditChild = fileURLToPath(new URL('./audit-child.js', import.meta.url));
const audit = JSON.parse(execFileSync(process.execPath, [auditChild, '10000'], { encoding: 'utf8' })) as Record<string, number>;
if (audit.checked !== 7500) throw new Error(`audit checked ${audit.checked} of 7,500 control-plane pods: the benchmark input is wrong`);
row(
  'audit of 10,000 pods from a fake API (own process)',
  `${audit.podsPerSecond} pods/s, ${audit.seconds} s (peak RSS ${audit.peakRssMiB} MiB, the fake server's pods included)`,
);

// --- 5. one node checked (etcd-tls-guard node), in a process of its own ---
const { kubeadmNode } = await import('../node-host.js');
const { host } = kubeadmNode();
const nodeChild = fileURLToPath(new URL('./node-child.js', import.meta.url));
const nodeRuns = Array.from(
  { length: 5 },
  () => JSON.parse(execFileSync(process.execPath, [nodeChild, host.root], { encoding: 'utf8' })) as Record<string, number>,
);
host.remove();
if (nodeRuns.some((r) => r.checked !== 2)) throw new Error('the node check did not check the two manifests: the benchmark input is wrong');
const nodeCheck = {
  checkSeconds: median(nodeRuns.map((r) => r.checkSeconds as number)),
  processSeconds: median(nodeRuns.map((r) => r.processSeconds as number)),
  peakRssMiB: Math.max(...nodeRuns.map((r) => r.peakRssMiB as number)),
};
row(
  'one node checked: kubeadm layout, the real /proc (5 runs)',
  `check ${nodeCheck.checkSeconds} s, process ${nodeCheck.processSeconds} s (medians), peak RSS ${nodeCheck.peakRssMiB} MiB (max)`,
);

console.log(
  JSON.stringify({
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    secondsPerRun: SECONDS,
    rounds: ROUNDS,
    http,
    burst,
    core,
    scan,
    audit,
    nodeCheck,
  }),
);
