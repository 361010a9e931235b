// A pass-through pipeline stage that hashes (sha256) and counts the bytes flowing through it, for the
// source-blob check, the DiffID and the output digest, without copying data.

import { createHash } from 'node:crypto';
import type { Digest } from '../oci/digest.js';

export class DigestCounter {
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
}

/** The stage for `pipeline(src, tapInto(counter), ...)`: yields every chunk unchanged after counting it. */
export function tapInto(
  counter: DigestCounter,
): (source: AsyncIterable<Uint8Array>) => AsyncGenerator<Uint8Array> {
  return async function* (source) {
    for await (const chunk of source) {
      counter.update(chunk);
      yield chunk;
    }
  };
}
