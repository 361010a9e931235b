// The converter core in-process on OCI layouts: the platform filter keeps only the requested platforms and
// rewrites the index to list just them, and a layer listed eight times is converted once, gets one result
// descriptor everywhere, and leaves nothing temporary behind (scratch, ingests, extraction directories).

import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryBudget } from '../../../src/util/memory-budget.js';
import { zstdChunkedFormat } from '../../../src/layers/zstdchunked/format.js';
import { zstdFormat } from '../../../src/layers/zstd.js';
import { MediaType } from '../../../src/oci/media-types.js';
import { onlyPlatforms } from '../../../src/oci/platform.js';
import type { Descriptor, Index, Manifest } from '../../../src/oci/types.js';
import { CompressPool } from '../../../src/zstd/compress-pool.js';
import {
  blobDigests,
  convertFixture,
  DESTINATION_NAME,
  leftovers,
  reachable,
  readJson,
  removeRun,
  zstdDiffId,
  type Run,
} from './harness.js';

const pool = new CompressPool(2);
const runs: Run[] = [];
const signal = new AbortController().signal;

afterEach(async () => {
  await Promise.all(runs.splice(0).map(removeRun));
});
afterAll(() => pool.close());

async function run(options: Parameters<typeof convertFixture>[0]): Promise<Run> {
  const r = await convertFixture(options);
  runs.push(r);
  if (r.error !== undefined) throw r.error;
  return r;
}

describe('convertImage on OCI layouts: platform filter', () => {
  it('keeps only the requested platform, rewrites the index to list it alone, and writes nothing else', async () => {
    const arm = { os: 'linux', architecture: 'arm64', variant: 'v8' };
    const r = await run({
      fixture: 'multi',
      layerFormat: zstdFormat(3, { budget: new MemoryBudget(Number.POSITIVE_INFINITY), max: 1 }),
      platforms: onlyPlatforms([arm]),
    });
    const wanted = r.fixture.manifests.find((m) => m.platform.architecture === 'arm64');
    expect(wanted).toBeDefined();
    const others = r.fixture.manifests.filter((m) => m !== wanted);

    const record = await r.destination.images.get(DESTINATION_NAME, { signal });
    expect(record.target.mediaType).toBe(MediaType.ociIndex);
    const index = await readJson<Index>(r, record.target.digest);
    expect(index.manifests.map((m) => m.platform)).toEqual([wanted?.platform]);
    // Attestation manifests (platform unknown/unknown) are counted as one "attestations" entry.
    const droppedNames = others.map((m) =>
      m.annotations['vnd.docker.reference.type'] === 'attestation-manifest'
        ? 'attestations'
        : `${m.platform.os}/${m.platform.architecture}`,
    );
    expect(r.result?.droppedPlatforms.sort()).toEqual(droppedNames.sort());

    const manifest = await readJson<Manifest>(r, (index.manifests[0] as Descriptor).digest);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(wanted?.layers.map(() => MediaType.ociLayerZstd));
    for (const [i, layer] of manifest.layers.entries()) {
      expect(await zstdDiffId(r, layer.digest)).toBe(wanted?.layers[i]?.diffId);
    }
    expect(r.result?.layers.map((l) => l.source)).toEqual(wanted?.layers.map((l) => l.digest));

    // Exactly what the new index reaches is in the layout: no blob of a dropped platform was written.
    expect(await blobDigests(r)).toEqual(await reachable(r, record.target));
    const blobsOf = (m: typeof wanted): string[] =>
      m === undefined ? [] : [m.digest, m.config.digest, ...m.layers.map((l) => l.digest)];
    const kept = blobsOf(wanted);
    const dropped = others.flatMap(blobsOf).filter((d) => !kept.includes(d));
    expect(dropped.length).toBeGreaterThan(0);
    expect(r.reads.filter((read) => dropped.includes(read.digest))).toEqual([]);
    expect(await leftovers(r)).toEqual([]);
  });
});

describe('convertImage on OCI layouts: duplicate layers', () => {
  it('converts a layer listed eight times once, gives every position the same descriptor, leaves nothing behind', async () => {
    const format = zstdChunkedFormat({ pool, budget: new MemoryBudget(Number.POSITIVE_INFINITY) });
    const r = await run({
      fixture: 'dup8',
      layerFormat: format,
      platforms: onlyPlatforms([{ os: 'linux', architecture: 'amd64' }]),
      jobs: 4,
    });
    const source = r.fixture.manifests[0];
    const group = source?.duplicates[0] ?? [];
    expect(group.length).toBe(8);
    const dup = source?.layers[group[0] ?? 0]?.digest ?? '';

    const record = await r.destination.images.get(DESTINATION_NAME, { signal });
    const manifest = await readJson<Manifest>(r, record.target.digest);
    const results = group.map((i) => manifest.layers[i]);
    for (const d of results) expect(d).toEqual(results[0]);
    expect(results[0]?.mediaType).toBe(MediaType.ociLayerZstd);
    expect(results[0]?.digest).not.toBe(dup);

    // One read of the source blob and one commit for it: one conversion shared by all eight positions.
    expect(r.reads.filter((read) => read.digest === dup).length).toBe(1);
    expect(r.commits.filter((c) => c.source === dup).length).toBe(1);
    expect(r.result?.layers.map((l) => [l.source, l.format])).toEqual([
      [dup, 'zstd:chunked'],
      [source?.layers[8]?.digest, 'zstd:chunked'],
    ]);
    expect(r.result?.layers[0]?.result).toBe(results[0]?.digest);
    expect(await zstdDiffId(r, results[0]?.digest ?? '')).toBe(source?.layers[0]?.diffId);

    expect(await blobDigests(r)).toEqual(await reachable(r, record.target));
    expect(await leftovers(r)).toEqual([]);
  });
});
