import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
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

/**
 * The real etcd binaries to check the model against: Debian's etcd-server (3.4.23, what CI installs),
 * the releases test/tools/etcd-flags/build.sh built into the cache (npm test runs it), and any given
 * as ETCD_TLS_GUARD_ETCD_BINARIES="3.5.35=/path/etcd,...". The model reads each as that release's image.
 */
export function etcdBinaries(): Array<{ release: string; bin: string }> {
  const found: Array<{ release: string; bin: string }> = [];
  const r = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  const debian = r.stdout.trim();
  if (r.status === 0 && debian !== '') {
    const version = /etcd Version: (\S+)/.exec(spawnSync(debian, ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '3.4.23';
    found.push({ release: version, bin: debian });
  }
  const cache = join(
    process.env.ETCD_TLS_GUARD_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'etcd-tls-guard'),
    'etcd-flags',
  );
  const cached = existsSync(cache)
    ? readdirSync(cache)
        .filter((f) => /^etcd-v\d+\.\d+\.\d+$/.test(f))
        .map((f) => `${f.slice('etcd-v'.length)}=${join(cache, f)}`)
    : [];
  for (const entry of [...cached, ...(process.env.ETCD_TLS_GUARD_ETCD_BINARIES ?? '').split(',').filter((e) => e.includes('='))]) {
    const [release, bin] = entry.split('=') as [string, string];
    if (!found.some((f) => f.release === release)) found.push({ release, bin });
  }
  return found;
}
