// A registry repository as a ContentStore. Reads stream blobs (GET /v2/REPO/blobs/DIGEST) chunk by chunk as
// the consumer asks; a dropped connection, 429 or 5xx is retried with backoff and resumed where it stopped
// with a Range request, and a whole-blob read is hashed and refused (ContentMismatch) unless it is exactly
// its digest. A digest the blob endpoint does not know is looked up as a manifest. Writes go through
// upload.ts. A registry has no labels and no listable ingests: labels are accepted and dropped.

import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { abortError, ContentMismatch, notFound, throwIfAborted, TsconvertError } from '../errors.js';
import { parseDigest, sha256Digest, type Digest } from '../oci/digest.js';
import { JSON_LIMITS } from '../oci/json-limits.js';
import type {
  CallOptions,
  ContentInfo,
  ContentStore,
  ContentWriter,
  IngestStatus,
  ReadOptions,
  WriterOptions,
} from '../store/content-store.js';
import { readRange } from '../store/file-range.js';
import { bodyBytes, discard, type Response } from './response-body.js';
import { transportError } from './errors.js';
import { MANIFEST_ACCEPT, type Repository } from './repository.js';
import { openUploadWriter } from './upload.js';

/** How often one read resumes after its connection broke before it fails. */
const READ_ATTEMPTS = 5;
const READ_BACKOFF_MS = 500;

export class RegistryContentStore implements ContentStore {
  readonly #repo: Repository;

  constructor(repo: Repository) {
    this.#repo = repo;
  }

  async info(digest: Digest, { signal }: CallOptions): Promise<ContentInfo> {
    throwIfAborted(signal);
    const d = parseDigest(digest);
    const held = this.#repo.manifests.get(d);
    if (held !== undefined) return { digest: d, size: held.bytes.byteLength, labels: {} };
    const size = (await this.#head('blobs', d, signal)) ?? (await this.#head('manifests', d, signal));
    if (size === undefined) throw notFound(`content ${d} not found in ${this.#repo.where}`);
    return { digest: d, size, labels: {} };
  }

  /** The size of a blob or manifest by HEAD, undefined when the registry does not have it. */
  async #head(kind: 'blobs' | 'manifests', d: Digest, signal: AbortSignal): Promise<number | undefined> {
    const repo = this.#repo;
    const res = await repo.client.expect(
      {
        method: 'HEAD',
        path: repo.path(kind, d),
        scopes: repo.pull,
        headers: kind === 'manifests' ? { accept: MANIFEST_ACCEPT } : {},
        what: `looking up ${d}`,
        signal,
      },
      [200, 404],
      repo.name,
    );
    await res.body.dump();
    if (res.statusCode === 404) return undefined;
    return Number(res.headers['content-length'] ?? NaN);
  }

  /** A manifest's bytes by digest (held, or GET /manifests), checked against the digest; undefined if absent. */
  async manifestBytes(d: Digest, signal: AbortSignal): Promise<Buffer | undefined> {
    const repo = this.#repo;
    const held = repo.manifests.get(d);
    if (held !== undefined) return held.bytes;
    const res = await repo.client.expect(
      {
        method: 'GET',
        path: repo.path('manifests', d),
        scopes: repo.pull,
        headers: { accept: MANIFEST_ACCEPT },
        what: `reading manifest ${d}`,
        signal,
      },
      [200, 404],
      repo.name,
    );
    if (res.statusCode === 404) {
      await res.body.dump();
      return undefined;
    }
    const bytes = await bodyBytes(res, JSON_LIMITS.manifest + 1);
    return checkedManifest(bytes, d);
  }

  async *read(digest: Digest, options: ReadOptions): AsyncIterable<Uint8Array> {
    const d = parseDigest(digest);
    throwIfAborted(options.signal);
    const held = this.#repo.manifests.get(d);
    if (held !== undefined) {
      const r = readRange(d, held.bytes.byteLength, options.offset, options.size);
      yield held.bytes.subarray(r.start, r.end);
      return;
    }
    yield* this.#readBlob(d, options);
  }

