// Large blobs written straight into the ingest's data file in the daemon's content directory, when this
// process can open it, instead of streamed over the content service. Sending a 1 MiB WRITE message costs
// both sides far more than a write(2): on the bench image (450 MB of zstd:chunked output) containerd spent
// 3.5–4.3 s of CPU receiving, unmarshalling and collecting garbage, and we spent ~1.3 s framing.
//
// containerd still checks every byte. The ingest is opened with a normal Write stream, so the daemon creates
// it and attaches it to our lease; the stream stays open (idle) while we fill the data file. To commit we
// release that stream and open another on the same ref: containerd's local store resumes a stale ingest by
// re-reading its data file through a fresh sha256 (content/local/store.go, writer → resumeStatus), reports
// that offset, and COMMIT checks size and digest against what it hashed. So a wrong file, a wrong directory
// or a torn write fails the commit; nothing can be stored under a digest its bytes do not have.
//
// Releasing the stream releases the ref's lock, so another writer of the same ref (a second tsconvert
// converting the same layer) could take the ingest over between our two streams and reset it. Each writer
// therefore has a ref of its own, naming its run and a random suffix (util/run-tags.ts): two writers of one
// blob work side by side and the second commit adopts the first's blob (ALREADY_EXISTS). An ingest a killed
// process leaves behind is removed by the next run's cleanupDeadRuns (dead-runs.ts), which reads its owner
// from the ref.
//
// The layout used: containerd's metadata layer hands the local store the ref "<namespace>/<sequence>/<ref>"
// (metadata/content.go, createKey), and the local store keeps it in <root>/ingest/<hex of sha256 of that>/
// with files `ref` (holding it) and `data` (local/store.go, ingestPaths). The sequence number is not sent to
// clients, so the directory is found by its `ref` file; exactly one must match, or the writer stays on gRPC.

import { open, readdir, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { throwIfAborted, TsconvertError } from '../errors.js';
import { fileError } from '../file-errors.js';
import { sha256Digest } from '../oci/digest.js';
import type { CommitOptions, CommitResult, ContentWriter, WriterOptions } from '../store/content-store.js';
import { ownedRef, refOwner } from '../util/run-tags.js';
import { openContentWriter, type StreamContentWriter, type WriterDeps } from './content-writer.js';

/** Smaller blobs (JSON documents) stay on gRPC: two streams and a file cost more than one message. */
export const INGEST_FILE_MIN_BYTES = 1 << 20;
/** Errors that mean "not from here": keep writing over gRPC. Anything else is a real failure. */
const UNREACHABLE = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'ELOOP', 'EROFS']);

/**
 * The ingest ref one file writer uses: the caller's when it already is this run's own (the converter's
 * refs are, util/run-tags.ts), else the caller's plus this run's owner token and a random suffix.
 */
function privateRef(ref: string): string {
  return refOwner(ref) === undefined ? ownedRef(ref) : ref;
}

/** Whether a writer with these options is worth writing through the data file. */
export function wantsIngestFile(options: WriterOptions): boolean {
  return options.total === undefined || options.total >= INGEST_FILE_MIN_BYTES;
}

/** Whether `stored` is the local store's ref for `ref` in `namespace`: "<namespace>/<digits>/<ref>". */
function isBackendRef(stored: string, namespace: string, ref: string): boolean {
  const prefix = `${namespace}/`;
  const suffix = `/${ref}`;
  if (!stored.startsWith(prefix) || !stored.endsWith(suffix)) return false;
  return /^\d+$/.test(stored.slice(prefix.length, stored.length - suffix.length));
}

