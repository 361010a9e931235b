// Small file-system helpers the OCI-layout backend shares: errno checks, an abortable sleep, durable
// atomic file replacement (temp file + fsync + rename + directory fsync).

import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { abortError, throwIfAborted } from '../errors.js';

export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

export const isENOENT = (err: unknown): boolean => errnoCode(err) === 'ENOENT';

/** Whether `path` exists (following symlinks); errors other than ENOENT are thrown. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isENOENT(err)) return false;
    throw err;
  }
}

/** Resolves after `ms`, or rejects with CANCELLED when the signal fires first. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    if (signal.aborted) throw abortError(signal);
    throw err;
  }
}

/** A name unique to this process and call, for temp files next to their target. */
export function tempName(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** fsync a directory so a rename inside it survives a power loss; best effort where unsupported. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (err) {
    const code = errnoCode(err);
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EBADF') throw err;
  } finally {
    await fh?.close();
  }
}

/** Replaces `path` with `data` atomically: readers see the old file or the whole new one, never a part. */
export async function atomicWriteFile(
  path: string,
  data: string | Uint8Array,
  signal: AbortSignal,
): Promise<void> {
  throwIfAborted(signal);
  const tmp = tempName(path);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    throwIfAborted(signal);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}
