import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decode, sniff } from '../../src/stream/decompress.js';

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

async function roundTrip(blob: Buffer, chunkSize = 7): Promise<{ kind: string; data: Buffer }> {
  const s = await sniff(chunks(blob, chunkSize));
  return { kind: s.compression, data: await collect(decode(s.stream, s.compression)) };
}

function skippable(payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a50, 0);
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

describe('decompression by content', () => {
  const text = Buffer.from('tsconvert '.repeat(50_000));
  const noise = randomBytes(300_000);

  it('passes plain data through', async () => {
    expect(await roundTrip(text)).toEqual({ kind: 'none', data: text });
  });

  it('decodes multi-member gzip', async () => {
    const r = await roundTrip(Buffer.concat([gzipSync(text), gzipSync(noise)]));
    expect(r.kind).toBe('gzip');
    expect(r.data.equals(Buffer.concat([text, noise]))).toBe(true);
  });

  it('decodes multi-frame zstd with skippable frames from the zstd CLI, first frame skippable too', async () => {
    const f1 = execFileSync('zstd', ['-q', '-c', '-3'], { input: text });
    const f2 = execFileSync('zstd', ['-q', '-c', '-19'], { input: noise });
    const blob = Buffer.concat([
      skippable(Buffer.from('lead')),
      f1,
      skippable(randomBytes(1000)),
      f2,
      skippable(Buffer.from('tail')),
    ]);
    const r = await roundTrip(blob, 4096);
    expect(r.kind).toBe('zstd');
    expect(r.data.equals(Buffer.concat([text, noise]))).toBe(true);
  });

  it('decodes zstd only as fast as it is read: a small piece of a layer of zeros never arrives whole', async () => {
    // 256 MiB of zeros in a few kB of zstd, handed over as one input piece.
    const bomb = execFileSync('zstd', ['-3', '-c'], { input: Buffer.alloc(256 << 20), maxBuffer: 1 << 26 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    let largest = 0;
    let total = 0;
    for await (const piece of decode(chunks(bomb, bomb.length), 'zstd')) {
      largest = Math.max(largest, piece.length);
      total += piece.length;
    }
    expect(total).toBe(256 << 20);
    expect(largest).toBeLessThanOrEqual(1 << 20);
  });

  it('reports corrupt input as an error in the consumer loop', async () => {
    const bad = gzipSync(text);
    bad.fill(0x55, 20, 60);
    await expect(roundTrip(bad)).rejects.toThrow();
  });
});
