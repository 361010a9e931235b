// The zstd:chunked encoder on real tars: lossless (the zstd CLI decodes the blob back to the input),
// deterministic whatever the pool size, metadata where the footer says, and the fallbacks of
// docs/format.md#fallback-to-plain-zstd.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LayerFallback } from '../../../src/layers/layer-format.js';
import { slotMemory } from '../../../src/layers/zstdchunked/frame-batcher.js';
import { ChunkedEncoder, layerSlotMemory } from '../../../src/layers/zstdchunked/writer.js';
import { DigestWorker } from '../../../src/stream/digest-worker.js';
import { MemoryBudget } from '../../../src/util/memory-budget.js';
import { CompressPool } from '../../../src/zstd/compress-pool.js';
import { scribbling } from '../../helpers/scribbling-source.js';
import { END, member, pax, paxTar } from './tars.js';

const pools = [new CompressPool(1), new CompressPool(3)];
const scratchDir = mkdtempSync(join(tmpdir(), 'writer-test-'));
const scratch = { directory: () => scratchDir };
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  rmSync(scratchDir, { recursive: true, force: true });
});

async function* pieces(buf: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function encode(
  tar: Buffer,
  piece: number | AsyncIterable<Uint8Array> = 777,
  pool = pools[0] as CompressPool,
  chunkSize = 1000,
  metadataInMemory?: number,
  budget = new MemoryBudget(Number.POSITIVE_INFINITY),
  digests?: DigestWorker,
): Promise<{ blob: Buffer; enc: ChunkedEncoder }> {
  const enc = new ChunkedEncoder({
    pool,
    level: 3,
    chunkSize,
    slots: 3,
    scratch,
    metadataInMemory,
    budget,
    digests,
  });
  const out: Uint8Array[] = [];
  const input = typeof piece === 'number' ? pieces(tar, piece) : piece;
  for await (const p of enc.encode(input)) out.push(p.slice());
  return { blob: Buffer.concat(out), enc };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function sampleTar(): Buffer {
  const big = Buffer.concat([randomBytes(2500), Buffer.alloc(1500, 7)]);
  return Buffer.concat([
    member({ name: 'etc/', type: '5', mode: 0o755 }),
    member({ name: 'etc/empty' }),
    member({ name: 'etc/big.bin', data: big }),
    member({ name: 'etc/link', type: '1', linkname: 'etc/big.bin' }),
    member({ name: 'etc/sym', type: '2', linkname: 'big.bin' }),
    member({ name: 'etc/one', data: Buffer.alloc(1000, 1) }),
    paxTar(),
    Buffer.alloc(9216),
  ]);
}

describe('ChunkedEncoder', () => {
  it('decodes with the zstd CLI to the input tar byte for byte, trailing zero blocks included', async () => {
    const tar = sampleTar();
    const { blob, enc } = await encode(tar);
    const back = execFileSync('zstd', ['-dc'], { input: blob });
    expect(sha(back)).toBe(sha(tar));
    expect(enc.uncompressedSize).toBe(tar.length);
  });

  it('writes the same blob from a source that reuses (and scribbles over) each piece once it reads on', async () => {
    // Header frames past 1 MiB, extension headers and padding cut across pieces, files of many chunks,
    // and trailing zero blocks: everything the encoder keeps across a scanner batch.
    const many = Array.from({ length: 2500 }, (_, i) => member({ name: `d/${i}/`, type: '5' }));
    const tar = Buffer.concat([...many, sampleTar().subarray(0, -9216), Buffer.alloc(137 * 512)]);
    const fresh = await encode(tar, 4096);
    for (const sizes of [[1, 2, 700, 511, 513, 65_536, 3], [512], [100_000, 7]]) {
      const reused = await encode(tar, scribbling(tar, sizes));
      expect(sha(reused.blob)).toBe(sha(fresh.blob));
    }
    expect(sha(execFileSync('zstd', ['-dc'], { input: fresh.blob, maxBuffer: 1 << 26 }))).toBe(sha(tar));
  });

  it('puts the TOC where the footer and the layout say, with its digests', async () => {
    const { blob, enc } = await encode(sampleTar());
    const l = enc.layout;
    if (l === undefined) throw new Error('no layout');
    const footer = blob.subarray(blob.length - 40);
    expect(footer.subarray(32).toString('latin1')).toBe('GnUlInUx');
    expect(Number(footer.readBigUInt64LE(0))).toBe(l.tocOffset);
    expect(Number(footer.readBigUInt64LE(8))).toBe(l.tocLength);
    expect(blob.readUInt32LE(l.tocOffset - 8)).toBe(0x184d2a50);
    const tocPayload = blob.subarray(l.tocOffset, l.tocOffset + l.tocLength);
    expect(`sha256:${sha(tocPayload)}`).toBe(l.tocChecksum);
    const toc = execFileSync('zstd', ['-dc'], { input: tocPayload });
    expect(`sha256:${sha(toc)}`).toBe(l.tocDigest);
    const doc = JSON.parse(toc.toString()) as {
      entries: Array<{ type: string; name: string; offset?: number }>;
      tarSplitDigest: string;
    };
    const tarSplit = blob.subarray(l.tarSplitOffset, l.tarSplitOffset + l.tarSplitLength);
    expect(doc.tarSplitDigest).toBe(`sha256:${sha(tarSplit)}`);
    expect(doc.entries.map((e) => e.type)).toEqual([
      'dir',
      'reg',
      'reg',
      'chunk',
      'chunk',
      'chunk',
      'hardlink',
      'symlink',
      'reg',
      'reg',
      'dir',
    ]);
    for (const e of doc.entries.filter((x) => x.offset !== undefined))
      expect(blob[e.offset as number]).toBe(0x28);
  });

  it('writes the same bytes whatever the pool size and input piece sizes', async () => {
    const tar = sampleTar();
    const a = await encode(tar, 777, pools[0]);
    const b = await encode(tar, 4096, pools[1]);
    expect(sha(b.blob)).toBe(sha(a.blob));
  });

  it('writes the same bytes when multi-chunk files are hashed on a digest worker', async () => {
    // Files of 4 and 40 chunks, in pieces that split chunks: their TOC entries wait for both the last
    // chunk and the digest, which the worker may deliver in either order.
    const tar = Buffer.concat([
      member({ name: 'a.bin', data: randomBytes(4000) }),
      member({ name: 'b.bin', data: Buffer.concat([randomBytes(20_000), Buffer.alloc(20_000, 3)]) }),
      member({ name: 'c', data: Buffer.alloc(10, 1) }),
      Buffer.alloc(1024),
    ]);
    const inline = await encode(tar, 4096, pools[1]);
    const digests = new DigestWorker();
    try {
      const offloaded = await encode(tar, 777, pools[1], 1000, undefined, undefined, digests);
      expect(sha(offloaded.blob)).toBe(sha(inline.blob));
    } finally {
      await digests.close();
    }
  });

  it('writes the same bytes in a budget with room for one slot only, and gives all of it back', async () => {
    const tar = Buffer.concat([...manyFiles(3000), member({ name: 'big', data: randomBytes(9000) }), END]);
    const roomy = await encode(tar, 4096, pools[1]);
    const oneSlot = layerSlotMemory(1000);
    // The TOC and tar-split cannot be held in memory either: one slot leaves no room, so they spill.
    const tight = new MemoryBudget(oneSlot);
    const { blob } = await encode(tar, 4096, pools[1], 1000, undefined, tight);
    expect(sha(blob)).toBe(sha(roomy.blob));
    expect(tight.peak).toBe(oneSlot);
    expect(tight.used).toBe(0);
    expect(slotMemory(2 << 20)).toBe(oneSlot);
  });

  /** Encodes with 64 bytes of metadata kept in memory, listing the scratch directory at every output piece. */
  async function encodeSpilling(tar: Buffer, seen: Set<string>): Promise<Buffer> {
    const enc = new ChunkedEncoder({
      pool: pools[0] as CompressPool,
      level: 3,
      chunkSize: 1000,
      slots: 3,
      scratch,
      metadataInMemory: 64,
      budget: new MemoryBudget(Number.POSITIVE_INFINITY),
    });
    const out: Uint8Array[] = [];
    for await (const piece of enc.encode(pieces(tar, 4096))) {
      out.push(piece.slice());
      for (const name of readdirSync(scratchDir)) seen.add(name);
    }
    return Buffer.concat(out);
  }

  const manyFiles = (n: number): Buffer[] =>
    Array.from({ length: n }, (_, i) => member({ name: `dir/file-${i}`, data: Buffer.from(`content ${i}`) }));

  it('writes the same bytes when its metadata outgrows memory, and leaves no file behind', async () => {
    const tar = Buffer.concat([...manyFiles(10_000), END]);
    const inMemory = await encode(tar, 4096);
    const seen = new Set<string>();
    const spilled = await encodeSpilling(tar, seen);
    expect([...seen].sort()).toEqual(['tar-split.zst', 'toc.zst']);
    expect(sha(spilled)).toBe(sha(inMemory.blob));
    const back = execFileSync('zstd', ['-dc'], { input: spilled, maxBuffer: 64 << 20 });
    expect(sha(back)).toBe(sha(tar));
    expect(readdirSync(scratchDir)).toEqual([]);
  });

  it('removes its metadata files when the layer is given up half-way', async () => {
    const tar = Buffer.concat([...manyFiles(10_000), member({ name: 'dir/file-7' }), END]);
    const seen = new Set<string>();
    const err = await encodeSpilling(tar, seen).catch((e: unknown) => e);
    expect((err as LayerFallback).reason).toMatch(/two entries have the path "\/dir\/file-7"/);
    expect([...seen].sort()).toEqual(['tar-split.zst', 'toc.zst']);
    expect(readdirSync(scratchDir)).toEqual([]);
  });

  it('cuts trailing zero blocks into the same frames however the input arrives', async () => {
    const tar = Buffer.concat([
      member({ name: 'a', data: Buffer.from('x') }),
      Buffer.alloc(3 * 1024 * 1024 + 512),
    ]);
    const small = await encode(tar, 777);
    const large = await encode(tar, 100_000);
    expect(sha(large.blob)).toBe(sha(small.blob));
    expect(sha(execFileSync('zstd', ['-dc'], { input: small.blob, maxBuffer: 64 << 20 }))).toBe(sha(tar));
  });

  it.each([
    [
      'a PAX global header',
      Buffer.concat([member({ name: 'g', type: 'g', data: Buffer.from('12 a=bcdefg\n') }), END]),
      /global header/,
    ],
    [
      'two entries with one path',
      Buffer.concat([member({ name: 'a' }), member({ name: './a' }), END]),
      /two entries have the path "\/a"/,
    ],
    [
      'a hardlink to nothing earlier',
      Buffer.concat([member({ name: 'l', type: '1', linkname: 'x' }), member({ name: 'x' }), END]),
      /hardlink "l"/,
    ],
    [
      'data after the end blocks',
      Buffer.concat([member({ name: 'a' }), END, member({ name: 'b' }), END]),
      /data follows the end-of-archive/,
    ],
    ['an unsupported type', Buffer.concat([member({ name: 'v', type: 'V' }), END]), /unsupported tar type/],
    [
      'a non-UTF-8 name',
      Buffer.concat([pax('P', [['path', Buffer.from([0x61, 0xff])]]), member({ name: 'x' }), END]),
      /not UTF-8/,
    ],
  ])('gives up with a reason on %s', async (_what, tar, reason) => {
    const err = await encode(tar).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerFallback);
    expect((err as LayerFallback).reason).toMatch(reason);
  });
});
