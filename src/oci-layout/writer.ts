// One open ingest of the OCI-layout content store. Bytes go to DIR/.tsconvert-ingest/<sha256(ref)>/data,
// hashed as they are written (or the file at commit, on the caller's digest thread: WriterOptions.hashFile);
// an existing ingest is resumed (its bytes re-hashed, offset = its size). A lock file in the ingest
// directory keeps two writers (in any process) off the same ref (ingest-dir.ts). Commit checks
// size and digest, then hard-links the data into blobs/sha256/<hex> (link fails if the blob exists, so a
// concurrent identical commit reports `existed`; a damaged blob already there is replaced: blob-files.ts),
// so a blob name never points at unchecked or partial bytes.
//
// When the writer's signal fires, the writer closes its file and releases the lock but keeps the ingest on
// disk (a later open resumes it); abort(), also after that, removes the ingest, so a run that gives up
// leaves nothing behind.

import { constants } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { abortError, throwIfAborted, TsconvertError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import {
  localHasher,
  type BlobHasher,
  type CommitOptions,
  type CommitResult,
  type ContentWriter,
  type WriterOptions,
} from '../store/content-store.js';
import type { Logger } from '../util/log.js';
import { currentOwner, formatOwner } from '../util/run-owner.js';
import { checkExistingBlob, publishBlob } from './blob-files.js';
import { atomicWriteFile, errnoCode, fsyncDir, linkRefused } from './fs-util.js';
import {
  dropIfPublished,
  lockIngest,
  readMeta,
  removeIfNoData,
  removeIngestDir,
  removeIngestFiles,
  type IngestMeta,
} from './ingest-dir.js';
import type { FileLock } from './lock.js';
import { blobPath, blobsDir, INGEST_DATA, INGEST_META, ingestDir } from './paths.js';

const failed = (message: string): TsconvertError => new TsconvertError('FAILED_PRECONDITION', message);

async function hashExisting(
  fh: FileHandle,
  size: number,
  hash: BlobHasher,
  signal: AbortSignal,
): Promise<BlobHasher> {
  if (size === 0) return hash;
  for await (const chunk of fh.createReadStream({ start: 0, end: size - 1, autoClose: false, signal })) {
    await hash.update(chunk as Buffer);
  }
  return hash;
}

/** Opens or resumes the ingest for `options.ref` in the layout at `root`. */
export async function openLayoutWriter(
  root: string,
  options: WriterOptions,
  logger: Logger,
): Promise<ContentWriter> {
  const { ref, signal } = options;
  throwIfAborted(signal);
  if (options.expected !== undefined) {
    const existing = await checkExistingBlob(
      blobPath(root, options.expected),
      options.expected,
      options.total,
      signal,
    );
    if (existing.state === 'sound') {
      throw new TsconvertError('ALREADY_EXISTS', `content ${options.expected} already exists`);
    }
  }
  const dir = ingestDir(root, ref);
  const lock = await lockIngest(dir, ref, signal).catch(async (err: unknown) => {
    // Cancelled or refused before it held the lock: the directory it may have just made goes if empty.
    await removeIngestDir(dir);
    throw signal.aborted ? abortError(signal) : err;
  });
  try {
    const prev = await readMeta(dir);
    const meta: IngestMeta = {
      ref,
      owner: formatOwner(currentOwner()),
      expected: options.expected ?? prev.expected,
      total: options.total ?? prev.total,
    };
    await atomicWriteFile(join(dir, INGEST_META), JSON.stringify(meta), signal);
    const dataPath = join(dir, INGEST_DATA);
    await dropIfPublished(dataPath);
    const fh = await open(dataPath, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644).catch(
      (err: unknown) => {
        throw errnoCode(err) === 'ELOOP' ? linkRefused('ingest data', dataPath) : err;
      },
    );
    try {
      const { size } = await fh.stat();
      // With hashFile the data is hashed once, whole, at commit; otherwise as it is written.
      const hash =
        options.hashFile === undefined
          ? await hashExisting(fh, size, (options.hasher ?? localHasher)(), signal)
          : undefined;
      return new LayoutWriter({
        root,
        dir,
        lock,
        fh,
        hash,
        newHash: options.hasher ?? localHasher,
        hashFile: options.hashFile,
        offset: size,
        meta,
        signal,
        logger,
      });
    } catch (err) {
      await fh.close();
      throw err;
    }
  } catch (err) {
    // A failed open leaves a resumable ingest as it was, and nothing at all where it held no data yet:
    // with no writer returned, nobody else could remove it.
    await removeIfNoData(dir);
    await lock.release();
    await removeIngestDir(dir);
    throw signal.aborted ? abortError(signal) : err;
  }
}

interface WriterState {
  root: string;
  dir: string;
  lock: FileLock;
  fh: FileHandle;
  hash: BlobHasher | undefined;
  newHash: () => BlobHasher;
  hashFile: ((path: string, size: number) => Promise<Digest>) | undefined;
  offset: number;
  meta: IngestMeta;
  signal: AbortSignal;
  logger: Logger;
}

class LayoutWriter implements ContentWriter {
  readonly ref: string;
  #s: WriterState;
  #state: 'open' | 'committed' | 'aborted' | 'interrupted' = 'open';
  #tail: Promise<unknown> = Promise.resolve();
  readonly #onAbort = (): void => void this.#interrupt();

  constructor(s: WriterState) {
    this.ref = s.meta.ref;
    this.#s = s;
    s.signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  get offset(): number {
    return this.#s.offset;
  }

  /** Runs operations one at a time, in call order, even if a caller forgets to await. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const guarded = async (): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        // An interruption closes the file under an in-flight write: report the cancellation, not EBADF.
        throw this.#s.signal.aborted ? abortError(this.#s.signal) : err;
      }
    };
    const run = this.#tail.then(guarded, guarded);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #check(): void {
    if (this.#s.signal.aborted) throw abortError(this.#s.signal);
    if (this.#state !== 'open') throw failed(`ingest ${JSON.stringify(this.ref)} is ${this.#state}`);
  }

  write(data: Uint8Array): Promise<void> {
    return this.#serial(async () => {
      this.#check();
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await this.#s.fh.write(
          data,
          done,
          data.length - done,
          this.#s.offset + done,
        );
        done += bytesWritten;
      }
      await this.#s.hash?.update(data);
      this.#s.offset += data.length;
    });
  }

  truncate(): Promise<void> {
    return this.#serial(async () => {
      this.#check();
      await this.#s.fh.truncate(0);
      if (this.#s.hash !== undefined) {
        this.#s.hash.drop?.();
        this.#s.hash = this.#s.newHash();
      }
      this.#s.offset = 0;
    });
  }

  commit(options: CommitOptions): Promise<CommitResult> {
    return this.#serial(async () => {
      this.#check();
      const s = this.#s;
      const size = s.offset;
      if (options.size !== undefined && options.size !== size) {
        throw failed(
          `ingest ${JSON.stringify(this.ref)}: wrote ${size} bytes, commit expects ${options.size}`,
        );
      }
      const digest =
        s.hash === undefined
          ? await (s.hashFile as (path: string, size: number) => Promise<Digest>)(
              join(s.dir, INGEST_DATA),
              size,
            )
          : await s.hash.finish();
      const expected = options.expected ?? s.meta.expected;
      if (expected !== undefined && expected !== digest) {
        throw failed(`ingest ${JSON.stringify(this.ref)}: unexpected digest ${digest}, want ${expected}`);
      }
      await s.fh.datasync();
      const existed = await publishBlob(join(s.dir, INGEST_DATA), blobPath(s.root, digest), {
        digest,
        size,
        signal: s.signal,
        onReplaced: (why) =>
          s.logger.warn(`blob ${digest} in OCI layout ${s.root} was damaged (${why}); replaced it`),
      });
      await fsyncDir(blobsDir(s.root));
      this.#state = 'committed';
      await this.#release(true);
      return { digest, size, existed };
    });
  }

  abort(): Promise<void> {
    return this.#serial(async () => {
      if (this.#state === 'interrupted') {
        this.#state = 'aborted';
        await removeIngestFiles(this.#s.dir);
        return;
      }
      if (this.#state !== 'open') return;
      this.#state = 'aborted';
      await this.#release(true);
    });
  }

  async #interrupt(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'interrupted';
    await this.#release(false).catch(() => undefined);
  }

  /** Closes the file and drops the lock; with `remove`, deletes the ingest first. */
  async #release(remove: boolean): Promise<void> {
    const s = this.#s;
    s.signal.removeEventListener('abort', this.#onAbort);
    s.hash?.drop?.();
    await s.fh.close().catch(() => undefined);
    if (remove) {
      await rm(join(s.dir, INGEST_DATA), { force: true });
      await rm(join(s.dir, INGEST_META), { force: true });
    }
    await s.lock.release();
    if (remove) await removeIngestDir(s.dir);
  }
}
