// Incremental frames (zstd:chunked's TOC and tar-split text) compressed on a compression pool thread: the
// same bytes as on the calling thread, a bounded backlog the producer can wait on, and a dead worker
// failing a waiting producer instead of leaving it waiting.
import { randomBytes } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { decompress } from 'zstd-napi';
import { CompressPool } from '../../../src/zstd/compress-pool.js';
import { openIncrementalFrame } from '../../../src/zstd/pool-frame.js';

/** Text-like pieces, some compressible and some not, of varied sizes. */
function pieces(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const text = Buffer.from(
      `{"name":"usr/lib/file-${i}","size":${i * 4099},"mode":420}`.repeat(1 + (i % 7) * 50),
    );
    out.push(i % 5 === 0 ? Buffer.concat([text, randomBytes(3000)]) : text);
  }
  return out;
}

async function compressAll(pool: CompressPool | undefined, input: Uint8Array[]): Promise<Buffer> {
  const out: Uint8Array[] = [];
  const frame = openIncrementalFrame(pool, 3, (p) => out.push(...p));
  const scratch = Buffer.alloc(64 * 1024);
  for (const piece of input) {
    // The caller's buffer is refilled at once after write(), as TextFrame does with its batch buffer.
    const view = piece.length <= scratch.length ? scratch.subarray(0, piece.length) : Buffer.from(piece);
    view.set(piece);
    frame.write(view);
    view.fill(0);
  }
  await frame.end();
  frame.drop();
  return Buffer.concat(out);
}

describe('incremental frames on the compression pool', () => {
  it('give the same bytes as on the calling thread, and decompress to the input', async () => {
    const pool = new CompressPool(2);
    try {
      const input = pieces();
      const local = await compressAll(undefined, input);
      const pooled = await compressAll(pool, input);
      expect(pooled.equals(local)).toBe(true);
      expect(Buffer.from(decompress(pooled)).equals(Buffer.concat(input))).toBe(true);
      // Two frames at once on the same pool keep their own contexts.
      const [a, b] = await Promise.all([compressAll(pool, input), compressAll(pool, input.slice(3))]);
      expect(a.equals(local)).toBe(true);
      expect(Buffer.from(decompress(b)).equals(Buffer.concat(input.slice(3)))).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('counts what is sent and not yet compressed, and empties it for caughtUp()', async () => {
    const pool = new CompressPool(1);
    try {
      const frame = openIncrementalFrame(pool, 3, () => {});
      for (const piece of pieces()) frame.write(piece);
      expect(frame.backlog).toBeGreaterThan(0);
      await frame.caughtUp();
      expect(frame.backlog).toBe(0);
      await frame.end();
      frame.drop();
    } finally {
      await pool.close();
    }
  });

  it("hands what the output's receiver throws (a spill file that cannot be written) to the producer", async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    const pool = new CompressPool(1);
    try {
      const frame = openIncrementalFrame(pool, 3, () => {
        throw new Error('no space left for the spill file');
      });
      frame.write(Buffer.alloc(256 * 1024, 7));
      await expect(frame.end()).rejects.toThrow(/no space left/);
      expect(() => frame.write(Buffer.alloc(10))).toThrow(/no space left/);
      frame.drop();
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await pool.close();
    }
  });

  it('fails a producer waiting on a frame whose worker died, with the cause', async () => {
    const pool = new CompressPool(1);
    try {
      const frame = openIncrementalFrame(pool, 3, () => {});
      frame.write(Buffer.alloc(1 << 20, 1));
      const waiting = frame.caughtUp();
      const worker = (pool as unknown as { threads: Array<{ worker: Worker }> }).threads[0]?.worker;
      await worker?.terminate();
      // The write may have been answered before the worker went: then the end is what fails.
      await expect(waiting.then(() => frame.end())).rejects.toThrow(/compression worker failed/);
      expect(() => frame.write(Buffer.alloc(10))).toThrow(/compression worker failed/);
    } finally {
      await pool.close();
    }
  });
});
