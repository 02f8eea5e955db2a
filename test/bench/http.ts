/**
 * HTTP benchmark of POST /validate against the baseline (baseline.ts): both servers run as their own
 * processes on the same certificates; autocannon drives them from this process over HTTPS with
 * keep-alive. Latencies are taken from autocannon's per-response timings (hrtime, sub-millisecond),
 * not its 1 ms histogram.
 */
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
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
  /** CPU time the process has used so far, all its threads, in seconds. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const DIST = fileURLToPath(new URL('../../', import.meta.url));

function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return Math.round(Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) / 1024);
}

/** Clock ticks per second, the unit of /proc/PID/stat's times (getconf CLK_TCK; 100 on Linux). */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** utime + stime of a process, every thread (proc(5): fields 14 and 15, after the parenthesised name). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
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
    cpuSeconds: () => cpuSeconds(child.pid as number),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * The Node.js options the chart gives the webhook (charts/etcd-tls-guard/templates/deployment.yaml,
 * for its default 256 Mi limit): every server of the benchmark runs with them, so that the servers
 * differ only in what they do per request.
 */
export const CHART_NODE_OPTIONS = ['--max-old-space-size=192', '--max-semi-space-size=4'];

/** The webhook as deployed: its metrics on (a free port). */
export async function startWebhookProcess(
  certFile: string,
  keyFile: string,
  ca: string,
  nodeOptions: readonly string[] = CHART_NODE_OPTIONS,
): Promise<Target> {
  const port = await freePort();
  const metricsPort = await freePort();
  const cli = `${DIST}src/cli/main.js`;
  const target = await startProcess(
    'webhook',
    [
      ...nodeOptions,
      cli,
      'serve',
      '--port',
      String(port),
      '--metrics-port',
      String(metricsPort),
      '--tls-cert-file',
      certFile,
      '--tls-key-file',
      keyFile,
    ],
    ca,
    port,
  );
  return target;
}

export async function startExpressFloorProcess(
  certFile: string,
  keyFile: string,
  ca: string,
  mode: 'lean' | 'defaults' = 'lean',
  nodeOptions: readonly string[] = CHART_NODE_OPTIONS,
): Promise<Target> {
  const port = await freePort();
  return startProcess(
    mode === 'lean' ? 'express floor' : 'express defaults',
    [...nodeOptions, `${DIST}test/bench/express-floor.js`, String(port), certFile, keyFile, mode],
    ca,
    port,
  );
}

export async function startBaselineProcess(
  certFile: string,
  keyFile: string,
  ca: string,
  nodeOptions: readonly string[] = CHART_NODE_OPTIONS,
): Promise<Target> {
  const port = await freePort();
  return startProcess('baseline', [...nodeOptions, `${DIST}test/bench/baseline.js`, String(port), certFile, keyFile], ca, port);
}

/** One body, several sent in turn (a ring), or one made for each request (distinct pods: nothing cached). */
export type Bodies = string | readonly string[] | (() => string);
const nextBody = (bodies: Bodies): (() => string) => {
  if (typeof bodies === 'function') return bodies;
  if (typeof bodies === 'string') return () => bodies;
  let i = 0;
  return () => bodies[i++ % bodies.length] as string;
};

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return Number((sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number).toFixed(3));
}

