// `image verify`'s layer checks on blobs built in-process by tsconvert's own writer, stored in a real OCI
// layout: both annotation sets pass with the reader verdicts format.md promises, plain gzip and zstd
// layers pass, and each layer broken on purpose fails naming the check that caught it.
import { Buffer } from 'node:buffer';
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TocAnnotation } from '../../../src/layers/zstdchunked/format.js';
import { sha256Digest, type Digest } from '../../../src/oci/digest.js';
import type { ContentStore, ReadOptions } from '../../../src/store/content-store.js';
import type { Descriptor } from '../../../src/oci/types.js';
import { TsconvertError } from '../../../src/errors.js';
import { member } from '../zstdchunked/tars.js';
import { randomBytes } from 'node:crypto';
import { zstdDecompressSync } from 'node:zlib';
import { MediaType } from '../../../src/oci/media-types.js';
import { verifyLayer, type LayerVerdict } from '../../../src/verify/verify-layer.js';
import { CompressPool } from '../../../src/zstd/compress-pool.js';
import { sig } from '../../helpers/oci-sample.js';
import {
  annotationsOf,
  encodeChunked,
  gzipOf,
  Layout,
  sampleTar,
  withToc,
  zstdFrame,
  zstdLayer,
  type Chunked,
} from './layers.js';

const pool = new CompressPool(1);
const layout = new Layout();
let chunked: Chunked;
let diffId: string;

beforeAll(async () => {
  chunked = await encodeChunked(pool, sampleTar(), layout.dir);
  diffId = sha256Digest(chunked.tar);
});
afterAll(async () => {
  await pool.close();
  await layout.close();
});

async function verify(
  blob: Uint8Array,
  annotations?: Record<string, string>,
  diff = diffId,
): Promise<LayerVerdict> {
  const desc = await layout.put(blob, zstdLayer, annotations);
  return verifyLayer((await layout.store()).content, desc, 0, diff, sig());
}

const pulls = (v: LayerVerdict): string[] => v.readers.map((r) => `${r.reader}: ${r.pull}`);
const checks = (v: LayerVerdict): string[] => v.failures.map((f) => f.check);

describe('verifyLayer on valid layers', () => {
  it('passes the stargz set: lazy for stargz-snapshotter, partial for containers/storage 1.43', async () => {
    const v = await verify(chunked.blob, annotationsOf(chunked, 'stargz'));
    expect(v.failures).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.format).toBe('zstd:chunked');
    expect(pulls(v)).toEqual([
      'stargz-snapshotter: lazy',
      'containers/storage 1.43 (podman 4.3): partial',
      'containers/storage 1.57+ (podman 5.4+): full',
    ]);
    expect(v.warnings.join(' ')).toContain('1 fifo entry');
    expect(v.warnings.join(' ')).toContain('stops reading the TOC at "a<b>&\\"q\\".txt"');
  });

  it('passes the containers set: partial for containers/storage 1.43 and 1.57+', async () => {
    const v = await verify(chunked.blob, annotationsOf(chunked, 'containers'));
    expect(v.failures).toEqual([]);
    expect(v.ok).toBe(true);
    expect(pulls(v)).toEqual([
      'stargz-snapshotter: full',
      'containers/storage 1.43 (podman 4.3): partial',
      'containers/storage 1.57+ (podman 5.4+): partial',
    ]);
    // The old-prefix keys bring 1.43's TOC parser, and with it the note about the names it stops at.
    expect(v.warnings.join(' ')).toContain('stops reading the TOC at "a<b>&\\"q\\".txt"');
  });

  it('the containers set without its old-prefix keys is a full pull for containers/storage 1.43', async () => {
    const a = annotationsOf(chunked, 'containers');
    delete a[TocAnnotation.legacyChecksum];
    delete a[TocAnnotation.legacyPosition];
    const v = await verify(chunked.blob, a);
    expect(v.ok).toBe(true);
    expect(pulls(v)[1]).toBe('containers/storage 1.43 (podman 4.3): full');
  });

  it('passes plain gzip and zstd layers, pulled in full by every reader', async () => {
    for (const [blob, mt] of [
      [gzipOf(chunked.tar), MediaType.ociLayerGzip],
      [zstdFrame(chunked.tar), MediaType.ociLayerZstd],
    ] as const) {
      const desc = await layout.put(blob, mt);
      const v = await verifyLayer((await layout.store()).content, desc, 0, diffId, sig());
      expect(v.failures).toEqual([]);
      expect(v.ok).toBe(true);
      expect(v.readers.every((r) => r.pull === 'full' && !r.promised)).toBe(true);
    }
  });
});

