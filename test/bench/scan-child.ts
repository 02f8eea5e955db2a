/**
 * Runs `scan --format json` on a directory in a process of its own, as the CLI does (streaming:
 * inputs read, judged and written one at a time; output to /dev/null), and prints files/s and the
 * process's peak RSS:
 *   node dist/test/bench/scan-child.js DIR FILES
 */
import { performance } from 'node:perf_hooks';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { jsonSink } from '../../src/report/format.js';
import { scanInputs } from '../../src/scan/scan.js';

const [dir, files] = process.argv.slice(2);
const t0 = performance.now();
let outputBytes = 0;
const outcome = await scanInputs(
  [dir as string],
  () => Promise.resolve(''),
  DEFAULT_POLICY,
  jsonSink((t) => (outputBytes += t.length)),
);
const ms = performance.now() - t0;
console.log(
  JSON.stringify({
    files: Number(files),
    seconds: Number((ms / 1000).toFixed(2)),
    filesPerSecond: Math.round((Number(files) / ms) * 1000),
    checked: outcome.summary.checked,
    outputMiB: Number((outputBytes / 2 ** 20).toFixed(1)),
    // maxRSS is in KiB on Linux.
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
