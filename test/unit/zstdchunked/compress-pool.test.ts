// The compression pool when a worker dies: its batch, the batches queued behind it and later work all fail
// with one error naming the cause, instead of waiting for a worker that is gone. A real worker is killed
// for this (terminate() ends it the way a crash would, without an 'error' event).
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { CompressPool, createSlot } from '../../../src/zstd/compress-pool.js';

function batch(): Parameters<CompressPool['compress']> {
  const slot = createSlot(64 * 1024, 4);
  slot.input.fill(7);
  return [slot, [{ offset: 0, length: 64 * 1024, checksums: true }], 3];
}

describe('CompressPool', () => {
  it('compresses a batch, then fails everything once its only worker has exited', async () => {
    const pool = new CompressPool(1);
    try {
      const [done] = await pool.compress(...batch());
      expect(done?.length).toBeGreaterThan(0);
      expect(done?.sha256).toMatch(/^[0-9a-f]{64}$/);

      // Work sent just before the worker dies either finishes or fails; none of it may wait for ever.
      const racing = [pool.compress(...batch()), pool.compress(...batch()), pool.compress(...batch())];
      const worker = (pool as unknown as { threads: Array<{ worker: Worker }> }).threads[0]?.worker;
      await worker?.terminate();
      const settled = await Promise.allSettled(racing);
      for (const r of settled)
        if (r.status === 'rejected') expect(String(r.reason)).toMatch(/compression worker failed/);

      // Once the pool has seen the exit, new work fails at once with the cause.
      await expect(pool.compress(...batch())).rejects.toThrow(
        /compression worker failed: .*exited with code/,
      );
    } finally {
      await pool.close();
    }
  });
  it("hands a finished layer's slots to the next layer, keeping at most size + 2 idle", async () => {
    const pool = new CompressPool(1);
    try {
      const given = [0, 1, 2, 3].map(() => pool.takeSlot(64 * 1024, 4));
      for (const slot of given) pool.giveBackSlot(slot);
      const again = [0, 1, 2, 3].map(() => pool.takeSlot(64 * 1024, 4));
      // size 1 keeps 3; the fourth is new shared memory.
      expect(again.filter((slot) => given.includes(slot))).toHaveLength(3);
      // Another shape never gets a kept slot.
      pool.giveBackSlot(again[0] as (typeof again)[number]);
      expect(given).not.toContain(pool.takeSlot(128 * 1024, 4));
    } finally {
      await pool.close();
    }
  });
});
