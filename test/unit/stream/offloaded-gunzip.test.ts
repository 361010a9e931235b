// gzip decoded on the digest thread (src/stream/offloaded-gunzip.ts), against node:zlib and node:crypto on
// this thread: the same tar, source digest and DiffID whatever the piece sizes of a source that reuses its
// memory; a damaged source reported as a mismatch before the gzip error it also causes; bad gzip, a read
// error, an abort and a worker that goes away each end the pass with their own error; a consumer that stops
// early ends the source, and the thread takes the next job.
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ContentMismatch, InvalidDataError, type BlobFacts } from '../../../src/errors.js';
import { DigestWorker } from '../../../src/stream/digest-worker.js';
import { GUNZIP_RING_BYTES } from '../../../src/stream/offloaded-gunzip.js';
import { scribbling } from '../../helpers/scribbling-source.js';

const sha256 = (b: Uint8Array): `sha256:${string}` =>
  `sha256:${createHash('sha256').update(b).digest('hex')}`;
const facts = (b: Uint8Array): BlobFacts => ({ digest: sha256(b), size: b.length });
const signal = (): AbortSignal => new AbortController().signal;

/** The tar, copied piece by piece: a piece is valid only until the next is asked for. */
async function collect(tar: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const piece of tar) parts.push(Buffer.from(piece));
  return Buffer.concat(parts);
}

// Text that compresses well (the output ring fills faster than the input one) and bytes that do not.
const tar = Buffer.concat([
  Buffer.from('usr/share/doc/something/copyright '.repeat(200_000)),
  randomBytes(3 * GUNZIP_RING_BYTES + 12_345),
]);
const gz = gzipSync(tar);

describe('gunzip on the digest thread', () => {
  let worker: DigestWorker | undefined;
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
  });

  it('gives the tar, its DiffID and the source digest, for source pieces of any size', async () => {
    worker = new DigestWorker();
    for (const sizes of [[1, 7, 70_000, 3], [GUNZIP_RING_BYTES + 5], [65_536]]) {
      const pass = worker.gunzip(scribbling(gz, sizes), facts(gz), signal());
      expect((await collect(pass.tar())).equals(tar)).toBe(true);
      expect(await pass.source.finish()).toBe(sha256(gz));
      expect(pass.source.size).toBe(gz.length);
      expect(await pass.diff.finish()).toBe(sha256(tar));
      expect(pass.diff.size).toBe(tar.length);
    }
  });

  it('reports a source cut short as a mismatch with its descriptor, not as bad gzip', async () => {
    worker = new DigestWorker();
    const cut = gz.subarray(0, gz.length - 1000);
    const pass = worker.gunzip(scribbling(cut, [100_000]), facts(gz), signal());
    const err: unknown = await collect(pass.tar()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContentMismatch);
    expect((err as ContentMismatch).actual).toEqual(facts(cut));
  });

  it('fails with an InvalidDataError on bytes that are not gzip past the header', async () => {
    worker = new DigestWorker();
    const bad = Buffer.concat([gz.subarray(0, 20), randomBytes(50_000)]);
    const pass = worker.gunzip(scribbling(bad, [4096]), facts(bad), signal());
    const err: unknown = await collect(pass.tar()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidDataError);
    expect(String(err)).toMatch(/not valid gzip/);
    await expect(pass.diff.finish()).rejects.toBe(err);
  });

  it('passes a read error of the source on as it is', async () => {
    worker = new DigestWorker();
    const broken = new Error('disk on fire');
    async function* source(): AsyncGenerator<Uint8Array> {
      yield gz.subarray(0, 300_000);
      throw broken;
    }
    const pass = worker.gunzip(source(), facts(gz), signal());
    await expect(collect(pass.tar())).rejects.toBe(broken);
  });

  it('ends the source when the consumer stops early, and takes the next job', async () => {
    worker = new DigestWorker();
    let ended = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        yield* scribbling(gz, [50_000]);
      } finally {
        ended = true;
      }
    }
    const pass = worker.gunzip(source(), facts(gz), signal());
    for await (const piece of pass.tar()) if (piece.length > 0) break;
    await expect.poll(() => ended).toBe(true);
    const next = worker.gunzip(scribbling(gz, [1 << 20]), facts(gz), signal());
    expect((await collect(next.tar())).equals(tar)).toBe(true);
  });

  it('lets go of a pass dropped before its tar was read: the source is ended, the thread takes the next job', async () => {
    worker = new DigestWorker();
    let ended = false;
    let pulled = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        pulled++;
        yield gz;
      } finally {
        ended = true;
      }
    }
    const it = source();
    await it.next(); // started, as sniff() leaves it: holding an open file
    const pass = worker.gunzip(it, facts(gz), signal());
    pass.source.drop?.();
    await expect.poll(() => ended).toBe(true);
    expect(pulled).toBe(1);
    await expect(pass.diff.finish()).rejects.toMatchObject({ code: 'CANCELLED' });
    const next = worker.gunzip(scribbling(gz, [1 << 20]), facts(gz), signal());
    expect((await collect(next.tar())).equals(tar)).toBe(true);
  });

  it('ends a pass waiting for input with the abort reason, and one on a closed worker with an error', async () => {
    worker = new DigestWorker();
    const stop = new AbortController();
    let release: () => void = () => {};
    async function* stalled(): AsyncGenerator<Uint8Array> {
      yield gz.subarray(0, 1000);
      await new Promise<void>((resolve) => (release = resolve));
    }
    const pass = worker.gunzip(stalled(), facts(gz), stop.signal);
    const reading = expect(collect(pass.tar())).rejects.toMatchObject({
      code: 'CANCELLED',
      message: 'user pressed ^C',
    });
    stop.abort(new Error('user pressed ^C'));
    await reading;
    release();

    const other = worker.gunzip(stalled(), facts(gz), signal());
    const waiting = expect(collect(other.tar())).rejects.toMatchObject({ code: 'CANCELLED' });
    await worker.close();
    await waiting;
    release();
  });
});
