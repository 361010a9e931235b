// The content-store contract the converter core is written against. containerd's content service and an
// OCI image layout both implement it (src/containerd, src/oci-layout). Every call takes an AbortSignal.

import { createHash } from 'node:crypto';
import type { Digest } from '../oci/digest.js';

export type Labels = Record<string, string>;

/** The content label containerd keeps a compressed layer's DiffID in (docs/containerd.md#content-labels). */
export const UNCOMPRESSED_LABEL = 'containerd.io/uncompressed';

export interface ContentInfo {
  digest: Digest;
  size: number;
  labels: Labels;
}

export interface IngestStatus {
  ref: string;
  offset: number;
  total: number;
  expected?: string;
}

export interface CallOptions {
  signal: AbortSignal;
}

export interface ReadOptions extends CallOptions {
  offset?: number;
  /** Bytes to read; omitted = to the end. */
  size?: number;
  /**
   * The caller is done with each chunk once it asks for the next, so the store may hand out views of
   * memory it then reuses (file-backed stores do). A fresh buffer per chunk was ~460 MB of buffers per
   * bench run on the main thread, where V8 runs a full collection per ~25 MB of them.
   */
  reusesChunks?: boolean;
}

export interface WriterOptions extends CallOptions {
  /**
   * Ingest reference. The converter makes it unique per run (the blob's role and digest, then the run's owner
   * token from src/util/run-owner.ts), so it never meets an ingest an earlier run left: half-written ingests
   * are not resumed, and dead runs' ones are found by their owner. A store still opens an existing ingest of
   * the same ref where it is (containerd does; its ingest-file writer relies on that to commit).
   */
  ref: string;
  /** Digest the blob must have, when known in advance. */
  expected?: Digest;
  /** Size the blob must have, when known in advance. */
  total?: number;
  /**
   * Where a store that hashes what it is sent (the OCI layout, a registry upload) does it: the caller's
   * digest thread (src/stream/digest-worker.ts). Omitted: on the calling thread. Each call starts a new hash
   * (a truncate starts over).
   */
  hasher?: () => BlobHasher;
  /**
   * The sha256 of a file's first `size` bytes, read and hashed on the caller's digest thread: a store that
   * writes the blob to a file of its own (the OCI layout) hashes it once written, at commit, instead of as
   * its bytes pass (the copy to the digest thread was the main thread's work). Takes precedence over hasher.
   */
  hashFile?: (path: string, size: number) => Promise<Digest>;
}

/** A running sha256 over what a writer is sent. */
export interface BlobHasher {
  /** May keep no view of `chunk` once its promise (if any) resolves. */
  update(chunk: Uint8Array): void | Promise<void>;
  /** The digest of every byte given to update(); the same answer when asked again. */
  finish(): Promise<Digest>;
  /** Gives up a hash that will not be finished, freeing what holds its state. */
  drop?(): void;
}

/** A BlobHasher on the calling thread. */
export function localHasher(): BlobHasher {
  const hash = createHash('sha256');
  let digest: Digest | undefined;
  return {
    update: (chunk) => void hash.update(chunk),
    finish: () => Promise.resolve((digest ??= `sha256:${hash.digest('hex')}`)),
  };
}

export interface CommitOptions {
  /** Size the written data must have; checked by the store. */
  size?: number;
  /** Digest the written data must have; checked by the store. */
  expected?: Digest;
  labels?: Labels;
}

export interface CommitResult {
  digest: Digest;
  size: number;
  /** The blob was already in the store; its existing labels were merged with the requested ones. */
  existed: boolean;
}

/** An open ingest. Data is appended at `offset`; the writer must be committed or aborted. */
export interface ContentWriter {
  readonly ref: string;
  /**
   * Bytes already in the ingest: non-zero when an existing ingest of the same ref was opened again, or when
   * containerd opens a write of a blob another namespace holds (at its full size).
   */
  readonly offset: number;
  /** Appends data; resolves when the store has accepted it (backpressure). */
  write(data: Uint8Array): Promise<void>;
  /** Discards what was written so far and starts again at offset 0. */
  truncate(): Promise<void>;
  commit(options: CommitOptions): Promise<CommitResult>;
  /** Releases the ingest without committing (removes it from the store). Safe to call twice. */
  abort(): Promise<void>;
}

export interface ContentStore {
  /** Throws a NOT_FOUND TsconvertError when the blob is absent. */
  info(digest: Digest, options: CallOptions): Promise<ContentInfo>;
  /** Streams the blob's bytes, respecting backpressure. */
  read(digest: Digest, options: ReadOptions): AsyncIterable<Uint8Array>;
  /** Sets (value string) or removes (value undefined) the given labels; returns the merged info. */
  updateLabels(
    digest: Digest,
    labels: Record<string, string | undefined>,
    options: CallOptions,
  ): Promise<ContentInfo>;
  /**
   * Opens an ingest, or the existing one of that ref at its offset. A blob matching `expected` that already
   * exists throws ALREADY_EXISTS.
   */
  openWriter(options: WriterOptions): Promise<ContentWriter>;
  /** Removes an ingest by ref; NOT_FOUND when there is none. */
  abortIngest(ref: string, options: CallOptions): Promise<void>;
  listIngests(options: CallOptions): Promise<IngestStatus[]>;
}
