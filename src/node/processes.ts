/**
 * The control-plane processes running on the node, from /proc (the host's PID namespace: the agent
 * runs with hostPID): argv from /proc/PID/cmdline, the environment from /proc/PID/environ (ptrace
 * read access: root with CAP_SYS_PTRACE for processes that hold capabilities the reader lacks), the
 * effective uid from /proc/PID/status. The ground truth, including etcd started by etcd-manager.
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';

/** cmdline and environ are bounded by the kernel (ARG_MAX, 2 MiB by default); read no more than that. */
const MAX_PROC_BYTES = 2 * 1024 * 1024;

export interface NodeProcess {
  readonly pid: number;
  readonly argv: readonly string[];
  /** The environment, or why it cannot be read. */
  readonly env: ReadonlyMap<string, string> | { readonly unreadable: string };
  readonly uid?: number;
}

function readProcFile(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(64 * 1024);
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total >= MAX_PROC_BYTES) break;
    }
    return Buffer.concat(chunks).subarray(0, MAX_PROC_BYTES);
  } finally {
    closeSync(fd);
  }
}

function nulSeparated(buf: Buffer): string[] {
  const parts = buf.toString('utf8').split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Which program a process is, by argv[0]: etcd, kube-apiserver (hyperkube's too), kubelet; else undefined. */
export function programOf(argv: readonly string[]): 'etcd' | 'kube-apiserver' | 'kubelet' | 'k3s server' | 'k3s agent' | undefined {
  const name = basename(argv[0] ?? '');
  if (name === 'etcd' || name === 'kube-apiserver' || name === 'kubelet') return name;
  // k3s runs etcd (server) or nothing of ours (agent) inside its own process (node/k3s.ts).
  if (name === 'k3s' && (argv[1] === 'server' || argv[1] === 'agent')) return `k3s ${argv[1]}`;
  if (name === 'hyperkube' && (argv[1] === 'kube-apiserver' || argv[1] === 'kubelet')) return argv[1];
  return undefined;
}

/** Processes running etcd, kube-apiserver or the kubelet (`pids` narrows the search: tests). */
export function nodeProcesses(procDir: string, pids?: ReadonlySet<number>): NodeProcess[] {
  let entries: string[];
  try {
    entries = readdirSync(procDir);
  } catch {
    return [];
  }
  const out: NodeProcess[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pids !== undefined && !pids.has(pid)) continue;
    let argv: string[];
    try {
      argv = nulSeparated(readProcFile(join(procDir, entry, 'cmdline')));
    } catch {
      continue; // exited meanwhile, or a kernel thread
    }
    if (programOf(argv) === undefined) continue;
    let env: NodeProcess['env'];
    try {
      env = new Map(
        nulSeparated(readProcFile(join(procDir, entry, 'environ'))).flatMap((kv): Array<[string, string]> => {
          const eq = kv.indexOf('=');
          return eq > 0 ? [[kv.slice(0, eq), kv.slice(eq + 1)]] : [];
        }),
      );
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      env = {
        unreadable:
          code === 'EACCES' || code === 'EPERM' ? `permission denied on /proc/${pid}/environ (needs CAP_SYS_PTRACE)` : (e as Error).message,
      };
    }
    let uid: number | undefined;
    try {
      const m = /^Uid:\s+\d+\s+(\d+)/m.exec(readProcFile(join(procDir, entry, 'status')).toString('utf8'));
      if (m !== null) uid = Number(m[1]);
    } catch {
      // status is world-readable; a process that exited meanwhile has none
    }
    out.push({ pid, argv, env, ...(uid !== undefined ? { uid } : {}) });
  }
  return out.sort((a, b) => a.pid - b.pid);
}
