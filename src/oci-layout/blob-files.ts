// Blob files of a destination layout: publishing checked ingest data under its digest name, and whether a
// blob already under that name can be trusted. Another tool, a full
// disk or a hostile user may have left anything there: a short file, garbage of the right size, a symbolic
// link. A blob is trusted when it is a regular file (not a link) of the expected size and, when it is small
// enough that reading it costs little next to a conversion, when its bytes hash to its name. A damaged blob
// is not an error: its name says exactly which bytes belong there, so publishing replaces it (atomically, by
// rename, so readers see the damaged file or the right one, never a gap).

import { createHash } from 'node:crypto';
import { link, lstat, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Digest } from '../oci/digest.js';
import { errnoCode, isENOENT, openRegularFile, realDir } from './fs-util.js';

/** Existing blobs up to this size are hashed before they are trusted; larger ones are checked by size. */
export const VERIFY_EXISTING_MAX_BYTES = 16 << 20;

export type ExistingBlob = { state: 'absent' | 'sound' } | { state: 'damaged'; why: string };

async function sha256Of(path: string, signal: AbortSignal): Promise<Digest> {
  const fh = await openRegularFile(path, 'blob', true);
  const hash = createHash('sha256');
  for await (const chunk of fh.createReadStream({ signal })) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** Looks at the blob file `path` that should hold `digest` (of `size` bytes, when known). */
export async function checkExistingBlob(
  path: string,
  digest: Digest,
  size: number | undefined,
  signal: AbortSignal,
): Promise<ExistingBlob> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if (isENOENT(err)) return { state: 'absent' };
    throw err;
  }
  if (st.isSymbolicLink()) return { state: 'damaged', why: 'it is a symbolic link' };
  if (!st.isFile()) return { state: 'damaged', why: 'it is not a regular file' };
  if (size !== undefined && st.size !== size) {
    return { state: 'damaged', why: `it has ${st.size} bytes, want ${size}` };
  }
  if (st.size <= VERIFY_EXISTING_MAX_BYTES) {
    const actual = await sha256Of(path, signal);
    if (actual !== digest) return { state: 'damaged', why: `its bytes hash to ${actual}` };
  }
  return { state: 'sound' };
}

export interface PublishOptions {
  digest: Digest;
  size: number;
  signal: AbortSignal;
  /** Told when a damaged blob was replaced, with why it was judged damaged. */
  onReplaced(why: string): void;
}

/**
 * Makes the checked ingest `data` the blob at `target`. A sound existing blob is kept (returns true:
 * "existed"); a damaged one is replaced. Never writes through a link in the blobs tree.
 */
export async function publishBlob(data: string, target: string, options: PublishOptions): Promise<boolean> {
  await realDir(dirname(dirname(target)), 'directory');
  await realDir(dirname(target), 'directory');
  try {
    await link(data, target);
    return false;
  } catch (err) {
    const code = errnoCode(err);
    if (code !== 'EEXIST' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
  }
  // Already there, or a file system without hard links: rename places the data over whatever is there.
  const existing = await checkExistingBlob(target, options.digest, options.size, options.signal);
  if (existing.state === 'sound') return true;
  await rename(data, target);
  if (existing.state === 'damaged') options.onReplaced(existing.why);
  return false;
}
