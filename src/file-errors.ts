// A failed file operation as one line: what was being done, the path, the errno, and what to do about it.
// The advice depends on whose file it is. A destination or $TMPDIR that is full, read-only or not ours is
// the operator's to fix (free space, point TMPDIR elsewhere, fix permissions); it never means the source
// image is damaged, and the message must not suggest deleting a good source (issue 17, F3). Only errors of
// a blob's bytes (InvalidDataError) may call a source corrupt.

import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { notFound, TsconvertError, type ErrorCode } from './errors.js';

/** Whose file failed: where the image is written, the scratch space under $TMPDIR, or where it is read. */
export type FileRole = 'destination' | 'temporary' | 'source';

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  ENOENT: 'no such file or directory',
  EMFILE: 'too many open files',
};

const CODES: Partial<Record<string, ErrorCode>> = {
  EROFS: 'PERMISSION_DENIED',
  EACCES: 'PERMISSION_DENIED',
  EPERM: 'PERMISSION_DENIED',
};

interface Errno {
  code: string;
  path?: string;
  message: string;
}

export function asErrno(err: unknown): Errno | undefined {
  if (!(err instanceof Error) || err instanceof TsconvertError) return undefined;
  const { code, path } = err as NodeJS.ErrnoException;
  // errno names (ENOSPC, EROFS) only; Node's own codes (ERR_STREAM_PREMATURE_CLOSE, ABORT_ERR) are not.
  if (typeof code !== 'string' || !/^E[A-Z0-9]+$/.test(code)) return undefined;
  return { code, message: err.message, ...(typeof path === 'string' ? { path } : {}) };
}

function advice(code: string, role: FileRole, path: string): string | undefined {
  const full = code === 'ENOSPC' || code === 'EDQUOT';
  const denied = code === 'EROFS' || code === 'EACCES' || code === 'EPERM';
  if (role === 'temporary') {
    if (full) return 'free space in $TMPDIR or point TMPDIR at a file system with more room';
    if (denied) return 'point TMPDIR at a directory this user can write';
    if (code === 'EIO') return 'point TMPDIR elsewhere and check that disk (dmesg)';
    return 'check that $TMPDIR exists, is writable and has free space, or point TMPDIR elsewhere';
  }
  if (role === 'destination') {
    if (full) return `free space on the file system of ${path}, or write the image elsewhere`;
    if (code === 'EROFS') return 'that file system is mounted read-only; choose a writable destination';
    if (denied) return `fix the permissions of ${path}, or run as a user who may write there`;
    if (code === 'EIO') return 'the disk reported an I/O error; check it (dmesg) before writing there again';
    return undefined;
  }
  if (denied) return `fix the permissions of ${path}, or run as a user who may read it`;
  if (code === 'EIO') return 'the disk reported an I/O error; check it (dmesg)';
  return undefined;
}

/**
 * The TsconvertError for an errno error of `role`'s file at `path` while `what` ("writing OCI layout X");
 * `path` defaults to the error's own; `otherwise` is the hint for an errno with no advice of its own.
 * Anything that is not an errno error is returned as it is.
 */
export function fileError(
  err: unknown,
  role: FileRole,
  what: string,
  path?: string,
  otherwise?: string,
): unknown {
  const errno = asErrno(err);
  if (errno === undefined) return err;
  const where = path ?? errno.path ?? '?';
  const reason = REASONS[errno.code] ?? errno.message;
  const at = what.endsWith(` ${where}`) ? '' : ` ${where}:`;
  const message = `${what}:${at} ${reason} (${errno.code})`;
  const hint = advice(errno.code, role, where) ?? otherwise;
  const options = { cause: err, ...(hint === undefined ? {} : { hint }) };
  if (errno.code === 'ENOENT') return notFound(message, options);
  return new TsconvertError(CODES[errno.code] ?? 'UNAVAILABLE', message, options);
}

/**
 * A recursive mkdir reports ENOENT (or EACCES on the directory it wanted) when the real failure is one level
 * up, a read-only mount or a directory this user may not write: finds the nearest existing ancestor and
 * returns why it cannot be written, or `err` itself when that is not the case.
 */
export async function explainMkdirError(err: unknown): Promise<unknown> {
  const errno = asErrno(err);
  const syscall = (err as NodeJS.ErrnoException | undefined)?.syscall;
  if (syscall !== 'mkdir' || (errno?.code !== 'ENOENT' && errno?.code !== 'EACCES')) return err;
  if (errno.path === undefined) return err;
  let dir = errno.path;
  for (;;) {
    const up = dirname(dir);
    if (up === dir) return err;
    dir = up;
    try {
      await stat(dir);
      break;
    } catch {
      // not there either: one more level up
    }
  }
  try {
    await access(dir, constants.W_OK);
    return err;
  } catch (denied) {
    return asErrno(denied) === undefined ? err : denied;
  }
}