/** POST /validate with `body`, as the bytes of an HTTP/1.1 request (keep-alive, the default). */
function reviewRequest(url: URL, body: string): Buffer {
  return Buffer.from(
    `POST /validate HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** One keep-alive TLS connection that sends prepared requests and reads one HTTP/1.1 response at a time. */
interface RawConnection {
  send(onDone: (status: number | undefined) => void): void;
  close(): void;
}

/** Where a complete HTTP/1.1 response ends in `buf`, or -1 (Content-Length or chunked framing). */
function responseEnd(buf: Buffer): number {
  const headersEnd = buf.indexOf('\r\n\r\n');
  if (headersEnd === -1) return -1;
  const head = buf.subarray(0, headersEnd).toString('latin1').toLowerCase();
  const length = /\r\ncontent-length: *([0-9]+)/.exec(head);
  if (length !== null) {
    const end = headersEnd + 4 + Number(length[1]);
    return buf.length >= end ? end : -1;
  }
  if (head.includes('\r\ntransfer-encoding: chunked')) {
    const last = buf.indexOf('\r\n0\r\n\r\n', headersEnd);
    return last === -1 ? -1 : last + 7;
  }
  return headersEnd + 4;
}

async function rawConnection(url: URL, ca: string, request: () => Buffer): Promise<RawConnection> {
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect({ host: url.hostname, port: Number(url.port), ca, servername: 'localhost' }, () => resolve(s));
    s.once('error', reject);
  });
  socket.setNoDelay(true);
  let pending: ((status: number | undefined) => void) | undefined;
  let buf: Buffer = Buffer.alloc(0);
  const fail = (): void => {
    const done = pending;
    pending = undefined;
    done?.(undefined);
  };
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const end = responseEnd(buf);
    if (end === -1) return;
    const status = Number(buf.subarray(9, 12).toString('latin1'));
    buf = buf.subarray(end);
    const done = pending;
    pending = undefined;
    done?.(status);
  });
  socket.on('error', fail);
  socket.on('close', fail);
  return {
    send(onDone) {
      pending = onDone;
      socket.write(request());
    },
    close: () => socket.destroy(),
  };
}

/**
 * Latency at a fixed request rate, open loop: each millisecond's requests are due at their scheduled
 * times whatever the responses do, sent on the first idle one of `connections` keep-alive TLS
 * connections; a request that finds every connection busy waits for one, and that wait counts (no
 * coordinated omission). Each latency counts from when the request was due or, if the client's 1 ms
 * timer fired later than that, from the timer: the client's own lateness is not the server's.
 * The client writes a prepared request and reads the status line and framing only, so that its own
 * cost (node:https's client takes ~0.1 ms a request here) stays out of the figures. autocannon's own
 * rate limit sends each second's quota in a burst, which measures the burst, not the rate.
 */
export async function paced(
  target: Target,
  bodies: Bodies,
  opts: { rate: number; seconds: number; connections: number; ca: string },
): Promise<LoadResult> {
  const url = new URL(target.url);
  const bytesOf = (body: string): Buffer => reviewRequest(url, body);
  const fixed = typeof bodies === 'string' ? bytesOf(bodies) : undefined;
  const next = nextBody(bodies);
  const requestBytes = (): Buffer => fixed ?? bytesOf(next());
  const connections = await Promise.all(Array.from({ length: opts.connections }, () => rawConnection(url, opts.ca, requestBytes)));
  const idle = [...connections];
  const waiting: bigint[] = [];
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let answered = 0;
  let live = connections.length;
  const total = opts.rate * opts.seconds;
  let finished: () => void = () => {};
  const allAnswered = new Promise<void>((resolve) => (finished = resolve));
  const count = (status: number | undefined, from: bigint): void => {
    if (status === undefined) errors++;
    else if (status === 200) latencies.push(Number(process.hrtime.bigint() - from) / 1e6);
    else non2xx++;
    if (++answered === total) finished();
  };
  const dispatch = (connection: RawConnection, from: bigint): void => {
    connection.send((status) => {
      count(status, from);
      if (status === undefined) {
        // A broken connection is not reused; with none left, what waits fails too.
        if (--live === 0) for (const w of waiting.splice(0)) count(undefined, w);
        return;
      }
      const next = waiting.shift();
      if (next !== undefined) dispatch(connection, next);
      else idle.push(connection);
    });
  };
  const start = process.hrtime.bigint();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = process.hrtime.bigint();
      const due = Math.min(total, Math.floor((Number(now - start) / 1e9) * opts.rate));
      for (; sent < due; sent++) {
        const scheduled = start + BigInt(Math.round((sent / opts.rate) * 1e9));
        const from = scheduled > now ? scheduled : now;
        const connection = idle.pop();
        if (connection !== undefined) dispatch(connection, from);
        else if (live === 0) count(undefined, from);
        else waiting.push(from);
      }
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await allAnswered;
  for (const c of connections) c.close();
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: total,
    requestsPerSecond: opts.rate,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    errors,
    non2xx,
  };
}

/** One autocannon run: `rate` undefined = as fast as the connections allow. */
export async function load(
  target: Target,
  bodies: Bodies,
  opts: { connections: number; seconds: number; rate?: number },
): Promise<LoadResult> {
  const latencies: number[] = [];
  const next = nextBody(bodies);
  const options: autocannon.Options = {
    url: `${target.url}/validate`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    ...(typeof bodies === 'string' ? { body: bodies } : { requests: [{ setupRequest: (req) => ({ ...req, body: next() }) }] }),
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

export interface OneAtATimeResult {
  /** The p50 round trip of each target over all rounds, in µs, in the order given. */
  readonly p50Us: readonly number[];
  /** The p50 round trip of each target, round by round, in µs: [target][round]. */
  readonly roundP50Us: ReadonlyArray<readonly number[]>;
  readonly errors: number;
  readonly non2xx: number;
}

/**
 * Round trips of one review at a time, as the API server sends them when pods are created one by
 * one (`kubectl apply --dry-run=server`, a kubelet's mirror pod): not a throughput but the latency
 * one review adds. Between two reviews this process walks `walkMiB` of memory, so that each review
 * finds the server's code and data out of the CPU caches, as the API server's and etcd's work
 * between two webhook calls leaves them: warm, back to back, the servers differ by a few
 * microseconds; cold, by what `npm run bench:apiserver` sees through a real API server
 * (docs/performance.md). `rounds` rounds of `perRound` reviews to each target in turn, every other
 * round in reverse order; one keep-alive connection per target; only the status line and framing
 * are read, as in paced().
 */
export async function oneAtATime(
  targets: readonly Target[],
  body: string,
  opts: { rounds: number; perRound: number; walkMiB: number; ca: string },
): Promise<OneAtATimeResult> {
  const connections = await Promise.all(
    targets.map((t) => {
      const url = new URL(t.url);
      const bytes = reviewRequest(url, body);
      return rawConnection(url, opts.ca, () => bytes);
    }),
  );
  // One 64-byte cache line in eight doubles: a read and a write each, so that every line is evicted dirty.
  const memory = new Float64Array((opts.walkMiB * 1024 * 1024) / 8);
  const walk = (): void => {
    for (let i = 0; i < memory.length; i += 8) memory[i] = (memory[i] as number) + 1;
  };
  let errors = 0;
  let non2xx = 0;
  const once = (c: RawConnection): Promise<number> =>
    new Promise((resolve) => {
      const from = performance.now();
      c.send((status) => {
        if (status === undefined) errors++;
        else if (status !== 200) non2xx++;
        resolve((performance.now() - from) * 1000);
      });
    });
  try {
    for (let i = 0; i < 20; i++) for (const c of connections) await once(c); // warm-up (JIT, TLS session)
    const all: number[][] = targets.map(() => []);
    const byRound: number[][] = targets.map(() => []);
    for (let round = 0; round < opts.rounds; round++) {
      const order = targets.map((_, i) => i);
      if (round % 2 === 1) order.reverse();
      for (const i of order) {
        const these: number[] = [];
        for (let n = 0; n < opts.perRound; n++) {
          walk();
          these.push(await once(connections[i] as RawConnection));
        }
        (all[i] as number[]).push(...these);
        (byRound[i] as number[]).push(percentile(Float64Array.from(these).sort(), 50));
      }
    }
    return {
      p50Us: all.map((xs) => Math.round(percentile(Float64Array.from(xs).sort(), 50))),
      roundP50Us: byRound.map((xs) => xs.map((x) => Math.round(x))),
      errors,
      non2xx,
    };
  } finally {
    for (const c of connections) c.close();
  }
}
