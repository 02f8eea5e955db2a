import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Re-reads a set of files when they change and hands their contents to `apply`.
 *
 * Kubernetes updates a Secret or ConfigMap volume by writing a new timestamped directory and
 * renaming the `..data` symlink over the old one (kubelet's AtomicWriter); the files we were given
 * (`tls.crt` → `..data/tls.crt`) never change themselves, so a watch on the files would miss the
 * update. We watch the directories that hold them (the rename is an event there) and, because
 * inotify events are not guaranteed on every volume type (NFS, some FUSE mounts), also poll. Either
 * way the decision is made on content: the files are read, hashed, and only a new hash is applied.
 *
 * A set that fails to load (half-written, key not matching the certificate, invalid policy) is
 * reported through `onError` and not applied; the hash is remembered so the same bad content is
 * reported once, and the next write is tried again.
 */
export interface WatchOptions<T> {
  readonly paths: readonly string[];
  /** Parses and validates the files' contents (same order as `paths`); throws to refuse them. */
  readonly load: (contents: readonly Buffer[]) => T;
  readonly apply: (value: T) => void;
  readonly onError: (err: Error) => void;
  /** Poll period; 0 disables polling (directory events only). */
  readonly pollMs: number;
  /** Wait after a directory event before reading, so a multi-file swap is read once. */
  readonly settleMs?: number;
}

export interface FileWatch {
  /** Reads the files now; resolves when the read (and any apply) is done. */
  check(): Promise<void>;
  close(): void;
}

function fingerprint(contents: readonly Buffer[]): string {
  const hash = createHash('sha256');
  for (const c of contents) hash.update(String(c.length)).update(':').update(c);
  return hash.digest('hex');
}

/** Starts watching; the caller has already loaded the current contents once (`initial` is their hash). */
export function watchFiles<T>(opts: WatchOptions<T>, initial: readonly Buffer[]): FileWatch {
  let seen = fingerprint(initial);
  let running: Promise<void> | undefined;
  let again = false;
  let settle: NodeJS.Timeout | undefined;

  const readOnce = async (): Promise<void> => {
    let contents: Buffer[];
    try {
      contents = await Promise.all(opts.paths.map((p) => readFile(p)));
    } catch (err) {
      // A file missing in the middle of a swap: the next event or poll reads it again.
      const print = `unreadable:${(err as Error).message}`;
      if (print !== seen) {
        seen = print;
        opts.onError(err as Error);
      }
      return;
    }
    const print = fingerprint(contents);
    if (print === seen) return;
    seen = print;
    let value: T;
    try {
      value = opts.load(contents);
    } catch (err) {
      opts.onError(err as Error);
      return;
    }
    opts.apply(value);
  };

  // One read at a time; a trigger during a read runs one more read after it.
  const check = (): Promise<void> => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await readOnce();
      } while (again);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  const onEvent = (): void => {
    if (settle !== undefined) clearTimeout(settle);
    settle = setTimeout(() => void check(), opts.settleMs ?? 50);
    settle.unref();
  };

  const watchers: FSWatcher[] = [];
  for (const dir of new Set(opts.paths.map((p) => dirname(p)))) {
    try {
      const w = watch(dir, { persistent: false }, onEvent);
      // A watch that breaks (directory removed) leaves polling in charge.
      w.on('error', () => w.close());
      watchers.push(w);
    } catch {
      // Directory events are an accelerator; polling still finds the change.
    }
  }
  const poll = opts.pollMs > 0 ? setInterval(() => void check(), opts.pollMs) : undefined;
  poll?.unref();

  return {
    check,
    close: () => {
      for (const w of watchers) w.close();
      if (poll !== undefined) clearInterval(poll);
      if (settle !== undefined) clearTimeout(settle);
    },
  };
}
