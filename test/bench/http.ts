/**
 * HTTP benchmark of POST /validate against the baseline (baseline.ts): both servers run as their own
 * processes on the same certificates; autocannon drives them from this process over HTTPS with
 * keep-alive. Latencies are taken from autocannon's per-response timings (hrtime, sub-millisecond),
 * not its 1 ms histogram.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { fileURLToPath } from 'node:url';
import { freePort } from '../processes.js';

export interface LoadResult {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly errors: number;
  readonly non2xx: number;
}

export interface Target {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** Peak resident set size so far (VmHWM). */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

const DIST = fileURLToPath(new URL('../../', import.meta.url));


function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Math.round(Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) / 1024);
}

async function waitHealthy(url: string, ca: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      request(`${url}/healthz`, { ca, agent: false, method: 'GET' }, (res) => {
        res.resume();
        resolve(true);
      })
        .on('error', () => resolve(false))
        .end();
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not come up`);
}

async function startProcess(name: string, args: string[], ca: string, port: number): Promise<Target> {
  // stdout goes nowhere: the webhook logs one JSON line per decision, as in production, at no cost to this process.
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `https://127.0.0.1:${port}`;
  await waitHealthy(url, ca);
  return {
    name,
    url,
    pid: child.pid as number,
    peakRssMiB: () => peakRss(child.pid as number),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** `nodeOptions`: as the chart sets them (`--max-old-space-size` from the memory limit). */
export async function startWebhookProcess(certFile: string, keyFile: string, ca: string, nodeOptions: readonly string[] = []): Promise<Target> {
  const port = await freePort();
  const cli = `${DIST}src/cli/main.js`;
  return startProcess('webhook', [...nodeOptions, cli, 'serve', '--port', String(port), '--metrics-port', '0', '--tls-cert-file', certFile, '--tls-key-file', keyFile], ca, port);
}

export async function startExpressFloorProcess(certFile: string, keyFile: string, ca: string, mode: 'lean' | 'raw' = 'lean'): Promise<Target> {
  const port = await freePort();
  return startProcess(mode === 'lean' ? 'express floor' : 'express defaults', [`${DIST}test/bench/express-floor.js`, String(port), certFile, keyFile, mode], ca, port);
}

export async function startBaselineProcess(certFile: string, keyFile: string, ca: string): Promise<Target> {
  const port = await freePort();
  return startProcess('baseline', [`${DIST}test/bench/baseline.js`, String(port), certFile, keyFile], ca, port);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return Number((sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number).toFixed(3));
}

/**
 * Latency at a fixed request rate, open loop: requests are sent on a 1 ms schedule whatever the
 * responses do (over keep-alive connections, at most `connections`), and each latency counts from the
 * request's scheduled time, so queueing is not hidden (no coordinated omission). autocannon's own
 * rate limit sends each second's quota in a burst, which measures the burst, not the rate.
 */
export async function paced(target: Target, body: string, opts: { rate: number; seconds: number; connections: number; ca: string }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections, ca: opts.ca, servername: 'localhost' });
  const url = new URL(`${target.url}/validate`);
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const total = opts.rate * opts.seconds;
  const start = process.hrtime.bigint();
  const inFlight: Promise<void>[] = [];
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor((Number(process.hrtime.bigint() - start) / 1e9) * opts.rate));
      for (; sent < due; sent++) {
        const scheduled = start + BigInt(Math.round((sent / opts.rate) * 1e9));
        inFlight.push(
          new Promise<void>((done) => {
            const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
              res.resume();
              res.on('end', () => {
                if (res.statusCode === 200) latencies.push(Number(process.hrtime.bigint() - scheduled) / 1e6);
                else non2xx++;
                done();
              });
            });
            req.on('error', () => {
              errors++;
              done();
            });
            req.end(body);
          }),
        );
      }
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await Promise.all(inFlight);
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return { requests: total, requestsPerSecond: opts.rate, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), p999Ms: percentile(sorted, 99.9), errors, non2xx };
}

/** One autocannon run: `rate` undefined = as fast as the connections allow. */
export async function load(target: Target, body: string, opts: { connections: number; seconds: number; rate?: number }): Promise<LoadResult> {
  const latencies: number[] = [];
  const options: autocannon.Options = {
    url: `${target.url}/validate`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: opts.connections,
    duration: opts.seconds,
    ...(opts.rate !== undefined ? { overallRate: opts.rate } : {}),
    servername: 'localhost',
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err: Error | null, res: autocannon.Result) => (err !== null ? reject(err) : resolve(res)));
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode === 200) latencies.push(responseTime);
    });
  });
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: result.requests.total,
    requestsPerSecond: Math.round(result.requests.total / opts.seconds),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
