/**
 * The host's files, read under a root directory that nothing escapes: `--root /host` in a container
 * with the host's / mounted there, or `/proc/PID/root` for a process's own filesystem. Symbolic links
 * are followed by hand, each absolute target re-rooted under the root and `..` stopping at it, so a
 * link that points outside (`/etc/kubernetes/pki -> /`, `../../../../etc`) stays inside. Reads are
 * bounded; nothing is ever written.
 */
import { lstatSync, readFileSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';

/** Largest file read whole: manifests, configuration files and PEM files are far smaller. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Linux's own limit on symbolic links followed in one lookup (MAXSYMLINKS). */
const MAX_LINKS = 40;

export type Located =
  | { readonly ok: true; readonly real: string; readonly stats: Stats }
  | { readonly ok: false; readonly problem: 'absent' | 'unreadable' | 'outside'; readonly reason: string };

function errorText(e: unknown): { problem: 'absent' | 'unreadable'; reason: string } {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return { problem: 'absent', reason: 'no such file on the node' };
  if (code === 'EACCES' || code === 'EPERM')
    return { problem: 'unreadable', reason: 'permission denied (the node check reads as root with CAP_DAC_READ_SEARCH; see docs/node.md)' };
  return { problem: 'unreadable', reason: (e as Error).message };
}

export class HostRoot {
  /** The directory that stands for `/`. */
  readonly root: string;
  constructor(root: string) {
    this.root = root.replace(/\/+$/, '') || '/';
  }

  /** Where `path` (absolute, as the host or process sees it) is under the root, links followed inside. */
  locate(path: string): Located {
    if (!path.startsWith('/')) return { ok: false, problem: 'outside', reason: `${path} is not an absolute path` };
    const done: string[] = [];
    const todo = path.split('/').filter((c) => c !== '' && c !== '.');
    let links = 0;
    while (todo.length > 0) {
      const part = todo.shift() as string;
      if (part === '..') {
        done.pop();
        continue;
      }
      const candidate = join(this.root, ...done, part);
      let st: Stats;
      try {
        st = lstatSync(candidate);
      } catch (e) {
        const { problem, reason } = errorText(e);
        return { ok: false, problem, reason };
      }
      if (!st.isSymbolicLink()) {
        done.push(part);
        continue;
      }
      if (++links > MAX_LINKS) return { ok: false, problem: 'unreadable', reason: 'too many levels of symbolic links' };
      let target: string;
      try {
        target = readlinkSync(candidate);
      } catch (e) {
        const { problem, reason } = errorText(e);
        return { ok: false, problem, reason };
      }
      // An absolute target starts again at the root (never the real /); a relative one continues here.
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
    }
    const real = join(this.root, ...done);
    try {
      return { ok: true, real, stats: statSync(real) };
    } catch (e) {
      const { problem, reason } = errorText(e);
      return { ok: false, problem, reason };
    }
  }

  /** A file's bytes, at most MAX_FILE_BYTES. */
  read(
    path: string,
  ): { ok: true; bytes: Buffer; real: string } | { ok: false; problem: 'absent' | 'unreadable' | 'outside' | 'too-large'; reason: string } {
    const at = this.locate(path);
    if (!at.ok) return at;
    if (!at.stats.isFile()) return { ok: false, problem: 'unreadable', reason: 'not a regular file' };
    if (at.stats.size > MAX_FILE_BYTES) return { ok: false, problem: 'too-large', reason: `larger than ${MAX_FILE_BYTES} bytes` };
    try {
      const bytes = readFileSync(at.real);
      if (bytes.length > MAX_FILE_BYTES) return { ok: false, problem: 'too-large', reason: `larger than ${MAX_FILE_BYTES} bytes` };
      return { ok: true, bytes, real: at.real };
    } catch (e) {
      const { problem, reason } = errorText(e);
      return { ok: false, problem, reason };
    }
  }

  /** uid → name and gid → name from the root's /etc/passwd and /etc/group (names in messages). */
  accounts(): { users: Map<number, string>; groups: Map<number, string> } {
    const table = (file: string): Map<number, string> => {
      const out = new Map<number, string>();
      const r = this.read(file);
      if (!r.ok) return out;
      for (const line of r.bytes.toString('utf8').split('\n')) {
        const [name, , id] = line.split(':');
        if (name !== undefined && name !== '' && id !== undefined && /^\d+$/.test(id) && !out.has(Number(id))) out.set(Number(id), name);
      }
      return out;
    };
    return { users: table('/etc/passwd'), groups: table('/etc/group') };
  }
}
