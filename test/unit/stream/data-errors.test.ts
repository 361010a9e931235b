// Errors about a blob's bytes are typed where the bytes are read (decoder, digest check), so that callers
// never classify by message text and never call a source corrupt for an error of something else.

import { createHash, randomBytes } from 'node:crypto';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InvalidDataError } from '../../../src/errors.js';
import type { Digest } from '../../../src/oci/digest.js';
import { decode, sniff } from '../../../src/stream/decompress.js';
import { ContentMismatch } from '../../../src/errors.js';
import { DigestCounter, verifyInto } from '../../../src/stream/digest-tap.js';

async function* chunks(buf: Buffer, size = 1000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function drain(it: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of it) n += c.byteLength;
  return n;
}

const sha = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const payload = randomBytes(200_000);

describe('decoder errors', () => {
  it('a truncated zstd stream is InvalidDataError from the decompressor', async () => {
    const z = zstdCompressSync(payload);
    const s = await sniff(chunks(z.subarray(0, z.length - 100)));
    const err: unknown = await drain(decode(s.stream, s.compression)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidDataError);
    expect(err).toMatchObject({ code: 'MALFORMED', source: 'compression' });
    expect((err as Error).message).toMatch(/^not valid zstd: /);
  });

  it('damaged gzip is InvalidDataError from the decompressor', async () => {
    const gz = gzipSync(payload);
    gz.fill(0x55, 20, 60);
    const s = await sniff(chunks(gz));
    const err: unknown = await drain(decode(s.stream, s.compression)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MALFORMED', source: 'compression' });
  });

  it('an error of the input (a read or write error, not the bytes) passes through untouched', async () => {
    const failure = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield* chunks(gzipSync(payload).subarray(0, 50_000));
      throw failure;
    }
    const s = await sniff(failing());
    const err: unknown = await drain(decode(s.stream, s.compression)).catch((e: unknown) => e);
    expect(err).toBe(failure);
    expect(err).not.toBeInstanceOf(InvalidDataError);
  });
});

describe('content checks', () => {
  it('a blob with the right digest and a wrong size says so, and not that it hashes to its own digest', async () => {
    const expected = { digest: sha(payload), size: payload.length + 5 };
    const err: unknown = await drain(verifyInto(new DigestCounter(), expected)(chunks(payload))).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ContentMismatch);
    expect((err as ContentMismatch).sizeOnly).toBe(true);
    expect((err as Error).message).toBe(
      `does not match its descriptor: it has ${payload.length} bytes, but its descriptor says ${payload.length + 5}`,
    );
  });

  it('a damaged blob names the digest it really has', async () => {
    const other = Buffer.from(payload);
    other[7] = (other[7] ?? 0) ^ 1;
    const expected = { digest: sha(payload), size: payload.length };
    const err: unknown = await drain(verifyInto(new DigestCounter(), expected)(chunks(other))).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'MALFORMED', source: 'digest', sizeOnly: false });
    expect((err as Error).message).toBe(`does not match its descriptor: its content hashes to ${sha(other)}`);
  });

  it('passes a blob that is what its descriptor says', async () => {
    const expected = { digest: sha(payload), size: payload.length };
    expect(await drain(verifyInto(new DigestCounter(), expected)(chunks(payload)))).toBe(payload.length);
  });
});
