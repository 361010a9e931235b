// The OCI layout's ingest directories, DIR/.tsconvert-ingest/<sha256 of the ref>/: their lock (one writer
// per ref, in any process), the metadata file naming the ref and the run that opened it, and their removal
// (best effort, tolerating concurrent clean-ups by other runs). The writer itself is writer.ts.

import { lstat, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Digest } from '../oci/digest.js';
import { isENOENT, readRegularFile, realDir, sleep } from './fs-util.js';
import { acquireFileLock, type FileLock } from './lock.js';
import { INGEST_DATA, INGEST_LOCK, INGEST_META } from './paths.js';

/** How long openWriter waits for a ref another writer holds before failing with UNAVAILABLE. */
export const INGEST_LOCK_TIMEOUT_MS = 30_000;
/** How often opening an ingest retries when a concurrent clean-up removes its directory under it. */
const INGEST_DIR_RETRIES = 50;

export interface IngestMeta {
  ref: string;
  /** The run that last opened the ingest (formatOwner), so a dead run's ingest can be told apart. */
  owner?: string;
  expected?: Digest;
  total?: number;
}

/** Takes the ingest's lock, retrying while another run's clean-up removes the directory under it. */
export async function lockIngest(dir: string, ref: string, signal: AbortSignal): Promise<FileLock> {
  for (let attempt = 0; ; attempt++) {
    try {
      await realDir(dirname(dir), 'ingest directory');
      await realDir(dir, 'ingest directory');
      return await acquireFileLock(join(dir, INGEST_LOCK), {
        signal,
        timeoutMs: INGEST_LOCK_TIMEOUT_MS,
        what: `ingest ${JSON.stringify(ref)}`,
      });
    } catch (err) {
      // Another run removed the (then empty) directory, or its parent .tsconvert-ingest, between our mkdir
      // and link: retry. With many runs writing one layout this can happen several times in a row (seen
      // with 20 processes), so the retries are many and spread out, and the signal ends them.
      if (!isENOENT(err) || attempt >= INGEST_DIR_RETRIES) throw err;
      await sleep(1 + Math.floor(Math.random() * 10), signal);
    }
  }
}

/** The ingest's metadata file; empty when it is missing or unreadable. */
export async function readMeta(dir: string): Promise<Partial<IngestMeta>> {
  try {
    return JSON.parse(await readRegularFile(join(dir, INGEST_META), 'ingest', true)) as Partial<IngestMeta>;
  } catch {
    return {};
  }
}

/** Removes the ingest's files when its data file is missing or empty (call holding its lock). */
export async function removeIfNoData(dir: string): Promise<void> {
  try {
    if ((await stat(join(dir, INGEST_DATA))).size > 0) return;
  } catch (err) {
    if (!isENOENT(err)) return;
  }
  await rm(join(dir, INGEST_DATA), { force: true });
  await rm(join(dir, INGEST_META), { force: true });
}

/** Removes an ingest whose writer was already released (interrupted, then abandoned). */
export async function removeIngestFiles(dir: string): Promise<void> {
  await rm(join(dir, INGEST_DATA), { force: true });
  await rm(join(dir, INGEST_META), { force: true });
  await removeIngestDir(dir);
}

/**
 * A run killed between commit's link() and the ingest clean-up leaves ingest data that IS a blob (same
 * inode). Writing or truncating it in place would corrupt the blob, so such data is unlinked and the
 * ingest starts again from zero.
 */
export async function dropIfPublished(dataPath: string): Promise<void> {
  try {
    if ((await lstat(dataPath)).nlink > 1) await rm(dataPath, { force: true });
  } catch (err) {
    if (!isENOENT(err)) throw err;
  }
}

/** Removes an emptied ingest directory, and the ingest root when it was the last (best effort). */
export async function removeIngestDir(dir: string): Promise<void> {
  await rmdir(dir).catch(() => undefined);
  await rmdir(dirname(dir)).catch(() => undefined);
}