/** The directory containerd's local store keeps the ingest `ref` of `namespace` in, if exactly one does. */
async function findIngestDirectory(
  root: string,
  namespace: string,
  ref: string,
): Promise<string | undefined> {
  const ingests = join(root, 'ingest');
  const found: string[] = [];
  for (const name of await readdir(ingests)) {
    let stored: string;
    try {
      stored = await readFile(join(ingests, name, 'ref'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // committed or aborted meanwhile
      throw err;
    }
    // The local store names the directory after the digest of the ref it holds: a cheap consistency check.
    if (isBackendRef(stored, namespace, ref) && `sha256:${name}` === sha256Digest(stored))
      found.push(join(ingests, name));
  }
  return found.length === 1 ? found[0] : undefined;
}

/**
 * Opens an ingest whose data goes to its file under `root`. Falls back to the plain Write stream when the
 * directory is not this daemon's layout or this process cannot open the file.
 */
export async function openIngestFileWriter(
  deps: WriterDeps,
  requested: WriterOptions,
  root: string,
): Promise<ContentWriter> {
  const options = { ...requested, ref: privateRef(requested.ref) };
  const stream = await openContentWriter(deps, options);
  let dir: string | undefined;
  let file: FileHandle | undefined;
  try {
    dir = await findIngestDirectory(root, deps.context.namespace, options.ref);
    if (dir !== undefined) file = await open(join(dir, 'data'), 'r+');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (!UNREACHABLE.has(code)) {
      await stream.abort();
      throw err;
    }
  }
  if (file === undefined || dir === undefined) {
    deps.logger.debug({ ref: options.ref, dir }, 'ingest file not reachable here, writing over gRPC');
    return stream;
  }
  try {
    const { size } = await file.stat();
    deps.logger.debug({ ref: options.ref, dir, size }, 'writing the ingest through its data file');
    return new IngestFileWriter(deps, options, stream, file, size, dir);
  } catch (err) {
    await file.close();
    await stream.abort();
    throw err;
  }
}

class IngestFileWriter implements ContentWriter {
  readonly ref: string;

  constructor(
    private readonly deps: WriterDeps,
    private readonly options: WriterOptions,
    /** The stream holding the ref's lock: the opener while we write, then the one that commits. */
    private stream: StreamContentWriter,
    /** Open until commit or abort. */
    private file: FileHandle | undefined,
    private position: number,
    private readonly dir: string,
  ) {
    this.ref = options.ref;
  }

  get offset(): number {
    return this.position;
  }

  async write(data: Uint8Array): Promise<void> {
    const file = this.usableFile();
    try {
      for (let done = 0; done < data.length;) {
        const { bytesWritten } = await file.write(data, done, data.length - done, this.position);
        done += bytesWritten;
        this.position += bytesWritten;
      }
    } catch (err) {
      throw this.fileError('writing', err);
    }
  }

  async truncate(): Promise<void> {
    const file = this.usableFile();
    try {
      await file.truncate(0);
    } catch (err) {
      throw this.fileError('truncating', err);
    }
    this.position = 0;
  }

  /** containerd hashes the file as it resumes the ingest, then checks size and digest on COMMIT. */
  async commit(options: CommitOptions): Promise<CommitResult> {
    this.usableFile();
    await this.closeFile();
    const { ref, signal } = this.options;
    await this.stream.release();
    // No `expected` on the STAT: a blob that already exists is answered on COMMIT, which adopts it.
    this.stream = await openContentWriter(this.deps, { ref, signal });
    if (this.stream.offset !== this.position) {
      // Not expected: the ref is ours alone. Something else changed the file or removed the ingest.
      throw new TsconvertError(
        'FAILED_PRECONDITION',
        `content write ${JSON.stringify(ref)}: containerd found ${this.stream.offset} bytes in ${this.dir}, this process wrote ${this.position}`,
        { hint: 'run the conversion again; if it happens again, use --content-writes grpc and report it' },
      );
    }
    const expected = options.expected ?? this.options.expected;
    return this.stream.commit({
      ...options,
      size: options.size ?? this.position,
      ...(expected === undefined ? {} : { expected }),
    });
  }

  async abort(): Promise<void> {
    await this.closeFile().catch(() => undefined);
    await this.stream.abort();
  }

  private usableFile(): FileHandle {
    throwIfAborted(this.options.signal);
    if (this.file === undefined)
      throw new TsconvertError('INTERNAL', `content write ${JSON.stringify(this.ref)}: writer is closed`);
    return this.file;
  }

  private async closeFile(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    await file?.close();
  }

  private fileError(what: string, err: unknown): unknown {
    return fileError(
      err,
      'destination',
      `${what} ingest ${JSON.stringify(this.ref)} in containerd's content directory`,
      this.dir,
    );
  }
}
