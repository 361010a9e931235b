// Pass-through pipeline stages that count the bytes flowing through them and, for the source-blob check and
// the DiffID, hash them (sha256): here on the calling thread (DigestCounter), or on a thread of its own
// (digest-worker.ts). The output is only counted: its store hashes it (on the digest thread too, through
// WriterOptions.hasher). A blob that is not what its descriptor says is one condition with one error:
// ContentMismatch.

import { createHash } from 'node:crypto';
import { ContentMismatch, type BlobFacts } from '../errors.js';
import type { Digest } from '../oci/digest.js';

/** A running sha256 over a stream: update() may return a promise, which the stream waits for. */
export interface StreamDigest {
  readonly size: number;
  update(chunk: Uint8Array): void | Promise<void>;
  /** The digest of everything given to update(); resolves once all of it is hashed. */
  finish(): Promise<Digest>;
  /** The digest, once finish() has resolved. */
  digest(): Digest;
  /** Gives up a stream that will not be finished (its layer failed), freeing what holds its state. */
  drop?(): void;
}

/** sha256 on the calling thread. */
export class DigestCounter implements StreamDigest {
  private readonly hash = createHash('sha256');
  private finished: Digest | undefined;
  size = 0;

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.size += chunk.byteLength;
  }

  /** The final digest; call once the stream has ended. */
  digest(): Digest {
    this.finished ??= `sha256:${this.hash.digest('hex')}`;
    return this.finished;
  }

  finish(): Promise<Digest> {
    return Promise.resolve(this.digest());
  }
}

/** Counts the bytes flowing through, for a stage whose digest the store computes anyway. */
export class ByteCounter {
  size = 0;

  update(chunk: Uint8Array): void {
    this.size += chunk.byteLength;
  }
}

/** The stage for `pipeline(src, tapInto(counter), ...)`: yields every chunk unchanged after counting it. */
export function tapInto(
  counter: Pick<StreamDigest, 'update'>,
): (source: AsyncIterable<Uint8Array>) => AsyncGenerator<Uint8Array> {
  return async function* (source) {
    for await (const chunk of source) {
      const hashed = counter.update(chunk);
      if (hashed !== undefined) await hashed;
      yield chunk;
    }
  };
}

/** Throws ContentMismatch unless what `counter` saw is `expected`; call once finish() has resolved. */
export function checkContent(counter: StreamDigest, expected: BlobFacts): void {
  const actual = { digest: counter.digest(), size: counter.size };
  if (actual.digest !== expected.digest || actual.size !== expected.size) {
    throw new ContentMismatch(expected, actual);
  }
}

/**
 * `tapInto` that also checks, when its input ends, that it saw exactly `expected`: a damaged source fails
 * at its own end, before a decoder downstream can report the symptom (a truncated stream) instead.
 */
export function verifyInto(
  counter: StreamDigest,
  expected: BlobFacts,
): (source: AsyncIterable<Uint8Array>) => AsyncGenerator<Uint8Array> {
  return async function* (source) {
    yield* tapInto(counter)(source);
    await counter.finish();
    checkContent(counter, expected);
  };
}
