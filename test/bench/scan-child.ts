/**
 * Runs `scan` on a directory in a process of its own and prints files/s and the process's peak RSS:
 *   node dist/test/bench/scan-child.js DIR FILES
 */
import { performance } from 'node:perf_hooks';
import { loadInputs } from '../../src/input/manifests.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { scanDocuments } from '../../src/scan/scan.js';
import { formatJson } from '../../src/report/format.js';

const [dir, files] = process.argv.slice(2);
const t0 = performance.now();
const inputs = await loadInputs([dir as string], () => Promise.resolve(''));
const report = scanDocuments(inputs.documents, DEFAULT_POLICY, inputs.errors);
const output = formatJson(report);
const ms = performance.now() - t0;
console.log(
  JSON.stringify({
    files: Number(files),
    seconds: Number((ms / 1000).toFixed(2)),
    filesPerSecond: Math.round((Number(files) / ms) * 1000),
    checked: report.summary.checked,
    outputMiB: Number((output.length / 2 ** 20).toFixed(1)),
    // maxRSS is in KiB on Linux.
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
