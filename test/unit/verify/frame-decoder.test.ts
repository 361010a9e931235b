// The frame-aware zstd decoder: frames written by the zstd CLI and by tsconvert's own frame compressor,
// with a skippable frame between them, decode to their concatenation, each frame reported at its
// compressed offset and the decoded offset it starts at, whatever size the input pieces have.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { skippableFrame } from '../../../src/zstd/frame-compressor.js';
import { decodeFrames, skippablePayloadLength } from '../../../src/zstd/frame-decoder.js';
import { zstdFrame } from './layers.js';

async function* pieces(buf: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

describe('decodeFrames', () => {
  const a = randomBytes(300_000);
  const b = Buffer.alloc(5000, 3);
  const fa = execFileSync('zstd', ['-c', '-q'], { input: a });
  const skip = skippableFrame(Buffer.from('meta'));
  const fb = zstdFrame(b);
  const blob = Buffer.concat([fa, skip, fb]);

  for (const size of [1, 7, 4096, blob.length]) {
    it(`reports every frame's offsets with input pieces of ${size} bytes`, async () => {
      const frames: Array<[number, number]> = [];
      const out: Uint8Array[] = [];
      for await (const ev of decodeFrames(pieces(blob, size))) {
        if (ev.kind === 'frame') frames.push([ev.offset, ev.decoded]);
        else out.push(ev.data);
      }
      expect(Buffer.concat(out).equals(Buffer.concat([a, b]))).toBe(true);
      expect(frames).toEqual([
        [0, 0],
        [fa.length, a.length],
        [fa.length + skip.length, a.length],
      ]);
    });
  }

  it('fails MALFORMED on a corrupt frame and on a stream cut inside a frame', async () => {
    const flipped = Buffer.from(blob);
    const at = Math.floor(fa.length / 2);
    flipped[at] = (flipped[at] ?? 0) ^ 0xff;
    const drain = async (buf: Buffer): Promise<void> => {
      for await (const ev of decodeFrames(pieces(buf, 65536))) void ev;
    };
    await expect(drain(flipped)).rejects.toMatchObject({ code: 'MALFORMED' });
    await expect(drain(blob.subarray(0, fa.length - 3))).rejects.toMatchObject({ code: 'MALFORMED' });
  });

  it('reads skippable frame headers', () => {
    expect(skippablePayloadLength(skip.subarray(0, 8))).toBe(4);
    expect(skippablePayloadLength(fa.subarray(0, 8))).toBeUndefined();
  });
});