/** The real store, with `onChunk` run after each chunk a whole-blob read hands out. */
function interrupting(store: ContentStore, onChunk: () => void): ContentStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop !== 'read') {
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      }
      return async function* (digest: Digest, options: ReadOptions): AsyncGenerator<Uint8Array> {
        for await (const chunk of target.read(digest, options)) {
          yield chunk;
          if (options.offset === undefined) onChunk();
        }
      };
    },
  });
}

describe('verifyLayer when the store or the run gives up', () => {
  const big = async (): Promise<Descriptor> => {
    const c = await encodeChunked(
      pool,
      Buffer.concat([member({ name: 'x', data: randomBytes(3 << 20) }), Buffer.alloc(1024)]),
      layout.dir,
    );
    return layout.put(c.blob, zstdLayer, annotationsOf(c, 'stargz'));
  };

  it('rejects with CANCELLED instead of reporting the cut-short read as a broken layer', async () => {
    const desc = await big();
    const ac = new AbortController();
    const store = interrupting((await layout.store()).content, () => ac.abort(new Error('interrupted')));
    await expect(verifyLayer(store, desc, 0, undefined, ac.signal)).rejects.toMatchObject({
      code: 'CANCELLED',
    });
  });

  it("passes a store's own error on (a daemon gone mid-read is not a broken layer)", async () => {
    const desc = await big();
    let failures = 1;
    const store = interrupting((await layout.store()).content, () => {
      if (failures-- > 0) throw new TsconvertError('UNAVAILABLE', 'containerd went away');
    });
    await expect(verifyLayer(store, desc, 0, undefined, sig())).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: 'containerd went away',
    });
  });
});

