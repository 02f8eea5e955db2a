/**
 * `etcd-tls-guard node` on a kubeadm-like host root (test/node-host.ts: manifests, a forge PKI) with
 * the machine's real /proc scanned, in a process of its own as the CLI runs it, and prints the
 * check's wall time, the process's (start-up included) and its peak RSS:
 *   node dist/test/bench/node-child.js ROOT
 */
import { performance } from 'node:perf_hooks';
import { main } from '../../src/cli/main.js';

const [root] = process.argv.slice(2);
const t0 = performance.now();
let out = '';
const code = await main(['node', '--root', root as string, '--proc', '/proc', '--format', 'json'], {
  out: (t) => (out += t),
  err: () => undefined,
  env: {},
  readStdin: () => Promise.resolve(''),
});
const ms = performance.now() - t0;
const report = JSON.parse(out) as { summary: { checked: number } };
console.log(
  JSON.stringify({
    code,
    checked: report.summary.checked,
    checkSeconds: Number((ms / 1000).toFixed(3)),
    // From process start: module loading included, what a one-off Job or the agent's first check costs.
    processSeconds: Number((performance.now() / 1000).toFixed(3)),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
