// The ContentStore of an OCI image layout: blobs are files under blobs/sha256, named by digest. Labels
// have no home in a layout, so they are always empty and label updates are accepted and ignored.

import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { notFound, throwIfAborted, TsconvertError } from '../errors.js';
import { parseDigest, type Digest } from '../oci/digest.js';
import type {
  CallOptions,
  ContentInfo,
  ContentStore,
  ContentWriter,
  IngestStatus,
  ReadOptions,
  WriterOptions,
} from '../store/content-store.js';
import { fileChunks, readRange } from '../store/file-range.js';
import { silentLogger, type Logger } from '../util/log.js';
import { fsError, isENOENT, notRegular, openRegularFile, readRegularFile } from './fs-util.js';
import { blobPath, INGEST_DATA, INGEST_DIR, INGEST_META, ingestDir } from './paths.js';
import { openLayoutWriter, removeIngestDir, type IngestMeta } from './writer.js';

export class LayoutContentStore implements ContentStore {
  readonly #root: string;
  readonly #readOnly: boolean;

  readonly #logger: Logger;

  constructor(root: string, readOnly: boolean, logger: Logger = silentLogger) {
    this.#root = root;
    this.#readOnly = readOnly;
    this.#logger = logger;
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
      if (!st.isFile()) throw notRegular('blob', path, st);
      return { digest: d, size: st.size, labels: {} };
    } catch (err) {
      if (isENOENT(err)) throw notFound(`content ${d} not found in OCI layout ${this.#root}`, { cause: err });
      throw fsError(err, `blob ${d}`);
    }
  }

  async *read(digest: Digest, options: ReadOptions): AsyncIterable<Uint8Array> {
    const { size } = await this.info(digest, options);
    const range = readRange(digest, size, options.offset, options.size);
    try {
      // Opened as a regular file again: the name may have been replaced since info() looked at it.
      const fh = await openRegularFile(blobPath(this.#root, digest), 'blob');
      yield* fileChunks(fh, range, options.signal);
    } catch (err) {
      if (err instanceof TsconvertError) throw err;
      throw fsError(err, `blob ${digest}`);
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
    return openLayoutWriter(this.#root, options, this.#logger);
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
