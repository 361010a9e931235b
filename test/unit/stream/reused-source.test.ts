// A source that reuses a piece's memory once asked for the next (ReadOptions.reusesChunks): the file reader
// that does so, and the steps a layer's bytes take after it (sniff, the decoders, copyPieces of a
// plain tar) giving the same bytes as from fresh pieces. The test source scribbles over each piece as soon
// as the next is asked for, so anything that keeps a view too long reads garbage.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { fileChunks } from '../../../src/store/file-range.js';
import { copyPieces, decode, sniff } from '../../../src/stream/decompress.js';
import { scribbling } from '../../helpers/scribbling-source.js';

async function decoded(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const s = await sniff(source);
  const parts: Uint8Array[] = [];
  // The decoders' output is the consumer's to keep: held here until the end.
  const out = s.compression === 'none' ? copyPieces(s.stream) : decode(s.stream, s.compression);
  for await (const c of out) parts.push(c);
  return Buffer.concat(parts);
}

const dir = mkdtempSync(join(tmpdir(), 'tsconvert-reused-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a source that reuses its memory', () => {
  const text = Buffer.from('usr/lib/x86_64-linux-gnu/libc.so.6 '.repeat(40_000));
  const data = Buffer.concat([text, randomBytes(200_000), text]);
  const sizes = [1, 2, 700, 65_536, 3, 1 << 20];

  it('gives the same bytes through gzip, zstd and plain, as pieces of any size', async () => {
    expect((await decoded(scribbling(gzipSync(data), sizes))).equals(data)).toBe(true);
    expect((await decoded(scribbling(Buffer.from(compress(data)), sizes))).equals(data)).toBe(true);
    expect((await decoded(scribbling(data, sizes))).equals(data)).toBe(true);
  });

  it('reads a file into two reused buffers, in order, and ends early on a file cut short', async () => {
    const path = join(dir, 'blob');
    const blob = randomBytes(3 * (256 << 10) + 12_345);
    writeFileSync(path, blob);
    const seen = new Set<ArrayBufferLike>();
    const parts: Buffer[] = [];
    for await (const c of fileChunks(
      await open(path, 'r'),
      { start: 5, end: blob.length },
      new AbortController().signal,
      true,
    )) {
      seen.add(c.buffer);
      parts.push(Buffer.from(c));
    }
    expect(Buffer.concat(parts).equals(blob.subarray(5))).toBe(true);
    expect(seen.size).toBe(2);
    // The file is shorter than the range asked for (cut since its size was read): the stream just ends.
    const short: Buffer[] = [];
    for await (const c of fileChunks(
      path,
      { start: 0, end: blob.length + 1000 },
      new AbortController().signal,
      true,
    ))
      short.push(Buffer.from(c));
    expect(Buffer.concat(short).equals(blob)).toBe(true);
  });

  it('gunzips a file read into reused buffers to the right bytes', async () => {
    const path = join(dir, 'layer.gz');
    const gz = gzipSync(data);
    writeFileSync(path, gz);
    const out = await decoded(
      fileChunks(path, { start: 0, end: gz.length }, new AbortController().signal, true),
    );
    expect(out.equals(data)).toBe(true);
  });
});

describe('gzip fed before anyone reads', () => {
  it('keeps a failure in the first piece for the consumer instead of throwing it unhandled', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const bad = Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('not the rest of a gzip header')]);
      const s = await sniff(scribbling(bad, [bad.length]));
      const out = decode(s.stream, s.compression);
      // zlib has had time to fail before the first pull.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await expect(
        (async () => {
          for await (const _ of out) void _;
        })(),
      ).rejects.toThrow(/not valid gzip/);
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
