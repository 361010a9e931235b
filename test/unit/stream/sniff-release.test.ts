// sniff() hands back a replay of its source. Whoever stops reading that replay early (a layer that falls back
// to another format, a decoder error, a cancelled run) must release the source too: it is a gRPC stream or an
// open file, and without return() it would stay open until the process ends.

import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decode, sniff } from '../../../src/stream/decompress.js';

/** A source that records whether its consumer released it (return() runs the finally). */
function trackedSource(
  data: Buffer,
  chunk: number,
): { source: AsyncIterable<Uint8Array>; released: () => boolean } {
  let released = false;
  async function* gen(): AsyncGenerator<Uint8Array> {
    try {
      for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
    } finally {
      released = true;
    }
  }
  return { source: gen(), released: () => released };
}

const payload = Buffer.from('tsconvert '.repeat(20_000));

describe('sniff releases its source', () => {
  it('when the consumer stops after the first chunks', async () => {
    const t = trackedSource(payload, 100);
    const s = await sniff(t.source);
    let seen = 0;
    for await (const c of s.stream) {
      seen += c.byteLength;
      if (seen > 300) break;
    }
    expect(t.released()).toBe(true);
  });

  it('when the replay is given up before it was read at all', async () => {
    const t = trackedSource(payload, 100);
    const s = await sniff(t.source);
    await s.stream[Symbol.asyncIterator]().return?.();
    expect(t.released()).toBe(true);
  });

  it('when a decoder in between is abandoned (the fallback path)', async () => {
    // Incompressible, so the gzip blob is far larger than what the stream machinery reads ahead.
    const t = trackedSource(gzipSync(randomBytes(4 << 20)), 4096);
    const s = await sniff(t.source);
    expect(s.compression).toBe('gzip');
    for await (const c of decode(s.stream, s.compression)) {
      expect(c.byteLength).toBeGreaterThan(0);
      break;
    }
    await expect.poll(t.released).toBe(true);
  });

  it('and still replays every byte to a consumer that reads to the end', async () => {
    const t = trackedSource(payload, 3);
    const s = await sniff(t.source);
    const parts: Uint8Array[] = [];
    for await (const c of s.stream) parts.push(c);
    expect(Buffer.concat(parts).equals(payload)).toBe(true);
    expect(t.released()).toBe(true);
  });
});
