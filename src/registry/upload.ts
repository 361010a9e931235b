// Writing a blob to a registry (a ContentWriter). Opening with a known digest asks first whether the
// repository has it (HEAD) and then tries to mount it from the source's repository of the same registry
// (POST uploads/?mount=DIGEST&from=REPO); either way the blob is not sent again (ALREADY_EXISTS). Bytes are
// gathered in one buffer of UPLOAD_CHUNK bytes, counted in the run's memory budget: a blob that fits is
// sent in one request when committed (a monolithic upload: POST, then PUT ?digest= with the body), a larger
// one in chunks (PATCH with Content-Range) as the buffer fills, the last with the PUT. A chunk whose request
// failed is sent again from the offset the registry reports having (GET on the upload). A manifest or index
// is not uploaded: it is held for images.ts to push (repository.ts). The digest is computed here and
// checked by the registry too (?digest=); a mismatch is refused before anything is committed.

import { setTimeout as sleep } from 'node:timers/promises';
import { abortError, TsconvertError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import {
  localHasher,
  type BlobHasher,
  type CommitOptions,
  type CommitResult,
  type ContentWriter,
  type WriterOptions,
} from '../store/content-store.js';
import type { RegistryCall } from './client.js';
import { cancelUpload, mount } from './upload-sessions.js';
import { asManifest, type Repository } from './repository.js';

/** The upload buffer: the most a writer holds, and the size of each chunk of a chunked upload. */
export const UPLOAD_CHUNK = 8 << 20;
/** How often one chunk is sent again after its request failed. */
const CHUNK_ATTEMPTS = 5;

/** Whether the repository has the blob (or manifest) `d`. */
export type HasBlob = (d: Digest, signal: AbortSignal) => Promise<boolean>;

export async function openUploadWriter(
  repo: Repository,
  options: WriterOptions,
  has: HasBlob,
): Promise<ContentWriter> {
  const { expected, signal } = options;
  let session: string | undefined;
  if (expected !== undefined) {
    if (repo.manifests.has(expected) || (await has(expected, signal))) throw alreadyExists(repo, expected);
    for (const from of repo.mountFrom) {
      const mounted = await mount(repo, expected, from, signal);
      if (mounted === true) throw alreadyExists(repo, expected);
      session ??= mounted;
      if (session !== undefined) break;
    }
  }
  // Taken without waiting: the layer job calling us already holds its own share, and waiting here while
  // holding it could deadlock; the buffer is counted, so other work waits for it instead.
  repo.budget?.overdraw(UPLOAD_CHUNK);
  return new UploadWriter(repo, options, session, has);
}

const alreadyExists = (repo: Repository, d: Digest): TsconvertError =>
  new TsconvertError('ALREADY_EXISTS', `blob ${d} already in ${repo.where}`);

class UploadWriter implements ContentWriter {
  readonly ref: string;
  readonly offset = 0;
  readonly #repo: Repository;
  readonly #signal: AbortSignal;
  readonly #expected: Digest | undefined;
  #session: string | undefined;
  /** Bytes the registry has accepted into the session. */
  #sent = 0;
  /** The upload buffer: grown by doubling up to UPLOAD_CHUNK, so a small blob takes little. */
  #buf: Buffer = Buffer.alloc(0);
  #buffered = 0;
  readonly #newHash: () => BlobHasher;
  #hash: BlobHasher;
  #done = false;

  readonly #has: HasBlob;

  constructor(repo: Repository, options: WriterOptions, session: string | undefined, has: HasBlob) {
    this.#has = has;
    this.#repo = repo;
    this.ref = options.ref;
    this.#signal = options.signal;
    this.#expected = options.expected;
    this.#session = session;
    this.#newHash = options.hasher ?? localHasher;
    this.#hash = this.#newHash();
  }

  #call(
    method: RegistryCall['method'],
    path: string,
    what: string,
    extra: Partial<RegistryCall> = {},
  ): RegistryCall {
    return {
      method,
      path,
      scopes: this.#repo.push,
      what: `${what} (upload of ${this.#expected ?? this.ref})`,
      signal: this.#signal,
      ...extra,
    };
  }

  async #start(): Promise<string> {
    if (this.#session !== undefined) return this.#session;
    const res = await this.#repo.client.expect(
      this.#call('POST', this.#repo.uploadsPath, 'starting an upload'),
      [202],
      this.#repo.name,
    );
    await res.body.dump();
    const location = res.headers.location;
    if (typeof location !== 'string') {
      throw new TsconvertError(
        'FAILED_PRECONDITION',
        `${this.#repo.where}: an upload started without a Location`,
      );
    }
    this.#session = location;
    return location;
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.#signal.aborted) throw abortError(this.#signal);
    let rest = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await this.#hash.update(rest);
    while (rest.byteLength > 0) {
      const take = Math.min(rest.byteLength, UPLOAD_CHUNK - this.#buffered);
      this.#reserve(this.#buffered + take);
      // Copied: the caller may reuse its buffer once write() resolves.
      rest.copy(this.#buf, this.#buffered, 0, take);
      this.#buffered += take;
      rest = rest.subarray(take);
      if (this.#buffered >= UPLOAD_CHUNK) await this.#flush();
    }
  }

  #reserve(size: number): void {
    if (size <= this.#buf.byteLength) return;
    let capacity = Math.max(this.#buf.byteLength, 64 << 10);
    while (capacity < size) capacity *= 2;
    const grown = Buffer.allocUnsafe(Math.min(capacity, UPLOAD_CHUNK));
    this.#buf.copy(grown, 0, 0, this.#buffered);
    this.#buf = grown;
  }

  /** The buffered bytes (a view: valid until the next write), and the buffer emptied. */
  #take(): Buffer {
    const chunk = this.#buf.subarray(0, this.#buffered);
    this.#buffered = 0;
    return chunk;
  }

  /** Sends the buffer as one chunk (PATCH), again from where the registry stands after a failure. */
  async #flush(): Promise<void> {
    const chunk = this.#take();
    const start = this.#sent;
    for (let attempt = 1; ; attempt++) {
      const location = await this.#start();
      const from = this.#sent - start;
      const body = chunk.subarray(from);
      try {
        const res = await this.#repo.client.expect(
          this.#call('PATCH', location, 'sending a chunk', {
            body,
            retry: false,
            headers: {
              'content-type': 'application/octet-stream',
              'content-range': `${this.#sent}-${this.#sent + body.byteLength - 1}`,
            },
          }),
          [202],
          this.#repo.name,
        );
        await res.body.dump();
        this.#sent += body.byteLength;
        if (typeof res.headers.location === 'string') this.#session = res.headers.location;
        return;
      } catch (err) {
        if (this.#signal.aborted) throw abortError(this.#signal);
        if (attempt >= CHUNK_ATTEMPTS || !retryable(err)) throw err;
        this.#repo.logger.debug(
          { registry: this.#repo.host, at: this.#sent, attempt },
          'chunk upload failed; asking the registry where it stands',
        );
        await sleep(500 * 2 ** (attempt - 1), undefined, { signal: this.#signal }).catch(() => {
          throw abortError(this.#signal);
        });
        await this.#resync(start + chunk.byteLength).catch(() => undefined);
      }
    }
  }

  /** Asks the registry how much of the upload it has (Range: 0-N) and carries on from there. */
  async #resync(limit: number): Promise<void> {
    if (this.#session === undefined) return;
    const res = await this.#repo.client.expect(
      this.#call('GET', this.#session, 'asking for the upload status', { retry: false }),
      [204],
      this.#repo.name,
    );
    await res.body.dump();
    const m = /^(?:bytes=)?0-(\d+)$/.exec(String(res.headers.range ?? ''));
    const have = m === null ? 0 : Number(m[1]) + 1;
    if (have >= this.#sent && have <= limit) this.#sent = have;
    if (typeof res.headers.location === 'string') this.#session = res.headers.location;
  }

  async truncate(): Promise<void> {
    await this.#cancelSession();
    this.#buffered = 0;
    this.#sent = 0;
    this.#hash.drop?.();
    this.#hash = this.#newHash();
  }

  async commit(options: CommitOptions): Promise<CommitResult> {
    const size = this.#sent + this.#buffered;
    const digest = await this.#hash.finish();
    const want = options.expected ?? this.#expected;
    if ((want !== undefined && want !== digest) || (options.size !== undefined && options.size !== size)) {
      // The contract's code for a commit that does not match (test/contract/content-store-contract.ts).
      throw new TsconvertError(
        'FAILED_PRECONDITION',
        `the blob written to ${this.#repo.where} is ${digest} of ${size} bytes, not ${want ?? digest} of ${options.size ?? size} bytes`,
      );
    }
    const found = this.#sent === 0 ? asManifest(this.#buf.subarray(0, this.#buffered)) : undefined;
    if (found !== undefined) {
      // Copied out of the upload buffer, which is dropped below.
      const held = { ...found, bytes: Buffer.from(found.bytes) };
      // A manifest waits for the image record (images.ts); an upload opened for it is not needed.
      await this.#cancelSession();
      this.#repo.manifests.set(digest, held);
      this.#finish();
      return { digest, size, existed: false };
    }
    if (this.#sent === 0 && this.#expected === undefined && (await this.#has(digest, this.#signal))) {
      // A blob whose digest was only known now (a converted layer) that the repository already has: a
      // rerun of an interrupted conversion sends it no second time. Larger ones are on their way already.
      await this.#cancelSession();
      this.#finish();
      return { digest, size, existed: true };
    }
    const location = await this.#start();
    const url = new URL(location, 'http://placeholder');
    url.searchParams.set('digest', digest);
    const path = location.startsWith('http') ? url.href : `${url.pathname}${url.search}`;
    const body = this.#take();
    const res = await this.#repo.client.expect(
      this.#call('PUT', path, this.#sent === 0 ? 'uploading the blob' : 'finishing the upload', {
        body,
        headers: { 'content-type': 'application/octet-stream' },
      }),
      [201, 204],
      this.#repo.name,
    );
    await res.body.dump();
    this.#session = undefined;
    this.#finish();
    return { digest, size, existed: false };
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#hash.drop?.();
    this.#buf = Buffer.alloc(0);
    this.#buffered = 0;
    this.#repo.budget?.release(UPLOAD_CHUNK);
  }

  async #cancelSession(): Promise<void> {
    const location = this.#session;
    this.#session = undefined;
    if (location !== undefined) await cancelUpload(this.#repo, location);
  }

  async abort(): Promise<void> {
    if (this.#done) return;
    await this.#cancelSession();
    this.#finish();
  }
}

function retryable(err: unknown): boolean {
  return err instanceof TsconvertError && (err.code === 'CONNECTION' || err.code === 'UNAVAILABLE');
}
