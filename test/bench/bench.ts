/**
 * In-process benchmark of the core (`npm run bench`): how many pods per second evaluatePod + decide
 * and the whole admit() path judge, and scan throughput on generated manifests. Prints a table and
 * one JSON object. Timings are measured here, never asserted in tests.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { admit } from '../../src/admission/handler.js';
import type { AdmissionRequest } from '../../src/admission/review.js';
import { decide } from '../../src/core/decide.js';
import { evaluatePod } from '../../src/core/evaluate.js';
import type { Pod } from '../../src/core/pod.js';
import { loadInputs } from '../../src/manifests/load.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { scanDocuments } from '../../src/scan/scan.js';
import { loadFixture } from '../helpers.js';

function rate(name: string, iterations: number, fn: () => void): { name: string; perSecond: number; microsPerOp: number } {
  for (let i = 0; i < Math.min(1000, iterations / 10); i++) fn(); // warm-up
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  const ms = performance.now() - start;
  return { name, perSecond: Math.round((iterations / ms) * 1000), microsPerOp: Number(((ms * 1000) / iterations).toFixed(1)) };
}

function bigUnrelatedPod(): Pod {
  return {
    metadata: { name: 'big', namespace: 'default' },
    spec: {
      containers: Array.from({ length: 200 }, (_, i) => ({
        name: `c${i}`,
        image: 'nginx:1.27',
        command: ['nginx', '-g', 'daemon off;'],
        env: Array.from({ length: 20 }, (_, j) => ({ name: `VAR_${j}`, value: 'x'.repeat(100) })),
      })),
    },
  };
}

const request = (pod: Pod): AdmissionRequest => ({
  uid: 'u',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  operation: 'CREATE',
  namespace: 'kube-system',
  userInfo: { username: 'kubernetes-admin', groups: ['system:authenticated'] },
  object: pod,
});

const compliant = loadFixture('kubeadm/etcd.yaml');
const failing = loadFixture('insecure/etcd-plaintext.yaml');
const apiserver = loadFixture('kubeadm/kube-apiserver.yaml');
const shell = loadFixture('other/etcd-shell-wrapper.yaml');
const big = bigUnrelatedPod();

const results = [
  rate('evaluate+decide kubeadm etcd (pass)', 20_000, () => decide(evaluatePod(compliant, DEFAULT_POLICY), DEFAULT_POLICY, { kubeletMirror: false })),
  rate('evaluate+decide plaintext etcd (deny)', 20_000, () => decide(evaluatePod(failing, DEFAULT_POLICY), DEFAULT_POLICY, { kubeletMirror: false })),
  rate('evaluate+decide kubeadm kube-apiserver', 20_000, () => decide(evaluatePod(apiserver, DEFAULT_POLICY), DEFAULT_POLICY, { kubeletMirror: false })),
  rate('evaluate+decide sh -c etcd script', 20_000, () => decide(evaluatePod(shell, DEFAULT_POLICY), DEFAULT_POLICY, { kubeletMirror: false })),
  rate('admit() kubeadm etcd incl. schema check', 20_000, () => admit(request(compliant), DEFAULT_POLICY)),
  rate('admit() unrelated 200-container pod', 500, () => admit(request(big), DEFAULT_POLICY)),
];

const dir = await mkdtemp(join(tmpdir(), 'etg-bench-'));
const FILES = 10_000;
const yamlText = stringify(failing);
await Promise.all(Array.from({ length: FILES }, (_, i) => writeFile(join(dir, `pod-${String(i).padStart(5, '0')}.yaml`), yamlText)));
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
const inputs = await loadInputs([dir], () => Promise.resolve(''));
const report = scanDocuments(inputs.documents, DEFAULT_POLICY, inputs.errors);
const scanMs = performance.now() - t0;
await rm(dir, { recursive: true, force: true });
const scan = { files: FILES, seconds: Number((scanMs / 1000).toFixed(2)), filesPerSecond: Math.round((FILES / scanMs) * 1000), checked: report.summary.checked, rssMiB: Math.round(Math.max(process.memoryUsage().rss, rssBefore) / 2 ** 20) };

for (const r of results) console.log(`${r.name.padEnd(44)} ${String(r.perSecond).padStart(9)} /s ${String(r.microsPerOp).padStart(9)} µs`);
console.log(`${'scan of 10,000 manifest files'.padEnd(44)} ${String(scan.filesPerSecond).padStart(9)} files/s, ${scan.seconds} s, RSS ${scan.rssMiB} MiB`);
console.log(JSON.stringify({ node: process.version, core: results, scan }));
