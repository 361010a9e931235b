// The digest worker: sha256 of streams fed from the main thread through a shared ring, computed on a thread
// of its own. Digests equal node:crypto's over the same bytes whatever the piece sizes (pieces larger than
// the ring, many tiny ones, several streams interleaved); a dropped stream frees the worker; a closed
// worker refuses work with an error instead of waiting for ever; a file it reads itself is hashed the same.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DIGEST_RING_BYTES, DigestWorker } from '../../../src/stream/digest-worker.js';

const sha256 = (parts: Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return `sha256:${h.digest('hex')}`;
};

describe('DigestWorker', () => {
  let worker: DigestWorker | undefined;
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
  });

  it('gives the sha256 of the bytes in order, for pieces smaller and larger than its ring', async () => {
    worker = new DigestWorker();
    const sizes = [0, 1, 511, 4096, DIGEST_RING_BYTES - 3, DIGEST_RING_BYTES, 3 * DIGEST_RING_BYTES + 17, 7];
    const parts = sizes.map((n) => randomBytes(n));
    const stream = worker.open();
    for (const p of parts) await stream.update(p);
    expect(await stream.finish()).toBe(sha256(parts));
    expect(stream.digest()).toBe(sha256(parts));
    expect(stream.size).toBe(sizes.reduce((a, b) => a + b, 0));
  });

  it('keeps interleaved streams apart', async () => {
    worker = new DigestWorker();
    const streams = [worker.open(), worker.open(), worker.open()];
    const fed: Uint8Array[][] = [[], [], []];
    for (let round = 0; round < 200; round++) {
      await Promise.all(
        streams.map(async (s, i) => {
          const piece = randomBytes(((round * 7919 + i * 104_729) % 300_000) + 1);
          fed[i]?.push(piece);
          await s.update(piece);
        }),
      );
    }
    const digests = await Promise.all(streams.map((s) => s.finish()));
    expect(digests).toEqual(fed.map((parts) => sha256(parts)));
  });

  it('finishes other streams after one is dropped, and the digest of the empty stream', async () => {
    worker = new DigestWorker();
    const dropped = worker.open();
    await dropped.update(randomBytes(100_000));
    dropped.drop();
    const empty = worker.open();
    expect(await empty.finish()).toBe(sha256([]));
  });

  it('fails a stream that waits for room in its ring when the worker closes', async () => {
    worker = new DigestWorker();
    const stream = worker.open();
    const feeding = stream.update(randomBytes(8 * DIGEST_RING_BYTES));
    const closing = worker.close();
    await expect(feeding).rejects.toThrow(/digest worker closed/);
    await closing;
  });

  it('refuses work once closed, rather than waiting', async () => {
    worker = new DigestWorker();
    const stream = worker.open();
    await worker.close();
    await expect(stream.update(randomBytes(10))).rejects.toThrow(/digest worker closed/);
    expect(() => worker?.open()).toThrow(/digest worker closed/);
  });

  it('hashes a file it reads itself, and names the file it could not read', async () => {
    worker = new DigestWorker();
    const dir = mkdtempSync(join(tmpdir(), 'tsconvert-digest-file-'));
    try {
      const data = randomBytes(2_500_000);
      writeFileSync(join(dir, 'blob'), data);
      expect(await worker.hashFile(join(dir, 'blob'), data.length)).toBe(sha256([data]));
      expect(await worker.hashFile(join(dir, 'blob'), 1000)).toBe(sha256([data.subarray(0, 1000)]));
      await expect(worker.hashFile(join(dir, 'blob'), data.length + 1)).rejects.toThrow(
        new RegExp(`could not read ${join(dir, 'blob')} to hash it: the file ends at byte ${data.length}`),
      );
      await expect(worker.hashFile(join(dir, 'missing'), 1)).rejects.toThrow(/missing to hash it: .*ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
