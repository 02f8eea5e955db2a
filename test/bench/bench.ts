/**
 * `npm run bench`: the webhook's speed and memory, measured, never asserted in tests. Prints a short
 * table and, last, one JSON object with every figure.
 *  1. HTTP: POST /validate over HTTPS with keep-alive against a bare node:https baseline (each its own
 *     process, same certificates), driven by autocannon from this process: requests/s at full speed
 *     and latency at a fixed 1,000 requests/s, for a passing and a failing kubeadm etcd mirror pod,
 *     then a 200-container pod and a 1 MiB pod; the webhook's peak RSS.
 *  2. The core in-process: pods/s of evaluatePod + decide and of admit().
 *  3. scan of 10,000 generated manifests in its own process: files/s and peak RSS.
 * BENCH_SECONDS shortens or lengthens each HTTP run (default 10).
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
import { decide } from '../../src/policy/decide.js';
import { evaluatePod } from '../../src/rules/evaluate.js';
import type { Pod } from '../../src/launch/pod.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { loadFixture } from '../helpers.js';
import { load, paced, startBaselineProcess, startExpressFloorProcess, startWebhookProcess, type LoadResult, type Target } from './http.js';
import { bigUnrelatedPod, failingEtcd, oneMiBEtcd, passingEtcd, reviewOf } from './pods.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 16;
const row = (label: string, text: string): void => console.log(`${label.padEnd(52)} ${text}`);

// --- 1. HTTP ---
const certDir = await mkdtemp(join(tmpdir(), 'etg-bench-certs-'));
const certs = await writeDevCertificates(certDir, ['localhost', '127.0.0.1']);
const certFile = join(certDir, 'tls.crt');
const keyFile = join(certDir, 'tls.key');

async function measure(target: Target, body: string): Promise<{ max: LoadResult; at1000: LoadResult; peakRssMiB: number }> {
  await load(target, body, { connections: CONNECTIONS, seconds: Math.min(2, SECONDS) }); // warm-up (JIT, TLS sessions)
  const max = await load(target, body, { connections: CONNECTIONS, seconds: SECONDS });
  const at1000 = await paced(target, body, { rate: 1000, seconds: SECONDS, connections: CONNECTIONS, ca: certs.ca.certPem });
  return { max, at1000, peakRssMiB: target.peakRssMiB() };
}

/** One server at a time, so that no two share the 2 cores. */
async function measureEach(body: string): Promise<Record<'baseline' | 'expressFloor' | 'webhook', Awaited<ReturnType<typeof measure>>>> {
  const out: Partial<Record<'baseline' | 'expressFloor' | 'webhook', Awaited<ReturnType<typeof measure>>>> = {};
  for (const [key, start] of [
    ['baseline', startBaselineProcess],
    ['expressFloor', startExpressFloorProcess],
    ['webhook', startWebhookProcess],
  ] as const) {
    const target = await start(certFile, keyFile, certs.ca.certPem);
    out[key] = await measure(target, body);
    await target.stop();
  }
  return out as Record<'baseline' | 'expressFloor' | 'webhook', Awaited<ReturnType<typeof measure>>>;
}