  async *#readBlob(d: Digest, { signal, offset = 0, size }: ReadOptions): AsyncIterable<Uint8Array> {
    const repo = this.#repo;
    const whole = offset === 0 && size === undefined;
    const hash = whole ? createHash('sha256') : undefined;
    let pos = offset;
    let end: number | undefined = size === undefined ? undefined : offset + size;
    let total: number | undefined;
    let failures = 0;
    for (;;) {
      if (end !== undefined && pos >= end) break;
      const ranged = pos > 0 || end !== undefined;
      const range = ranged ? `bytes=${pos}-${end === undefined ? '' : end - 1}` : undefined;
      const res = await repo.client.send({
        method: 'GET',
        path: repo.path('blobs', d),
        scopes: repo.pull,
        headers: range === undefined ? {} : { range },
        what: `reading blob ${d}`,
        signal,
      });
      if (res.statusCode === 404 && pos === offset) {
        await res.body.dump();
        yield* this.#readManifest(d, offset, size, signal);
        return;
      }
      if (res.statusCode === 416 && total === undefined && pos === offset) {
        await res.body.dump();
        // Reading at the very end of a blob: nothing to read, when the offset is its size.
        const info = await this.info(d, { signal });
        readRange(d, info.size, offset, size);
        return;
      }
      if (res.statusCode !== 200 && res.statusCode !== 206) {
        throw await repo.client.failure(
          res,
          { method: 'GET', path: '', scopes: [], what: `reading blob ${d}`, signal },
          repo.name,
        );
      }
      const span = responseSpan(res, pos);
      total ??= span.total;
      if (end === undefined && total !== undefined) end = total;
      let skip = span.skip;
      try {
        for await (const chunk of res.body) {
          let bytes = chunk as Buffer;
          if (skip > 0) {
            const n = Math.min(skip, bytes.byteLength);
            bytes = bytes.subarray(n);
            skip -= n;
          }
          if (end !== undefined && pos + bytes.byteLength > end) bytes = bytes.subarray(0, end - pos);
          if (bytes.byteLength === 0) continue;
          hash?.update(bytes);
          pos += bytes.byteLength;
          yield bytes;
          if (end !== undefined && pos >= end) break;
        }
      } catch (err) {
        if (signal.aborted) throw abortError(signal);
        if (++failures >= READ_ATTEMPTS)
          throw transportError(err, repo.host, repo.client.side, `reading blob ${d} at byte ${pos}`);
        repo.logger.debug(
          { registry: repo.host, blob: d, at: pos },
          'blob read broke; resuming with a Range request',
        );
        await backoff(failures, signal);
        continue;
      } finally {
        discard(res);
      }
      if (end === undefined || pos >= end) break;
      // The body ended early (the server closed it): resume.
      if (++failures >= READ_ATTEMPTS) {
        throw new TsconvertError(
          'CONNECTION',
          `${repo.where}: blob ${d} ended at byte ${pos} of ${end}, ${READ_ATTEMPTS} times`,
          { hint: 'check the registry and the network, and try again' },
        );
      }
      await backoff(failures, signal);
    }
    if (hash !== undefined) {
      const actual = { digest: `sha256:${hash.digest('hex')}`, size: pos };
      if (actual.digest !== d) throw new ContentMismatch({ digest: d, size: total ?? pos }, actual);
    }
  }

  async *#readManifest(
    d: Digest,
    offset: number,
    size: number | undefined,
    signal: AbortSignal,
  ): AsyncIterable<Uint8Array> {
    const bytes = await this.manifestBytes(d, signal);
    if (bytes === undefined) throw notFound(`content ${d} not found in ${this.#repo.where}`);
    const r = readRange(d, bytes.byteLength, offset, size);
    yield bytes.subarray(r.start, r.end);
  }

  async updateLabels(
    digest: Digest,
    _labels: Record<string, string | undefined>,
    options: CallOptions,
  ): Promise<ContentInfo> {
    return this.info(digest, options);
  }

  openWriter(options: WriterOptions): Promise<ContentWriter> {
    return openUploadWriter(this.#repo, options, (d, signal) => this.#has(d, signal));
  }

  async #has(d: Digest, signal: AbortSignal): Promise<boolean> {
    try {
      await this.info(d, { signal });
      return true;
    } catch (err) {
      if (err instanceof TsconvertError && err.code === 'NOT_FOUND') return false;
      throw err;
    }
  }

  /** Upload sessions are not listed by registries; there is never an ingest of ours to abort by ref. */
  async abortIngest(ref: string, { signal }: CallOptions): Promise<void> {
    throwIfAborted(signal);
    throw notFound(`no upload ${JSON.stringify(ref)} in ${this.#repo.where}`);
  }

  async listIngests({ signal }: CallOptions): Promise<IngestStatus[]> {
    throwIfAborted(signal);
    return [];
  }
}

/** The bytes a manifest read gave, refused unless they hash to `d`. */
export function checkedManifest(bytes: Buffer, d: Digest): Buffer {
  const actual = sha256Digest(bytes);
  if (actual !== d)
    throw new ContentMismatch(
      { digest: d, size: bytes.byteLength },
      { digest: actual, size: bytes.byteLength },
    );
  return bytes;
}

/** Where a response's body starts relative to `pos`, and the blob's total size when the response says. */
function responseSpan(res: Response, pos: number): { skip: number; total: number | undefined } {
  if (res.statusCode === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    const start = m === null ? NaN : Number(m[1]);
    if (start !== pos) {
      throw new TsconvertError(
        'FAILED_PRECONDITION',
        `the registry answered a read at byte ${pos} with ${String(res.headers['content-range'])}`,
      );
    }
    return { skip: 0, total: m?.[3] === '*' || m === null ? undefined : Number(m[3]) };
  }
  // A registry that ignored the Range header sends the whole blob: skip what was already read.
  const length = Number(res.headers['content-length'] ?? NaN);
  return { skip: pos, total: Number.isFinite(length) ? length : undefined };
}

async function backoff(failures: number, signal: AbortSignal): Promise<void> {
  await sleep(Math.min(READ_BACKOFF_MS * 2 ** (failures - 1), 10_000), undefined, { signal }).catch(() => {
    throw abortError(signal);
  });
}
