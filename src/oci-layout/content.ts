// The ContentStore of an OCI image layout: blobs are files under blobs/sha256, named by digest. Labels
// have no home in a layout, so they are always empty and label updates are accepted and ignored. File
// errors leave here as one line naming the layout, the path and what to do (src/file-errors.ts).

import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { notFound, throwIfAborted, TsconvertError } from '../errors.js';
import { parseDigest, type Digest } from '../oci/digest.js';
import type {
  CallOptions,
  CommitOptions,
  CommitResult,
  ContentInfo,
  ContentStore,
  ContentWriter,
  IngestStatus,
  ReadOptions,
  WriterOptions,
} from '../store/content-store.js';
import { explainMkdirError, fileError, type FileRole } from '../file-errors.js';
import { fileChunks, readRange } from '../store/file-range.js';
import { silentLogger, type Logger } from '../util/log.js';
import { isENOENT, notRegular, openRegularFile, readRegularFile } from './fs-util.js';
import { blobPath, INGEST_DATA, INGEST_DIR, INGEST_META, ingestDir } from './paths.js';
import { removeIngestDir, type IngestMeta } from './ingest-dir.js';
import { openLayoutWriter } from './writer.js';

/** How the store names itself and its files' failures. */
export interface LayoutNaming {
  /** "OCI layout DIR", or "OCI archive FILE" for one extracted into (or built in) $TMPDIR. */
  where: string;
  /** Whose files these are: a layout directory's, or an archive's temporary copy. */
  role: FileRole;
  /** What to do when a blob cannot be read for a reason of its own (a directory where a file should be). */
  damagedHint: string;
}

export class LayoutContentStore implements ContentStore {
  readonly #root: string;
  readonly #readOnly: boolean;
  readonly #naming: LayoutNaming;

  readonly #logger: Logger;

  constructor(root: string, readOnly: boolean, naming?: LayoutNaming, logger: Logger = silentLogger) {
    this.#root = root;
    this.#readOnly = readOnly;
    this.#logger = logger;
    this.#naming = naming ?? {
      where: `OCI layout ${root}`,
      role: readOnly ? 'source' : 'destination',
      damagedHint: `the OCI layout ${root} is damaged`,
    };
  }

  #readError(err: unknown, digest: Digest): unknown {
    const { where, role, damagedHint } = this.#naming;
    const reader = role === 'destination' ? 'source' : role;
    return fileError(err, reader, `reading ${where}`, blobPath(this.#root, digest), damagedHint);
  }

  #writeError(err: unknown): unknown {
    const { where, role } = this.#naming;
    const writer = role === 'source' ? 'destination' : role;
    return fileError(err, writer, `writing ${where}`, this.#root);
  }

  #writable(): void {
    if (this.#readOnly) {
      throw new TsconvertError('FAILED_PRECONDITION', `OCI layout ${this.#root} was opened read-only`);
    }
  }

  async info(digest: Digest, options: CallOptions): Promise<ContentInfo> {
    throwIfAborted(options.signal);
    const d = parseDigest(digest);
    const path = blobPath(this.#root, d);
    try {
      const st = await stat(path);
      if (!st.isFile()) throw notRegular('blob', path, st, this.#naming.damagedHint);
      return { digest: d, size: st.size, labels: {} };
    } catch (err) {
      if (isENOENT(err)) throw notFound(`content ${d} not found in ${this.#naming.where}`, { cause: err });
      throw this.#readError(err, d);
    }
  }

  async *read(digest: Digest, options: ReadOptions): AsyncIterable<Uint8Array> {
    const { size } = await this.info(digest, options);
    const range = readRange(digest, size, options.offset, options.size);
    try {
      // Opened as a regular file again: the name may have been replaced since info() looked at it.
      const fh = await openRegularFile(blobPath(this.#root, digest), 'blob');
      yield* fileChunks(fh, range, options.signal, options.reusesChunks);
    } catch (err) {
      throw this.#readError(err, digest);
    }
  }

  async updateLabels(
    digest: Digest,
    _labels: Record<string, string | undefined>,
    options: CallOptions,
  ): Promise<ContentInfo> {
    return this.info(digest, options);
  }

  async openWriter(options: WriterOptions): Promise<ContentWriter> {
    this.#writable();
    try {
      return new NamedErrorsWriter(await openLayoutWriter(this.#root, options, this.#logger), (err) =>
        this.#writeError(err),
      );
    } catch (err) {
      throw this.#writeError(await explainMkdirError(err));
    }
  }

  async abortIngest(ref: string, options: CallOptions): Promise<void> {
    throwIfAborted(options.signal);
    this.#writable();
    const dir = ingestDir(this.#root, ref);
    const data = join(dir, INGEST_DATA);
    try {
      await stat(data);
    } catch (err) {
      if (isENOENT(err)) throw notFound(`no ingest ${JSON.stringify(ref)} in OCI layout ${this.#root}`);
      throw err;
    }
    await rm(data, { force: true });
    await rm(join(dir, INGEST_META), { force: true });
    await removeIngestDir(dir);
  }

  async listIngests(options: CallOptions): Promise<IngestStatus[]> {
    throwIfAborted(options.signal);
    let names: string[];
    try {
      names = await readdir(join(this.#root, INGEST_DIR));
    } catch (err) {
      if (isENOENT(err)) return [];
      throw err;
    }
    const out: IngestStatus[] = [];
    for (const name of names.sort()) {
      const status = await this.#ingestStatus(join(this.#root, INGEST_DIR, name));
      if (status !== undefined) out.push(status);
    }
    return out;
  }

  async #ingestStatus(dir: string): Promise<IngestStatus | undefined> {
    try {
      const meta = JSON.parse(await readRegularFile(join(dir, INGEST_META), 'ingest', true)) as IngestMeta;
      const { size } = await stat(join(dir, INGEST_DATA));
      const status: IngestStatus = { ref: meta.ref, offset: size, total: meta.total ?? 0 };
      if (meta.expected !== undefined) status.expected = meta.expected;
      return status;
    } catch {
      // Half-created or half-removed ingest: not listed.
      return undefined;
    }
  }
}

/** A layout writer whose file errors (a full, read-only or foreign destination) name the layout and the fix. */
class NamedErrorsWriter implements ContentWriter {
  readonly #inner: ContentWriter;
  readonly #named: (err: unknown) => unknown;

  constructor(inner: ContentWriter, named: (err: unknown) => unknown) {
    this.#inner = inner;
    this.#named = named;
  }

  get ref(): string {
    return this.#inner.ref;
  }

  get offset(): number {
    return this.#inner.offset;
  }

  #call<T>(op: Promise<T>): Promise<T> {
    return op.catch((err: unknown) => {
      throw this.#named(err);
    });
  }

  write(data: Uint8Array): Promise<void> {
    return this.#call(this.#inner.write(data));
  }

  truncate(): Promise<void> {
    return this.#call(this.#inner.truncate());
  }

  commit(options: CommitOptions): Promise<CommitResult> {
    return this.#call(this.#inner.commit(options));
  }

  abort(): Promise<void> {
    return this.#call(this.#inner.abort());
  }
}
