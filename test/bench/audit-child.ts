/**
 * `audit` of 10,000 pods in a process of its own: a fake API server over HTTPS (this process) serves
 * a paginated pod list as kube-apiserver does (limit/continue), and the audit reads it through
 * client-node with a kubeconfig, judges every pod and builds the report. Prints seconds and peak RSS:
 *   node dist/test/bench/audit-child.js PODS
 */
import { KubeConfig } from '@kubernetes/client-node';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { runAudit } from '../../src/audit/run.js';
import { generateDevCertificates } from '../../src/certs/dev.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { loadFixture } from '../helpers.js';
import { failingEtcd, passingEtcd } from './pods.js';

const PODS = Number(process.argv[2] ?? 10_000);
const certs = generateDevCertificates(['localhost', '127.0.0.1']);
const apiserver = loadFixture('kubeadm/kube-apiserver.yaml');
const unrelated = loadFixture('other/nginx.yaml');
// A cluster's kube-system at scale: control-plane pods of many clusters' worth, and many others.
const pods = Array.from({ length: PODS }, (_, i) => {
  const base = [passingEtcd, failingEtcd, apiserver, unrelated][i % 4] as object;
  const meta = (base as { metadata?: Record<string, unknown> }).metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    ...base,
    metadata: { ...meta, name: `pod-${i}`, namespace: 'kube-system', uid: `uid-${i}`, resourceVersion: String(i) },
  };
});
const PAGE_BODIES = new Map<number, string>();
const server = createServer({ cert: certs.server.certPem, key: certs.server.keyPem }, (req, res) => {
  const url = new URL(req.url ?? '/', 'https://localhost');
  if (url.pathname !== '/api/v1/namespaces/kube-system/pods') {
    res.writeHead(404).end();
    return;
  }
  const limit = Number(url.searchParams.get('limit') ?? PODS);
  const start = Number(url.searchParams.get('continue') ?? 0);
  let body = PAGE_BODIES.get(start);
  if (body === undefined) {
    const next = start + limit < PODS ? String(start + limit) : undefined;
    body = JSON.stringify({
      apiVersion: 'v1',
      kind: 'PodList',
      metadata: { resourceVersion: '1', ...(next !== undefined ? { continue: next } : {}) },
      items: pods.slice(start, start + limit),
    });
    PAGE_BODIES.set(start, body);
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(body);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [
    {
      name: 'fake',
      server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      caData: Buffer.from(certs.ca.certPem).toString('base64'),
      skipTLSVerify: false,
    },
  ],
  users: [{ name: 'u', token: 'x' }],
  contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
  currentContext: 'c',
});
// Warm the page cache of the fake server (its own JSON.stringify is not the audit's time).
await runAudit(kc, { namespaces: ['kube-system'], policy: DEFAULT_POLICY, policyReport: false, source: 'cluster', now: () => new Date() });
const t0 = performance.now();
const outcome = await runAudit(kc, {
  namespaces: ['kube-system'],
  policy: DEFAULT_POLICY,
  policyReport: false,
  source: 'cluster',
  now: () => new Date(),
});
const ms = performance.now() - t0;
server.close();
console.log(
  JSON.stringify({
    pods: PODS,
    seconds: Number((ms / 1000).toFixed(2)),
    podsPerSecond: Math.round((PODS / ms) * 1000),
    checked: outcome.report.summary.checked,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
