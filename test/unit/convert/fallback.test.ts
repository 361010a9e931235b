// The converter core in-process on OCI layouts, on the layers zstd:chunked cannot carry (docs/format.md):
// each becomes plain lossless zstd with a reason in its report and a warning naming it, the others stay
// zstd:chunked; and the source reads a layer opened are closed by the time that layer is committed.

import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryBudget } from '../../../src/util/memory-budget.js';
import { zstdChunkedFormat } from '../../../src/layers/zstdchunked/format.js';
import { MediaType } from '../../../src/oci/media-types.js';
import { onlyPlatforms } from '../../../src/oci/platform.js';
import type { Manifest } from '../../../src/oci/types.js';
import { CompressPool } from '../../../src/zstd/compress-pool.js';
import type { FixtureLayer } from '../../helpers/fixtures.js';
import {
  convertFixture,
  DESTINATION_NAME,
  leftovers,
  readJson,
  removeRun,
  zstdDiffId,
  type Run,
} from './harness.js';

const pool = new CompressPool(2);
let run: Run | undefined;
const signal = new AbortController().signal;
const TOC_ANNOTATIONS = [
  'containerd.io/snapshot/stargz/toc.digest',
  'io.containers.zstd-chunked.manifest-checksum',
  'io.containers.zstd-chunked.manifest-position',
];

afterEach(async () => {
  if (run !== undefined) await removeRun(run);
  run = undefined;
});
afterAll(() => pool.close());

async function convertChunked(): Promise<{ r: Run; layers: FixtureLayer[]; manifest: Manifest }> {
  const r = await convertFixture({
    fixture: 'chunked',
    layerFormat: zstdChunkedFormat({ pool, budget: new MemoryBudget(Number.POSITIVE_INFINITY) }),
    platforms: onlyPlatforms([{ os: 'linux', architecture: 'amd64' }]),
  });
  run = r;
  if (r.error !== undefined) throw r.error;
  const layers = r.fixture.manifests.find((m) => m.platform.architecture === 'amd64')?.layers ?? [];
  const record = await r.destination.images.get(DESTINATION_NAME, { signal });
  const index = await readJson<{ manifests: { digest: string }[] }>(r, record.target.digest);
  const manifest = await readJson<Manifest>(r, index.manifests[0]?.digest ?? '');
  return { r, layers, manifest };
}

const fallsBack = (l: FixtureLayer): boolean => l.zstdchunked?.format === 'zstd';

describe('convertImage on OCI layouts: zstd:chunked fallback', () => {
  it('writes each layer zstd:chunked cannot carry as plain zstd with its reason, losslessly', async () => {
    const { r, layers, manifest } = await convertChunked();
    expect(layers.filter(fallsBack).length).toBeGreaterThanOrEqual(8);
    expect(manifest.layers.length).toBe(layers.length);
    for (const [i, src] of layers.entries()) {
      const out = manifest.layers[i];
      const report = r.result?.layers.find((l) => l.source === src.digest);
      expect(out?.mediaType).toBe(MediaType.ociLayerZstd);
      expect(report?.result).toBe(out?.digest);
      expect(await zstdDiffId(r, out?.digest ?? '')).toBe(src.diffId);
      const expected = src.zstdchunked;
      if (expected?.format === 'zstd') {
        expect(report?.format).toBe('zstd');
        expect(report?.reason).toContain(expected.reason);
        expect(r.warnings.filter((w) => w.includes(src.digest))).toEqual([
          expect.stringContaining(expected.reason) as string,
        ]);
        for (const key of TOC_ANNOTATIONS) expect(out?.annotations?.[key]).toBeUndefined();
      } else {
        expect(report?.format).toBe('zstd:chunked');
        expect(report?.reason).toBeUndefined();
        for (const key of TOC_ANNOTATIONS) expect(out?.annotations?.[key]).toBeDefined();
      }
    }
    expect(await leftovers(r)).toEqual([]);
  });

  it('has closed the source reads of each layer by the time that layer is committed', async () => {
    const { r, layers } = await convertChunked();
    for (const src of new Map(layers.map((l) => [l.digest, l])).values()) {
      const reads = r.reads.filter((read) => read.digest === src.digest);
      const commits = r.commits.filter((c) => c.source === src.digest);
      expect(commits.length).toBe(1);
      const openAtCommit = commits[0]?.openReads ?? [];
      if (!fallsBack(src)) {
        // One pass, read to its end before the commit.
        expect(reads.map((read) => read.closed)).toEqual(['done']);
        expect(openAtCommit).toEqual([]);
        continue;
      }
      // A fallback reads the blob twice: the zstd:chunked attempt, given up part-way (its iterator returned
      // by stream/decompress.ts sniff()'s replay), then plain zstd, read to its end. Both are closed by the
      // commit: before sniff passed return() on, the abandoned read stayed open until the run ended.
      expect(reads.length).toBe(2);
      expect(reads[1]?.closed).toBe('done');
      expect(openAtCommit).toEqual([]);
    }
  });
});