describe('verifyLayer on layers broken on purpose', () => {
  it('a flipped payload byte fails decompression', async () => {
    const blob = Buffer.from(chunked.blob);
    // The big file's first chunk frame: its TOC offset, plus a few bytes into the compressed block.
    const toc = JSON.parse(
      zstdDecompressSync(
        blob.subarray(chunked.layout.tocOffset, chunked.layout.tocOffset + chunked.layout.tocLength),
      ).toString(),
    ) as { entries: Array<{ name: string; offset?: number }> };
    const offset = toc.entries.find((e) => e.name === 'etc/big.bin')?.offset ?? 0;
    blob[offset + 20] = (blob[offset + 20] ?? 0) ^ 0xff;
    const v = await verify(blob, annotationsOf(chunked, 'stargz'));
    expect(v.ok).toBe(false);
    expect(checks(v)).toContain('decompress');
  });

  it('a TOC entry whose mode differs from the tar-split fails toc-vs-tar-split', async () => {
    const l = chunked.layout;
    const json = zstdDecompressSync(chunked.blob.subarray(l.tocOffset, l.tocOffset + l.tocLength)).toString();
    const changed = json.replace('"name":"etc/one","mode":420', '"name":"etc/one","mode":493');
    expect(changed).not.toBe(json);
    const broken = withToc(chunked, changed);
    const v = await verify(broken.blob, annotationsOf(broken, 'containers'));
    expect(v.failures).toEqual([
      { check: 'toc-vs-tar-split', message: '"etc/one": mode: TOC 493, tar-split 420' },
    ]);
    expect(v.readers[2]).toMatchObject({ pull: 'full', promised: true });
  });

  it('a chunk offset pointing at the wrong frame fails chunk-offset, a wrong chunk digest chunk-digest', async () => {
    const l = chunked.layout;
    const json = zstdDecompressSync(chunked.blob.subarray(l.tocOffset, l.tocOffset + l.tocLength)).toString();
    const doc = JSON.parse(json) as {
      entries: Array<{ type: string; offset?: number; chunkDigest?: string }>;
    };
    const chunks = doc.entries.filter((e) => e.type === 'chunk');
    const [first, second] = chunks;
    if (first === undefined || second === undefined) throw new Error('expected chunk entries');
    const moved = json.replace(`"offset":${second.offset},`, `"offset":${first.offset},`);
    let v = await verify(withToc(chunked, moved).blob, annotationsOf(withToc(chunked, moved), 'stargz'));
    expect(checks(v)).toContain('chunk-offset');
    const wrong = json.replace(
      `"chunkDigest":"${first.chunkDigest}"`,
      `"chunkDigest":"${sha256Digest('x')}"`,
    );
    v = await verify(withToc(chunked, wrong).blob, annotationsOf(withToc(chunked, wrong), 'stargz'));
    expect(checks(v)).toEqual(['chunk-digest']);
  });

  it('a TOC listing a chunk past the end of a file fails chunk-offset and stargz-verifier, and later entries still line up', async () => {
    const l = chunked.layout;
    const json = zstdDecompressSync(chunked.blob.subarray(l.tocOffset, l.tocOffset + l.tocLength)).toString();
    const doc = JSON.parse(json) as { entries: Array<Record<string, unknown>> };
    const big = doc.entries.findIndex((e) => e.name === 'etc/big.bin');
    let last = big;
    while (doc.entries[last + 1]?.type === 'chunk') last++;
    const lastChunk = doc.entries[last] as Record<string, unknown>;
    // One more chunk of 1000 bytes at byte 4000 of a 4000-byte file, at the same frame as the last one.
    doc.entries.splice(last + 1, 0, { ...lastChunk, type: 'chunk', chunkOffset: 4000, chunkSize: 1000 });
    const broken = withToc(chunked, JSON.stringify(doc));
    const v = await verify(broken.blob, annotationsOf(broken, 'stargz'));
    // No toc-entries failure: the extra chunk entry was taken with its file, so later members still match.
    expect(v.failures).toEqual([
      { check: 'chunk-offset', message: 'chunks of "etc/big.bin" cover 5000 of 4000 bytes' },
      {
        check: 'stargz-verifier',
        message: `offset ${String(lastChunk.offset)} found twice (at "etc/big.bin")`,
      },
    ]);
  });

  it('a wrong manifest-checksum fails manifest-checksum', async () => {
    const a = annotationsOf(chunked, 'containers');
    a[TocAnnotation.checksum] = sha256Digest('not the TOC');
    const v = await verify(chunked.blob, a);
    expect(checks(v)).toEqual(['manifest-checksum']);
    expect(v.ok).toBe(false);
  });

  it('a missing tarsplit-position fails tarsplit-position', async () => {
    const a = annotationsOf(chunked, 'containers');
    delete a[TocAnnotation.tarSplitPosition];
    const v = await verify(chunked.blob, a);
    expect(checks(v)).toEqual(['tarsplit-position']);
  });

  it('both annotation families on one layer fail annotation-families', async () => {
    const v = await verify(chunked.blob, {
      ...annotationsOf(chunked, 'stargz'),
      ...annotationsOf(chunked, 'containers'),
    });
    expect(checks(v)).toEqual(['annotation-families']);
    expect(v.readers[2]).toMatchObject({ pull: 'refused' });
  });

  it('a DiffID mismatch fails diffid', async () => {
    const v = await verify(chunked.blob, annotationsOf(chunked, 'stargz'), sha256Digest('other'));
    expect(checks(v)).toContain('diffid');
    expect(v.ok).toBe(false);
  });

  it('a truncated blob fails blob-size', async () => {
    const desc = await layout.put(
      Buffer.concat([chunked.blob, Buffer.from('x')]),
      zstdLayer,
      annotationsOf(chunked, 'stargz'),
    );
    truncateSync(join(layout.dir, 'layout', 'blobs', 'sha256', desc.digest.slice(7)), desc.size - 100);
    const v = await verifyLayer((await layout.store()).content, desc, 0, diffId, sig());
    expect(checks(v)).toEqual(['blob-size']);
    expect(v.failures[0]?.message).toBe(
      `the blob has ${desc.size - 100} bytes, its descriptor says ${desc.size}`,
    );
  });
});
