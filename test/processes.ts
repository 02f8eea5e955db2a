import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { get as plainHttpGet } from 'node:http';
import { createServer } from 'node:net';
import { httpsRequest } from './admission.js';

/**
 * Ports this test process has handed out: the kernel may offer a just-released port again before the
 * program it was meant for binds it, and two concurrent cases would then share one.
 */
const handedOut = new Set<number>();

/** A port free on 127.0.0.1 now, and never handed out before in this process (for programs that cannot be told to pick one and report it). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port: p } = srv.address() as { port: number };
        srv.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export interface WebhookChild {
  readonly child: ChildProcessWithoutNullStreams;
  /** `https://host:port`, from the webhook's "listening" log line. */
  readonly url: string;
  /** Everything written to stdout and stderr so far. */
  readonly log: () => string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/**
 * Starts `node ARGS` (a script that runs `serve`) and waits for its listening line; rejects with the
 * output when it exits first.
 */
export async function spawnWebhook(
  node: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<WebhookChild> {
  const child = spawn(node, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    ...(opts.env !== undefined ? { env: opts.env } : {}),
  });
  child.stdin.end();
  let log = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /"url":"(https:\/\/[^"]+)\/validate"/.exec(log);
      if (m?.[1] !== undefined) resolve(m[1]);
    });
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    void exited.then((c) => reject(new Error(`exited ${c}: ${log}`)));
  });
  return { child, url, log: () => log, exited };
}

/** One GET over a new HTTPS connection, trusting `ca`. */
export async function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  const { status, body } = await httpsRequest(url, { ca });
  return { status, body };
}

/**
 * Waits until `seen()` holds (a log line, a count), checking every 20 ms: the event decides, and the
 * limit only bounds a case where it never comes, with a message that says what never happened.
 */
export async function until(what: string, seen: () => boolean, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!seen()) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** GET over plain HTTP (metrics endpoints): status and body. */
export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    plainHttpGet(url, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}