const bodies = { passing: reviewOf(passingEtcd), failing: reviewOf(failingEtcd) };
const http: Record<string, unknown> = {};
const lat = (r: LoadResult): string => `${r.p50Ms}/${r.p99Ms}/${r.p999Ms} ms`;
for (const [kind, body] of Object.entries(bodies)) {
  const m = await measureEach(body);
  const ratio = Number((m.webhook.max.requestsPerSecond / m.baseline.max.requestsPerSecond).toFixed(2));
  const ofFloor = Number((m.webhook.max.requestsPerSecond / m.expressFloor.max.requestsPerSecond).toFixed(2));
  const errors = (r: { max: LoadResult; at1000: LoadResult }): number => r.max.errors + r.max.non2xx + r.at1000.errors + r.at1000.non2xx;
  http[kind] = { ...m, ratio, ratioToExpressFloor: ofFloor, webhookPeakRssMiB: m.webhook.peakRssMiB };
  row(`HTTP ${kind} kubeadm etcd review (${(body.length / 1024).toFixed(1)} KiB), max req/s`, `webhook ${m.webhook.max.requestsPerSecond}/s = ${Math.round(ratio * 100)} % of baseline ${m.baseline.max.requestsPerSecond}/s, ${Math.round(ofFloor * 100)} % of express floor ${m.expressFloor.max.requestsPerSecond}/s`);
  row(`  p50/p99/p99.9 at full speed (${CONNECTIONS} connections)`, `webhook ${lat(m.webhook.max)}, baseline ${lat(m.baseline.max)}, express floor ${lat(m.expressFloor.max)}`);
  row('  p50/p99/p99.9 at a steady 1,000 req/s', `webhook ${lat(m.webhook.at1000)}, baseline ${lat(m.baseline.at1000)}, express floor ${lat(m.expressFloor.at1000)}`);
  row('  errors (webhook, baseline, floor); webhook peak RSS', `${errors(m.webhook)}, ${errors(m.baseline)}, ${errors(m.expressFloor)}; ${m.webhook.peakRssMiB} MiB`);
}
for (const [kind, pod] of [
  ['200-container unrelated pod', bigUnrelatedPod],
  ['1 MiB etcd pod', oneMiBEtcd],
] as const) {
  const body = reviewOf(pod);
  const seconds = Math.max(2, Math.round(SECONDS / 2));
  const baseline = await startBaselineProcess(certFile, keyFile, certs.ca.certPem);
  const b = await load(baseline, body, { connections: 4, seconds });
  await baseline.stop();
  const webhook = await startWebhookProcess(certFile, keyFile, certs.ca.certPem);
  await load(webhook, body, { connections: 4, seconds: 1 });
  const w = await load(webhook, body, { connections: 4, seconds });
  const rss = webhook.peakRssMiB();
  await webhook.stop();
  http[kind] = { bodyKiB: Math.round(body.length / 1024), webhook: w, baseline: b, ratio: Number((w.requestsPerSecond / b.requestsPerSecond).toFixed(2)), webhookPeakRssMiB: rss };
  row(`HTTP ${kind} (${Math.round(body.length / 1024)} KiB), 4 connections`, `webhook ${w.requestsPerSecond}/s p99 ${w.p99Ms} ms vs baseline ${b.requestsPerSecond}/s p99 ${b.p99Ms} ms; errors ${w.errors + w.non2xx}; RSS ${rss} MiB`);
}
await rm(certDir, { recursive: true, force: true });

// --- 2. The core, in-process ---
function rate(name: string, iterations: number, fn: () => void): { name: string; perSecond: number; microsPerOp: number } {
  for (let i = 0; i < Math.min(1000, iterations / 10); i++) fn(); // warm-up
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  const ms = performance.now() - start;
  return { name, perSecond: Math.round((iterations / ms) * 1000), microsPerOp: Number(((ms * 1000) / iterations).toFixed(1)) };
}
const request = (pod: Pod): AdmissionRequest => ({
  uid: 'u',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  operation: 'CREATE',
  namespace: 'kube-system',
  userInfo: { username: 'kubernetes-admin', groups: ['system:authenticated'] },
  object: pod,
});
const evaluateAndDecide = (pod: Pod) => (): unknown => decide(evaluatePod(pod, DEFAULT_POLICY), DEFAULT_POLICY, { kubeletMirror: false });
const core = [
  rate('evaluate+decide kubeadm etcd (pass)', 20_000, evaluateAndDecide(passingEtcd)),
  rate('evaluate+decide kubeadm etcd (client-cert-auth off: deny)', 20_000, evaluateAndDecide(failingEtcd)),
  rate('evaluate+decide plaintext etcd (deny)', 20_000, evaluateAndDecide(loadFixture('insecure/etcd-plaintext.yaml'))),
  rate('evaluate+decide kubeadm kube-apiserver', 20_000, evaluateAndDecide(loadFixture('kubeadm/kube-apiserver.yaml'))),
  rate('evaluate+decide sh -c etcd script', 20_000, evaluateAndDecide(loadFixture('other/etcd-shell-wrapper.yaml'))),
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

console.log(JSON.stringify({ node: process.version, cpus: (await import('node:os')).cpus().length, secondsPerRun: SECONDS, http, core, scan }));
