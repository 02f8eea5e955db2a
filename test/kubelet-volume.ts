import { mkdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes files the way the kubelet updates a Secret or ConfigMap volume (pkg/volume/util
 * atomic_writer.go): a new timestamped directory, a `..data_tmp` symlink to it renamed over
 * `..data`, and per-file symlinks `name → ..data/name` created once. The files' own paths never change.
 */
let generation = 0;
export async function atomicWrite(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  const stamp = `..2026_11_22_23_00_00.${process.pid}${generation++}`;
  await mkdir(join(dir, stamp), { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, stamp, name), text);
  const old = await readlink(join(dir, '..data')).catch(() => undefined);
  await symlink(stamp, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) await symlink(join('..data', name), join(dir, name)).catch(() => undefined);
  if (old !== undefined) await rm(join(dir, old), { recursive: true });
}
