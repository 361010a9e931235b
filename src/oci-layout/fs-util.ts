// Small file-system helpers the OCI-layout backend shares: errno checks, an abortable sleep, durable
// atomic file replacement (temp file + fsync + rename + directory fsync), and opening only regular files
// and real directories (a FIFO would block, a link would lead out of the layout).

import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { abortError, malformed, throwIfAborted, type TsconvertError } from '../errors.js';
import { tempName } from './temp-names.js';

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

/** What a non-regular file is, for messages. */
function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'of another kind';
}

/** The error for `path` (described as `what`) being something other than a regular file. */
export function notRegular(
  what: string,
  path: string,
  st: Stats,
  hint = 'an OCI layout holds only regular files and directories',
): TsconvertError {
  return malformed(`${what} ${path} is not a regular file (it is ${fileKind(st)})`, { hint });
}

/**
 * Opens `path` for reading only if it is a regular file. O_NONBLOCK keeps the open of a FIFO from waiting
 * for a writer (a wait no signal could end); it changes nothing for regular files. With `noFollow`, a
 * symbolic link is refused too.
 */
export async function openRegularFile(path: string, what: string, noFollow = false): Promise<FileHandle> {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (noFollow ? constants.O_NOFOLLOW : 0);
  let fh: FileHandle;
  try {
    fh = await open(path, flags);
  } catch (err) {
    if (errnoCode(err) === 'ELOOP' && noFollow) {
      throw malformed(`${what} ${path} is a symbolic link; refusing to follow it`, {
        hint: 'replace it with the file itself',
      });
    }
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(what, path, st);
    return fh;
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Reads a whole regular file as UTF-8 text (see openRegularFile). */
export async function readRegularFile(path: string, what: string, noFollow = false): Promise<string> {
  const fh = await openRegularFile(path, what, noFollow);
  try {
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/** The error for a symbolic link met inside a destination layout. */
export const linkRefused = (what: string, path: string): TsconvertError =>
  malformed(`${what} ${path} is a symbolic link; tsconvert follows no links inside a destination layout`, {
    hint: 'replace it with a real directory or file, or write to another layout',
  });

/**
 * Makes `path` a directory if it is missing, and checks it is a real one: a symbolic link inside a
 * destination layout would send blobs or ingest data elsewhere, so it is refused, never followed.
 */
export async function realDir(path: string, what: string): Promise<void> {
  try {
    await mkdir(path);
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
  const st = await lstat(path);
  if (st.isSymbolicLink()) throw linkRefused(what, path);
  if (!st.isDirectory()) throw malformed(`${what} ${path} is not a directory`);
}

/** Checks that `path`, if it exists, is a regular file and not a symbolic link (see realDir). */
export async function realFileIfPresent(path: string, what: string): Promise<void> {
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (err) {
    if (isENOENT(err)) return;
    throw err;
  }
  if (st.isSymbolicLink()) throw linkRefused(what, path);
  if (!st.isFile()) throw notRegular(what, path, st);
}

/** Checks that `path`, if it exists, is a real directory (see realDir). */
export async function realDirIfPresent(path: string, what: string): Promise<void> {
  try {
    await lstat(path);
  } catch (err) {
    if (isENOENT(err)) return;
    throw err;
  }
  await realDir(path, what);
}
