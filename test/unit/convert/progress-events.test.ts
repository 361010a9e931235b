// The converter core's per-layer progress stream, in-process on OCI layouts: one record per layer of the
// image in its order, each duplicate shared with the record that converts, byte counts that end at the
// source blob's size and the committed blob's size, and kept layers reported as kept.

import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { LayerEvent, LayerProgress, LayerState } from '../../../src/convert/progress.js';
import { zstdChunkedFormat } from '../../../src/layers/zstdchunked/format.js';
import { uncompressFormat } from '../../../src/layers/uncompress.js';
import { onlyPlatforms } from '../../../src/oci/platform.js';
import type { Manifest } from '../../../src/oci/types.js';
import { MemoryBudget } from '../../../src/util/memory-budget.js';
import { CompressPool } from '../../../src/zstd/compress-pool.js';
import { convertFixture, DESTINATION_NAME, readJson, removeRun, type Run } from './harness.js';

const pool = new CompressPool(2);
const runs: Run[] = [];
const signal = new AbortController().signal;
const amd64 = onlyPlatforms([{ os: 'linux', architecture: 'amd64' }]);

afterEach(async () => {
  await Promise.all(runs.splice(0).map(removeRun));
});
afterAll(() => pool.close());

interface Seen {
  plan: readonly LayerProgress[];
  /** Every state each record went through, by position. */
  states: Map<number, LayerState[]>;
  /** Snapshot of the counts when a record reached its final state. */
  final: Map<number, { read: number; written: number }>;
}

function recorder(): { sink: (e: LayerEvent) => void; seen: Seen } {
  const seen: Seen = { plan: [], states: new Map(), final: new Map() };
  const sink = (e: LayerEvent): void => {
    if (e.type === 'plan') {
      seen.plan = e.layers;
      for (const l of e.layers) seen.states.set(l.position, [l.state]);
      return;
    }
    const list = seen.states.get(e.layer.position) ?? [e.previous];
    expect(list.at(-1)).toBe(e.previous);
    list.push(e.layer.state);
    seen.states.set(e.layer.position, list);
    if (e.layer.state !== 'converting')
      seen.final.set(e.layer.position, { read: e.layer.read, written: e.layer.written });
  };
  return { sink, seen };
}

async function run(options: Parameters<typeof convertFixture>[0]): Promise<Run> {
  const r = await convertFixture(options);
  runs.push(r);
  if (r.error !== undefined) throw r.error;
  return r;
}

describe('convertImage progress events', () => {
  it('plans every layer in order, converts a duplicated layer once and marks the other seven shared', async () => {
    const { sink, seen } = recorder();
    const r = await run({
      fixture: 'dup8',
      layerFormat: zstdChunkedFormat({ pool, budget: new MemoryBudget(Number.POSITIVE_INFINITY) }),
      platforms: amd64,
      jobs: 4,
      onLayerEvent: sink,
    });
    const source = r.fixture.manifests[0];
    const layers = source?.layers ?? [];
    expect(seen.plan.map((l) => [l.position, l.digest, l.size])).toEqual(
      layers.map((l, i) => [i + 1, l.digest, l.size]),
    );
    expect(seen.plan.every((l) => l.platform === 'linux/amd64')).toBe(true);

    const record = await r.destination.images.get(DESTINATION_NAME, { signal });
    const manifest = await readJson<Manifest>(r, record.target.digest);
    const group = source?.duplicates[0] ?? [];
    const [first, ...rest] = group;
    expect(rest.length).toBe(7);
    for (const i of [first ?? 0, 8]) {
      expect(seen.states.get(i + 1)).toEqual(['waiting', 'converting', 'done']);
      // Everything of the source was read, and what was written is the committed blob.
      expect(seen.final.get(i + 1)).toEqual({ read: layers[i]?.size, written: manifest.layers[i]?.size });
      expect(seen.plan[i]?.result).toBe(manifest.layers[i]?.digest);
    }
    for (const i of rest) {
      expect(seen.states.get(i + 1)).toEqual(['waiting', 'shared']);
      expect(seen.plan[i]?.sharedWith).toBe((first ?? 0) + 1);
      expect(seen.final.get(i + 1)).toEqual({ read: 0, written: 0 });
    }
  });

  it('reports layers already in the asked format as kept, with the reason', async () => {
    const { sink, seen } = recorder();
    const r = await run({
      fixture: 'multi',
      layerFormat: uncompressFormat(),
      platforms: amd64,
      onLayerEvent: sink,
    });
    const layers = r.fixture.manifests.find((m) => m.platform.architecture === 'amd64')?.layers ?? [];
    expect(seen.plan.length).toBe(layers.length);
    for (const [i, l] of layers.entries()) {
      const states = seen.states.get(i + 1);
      if (l.compression === 'none') {
        expect(states).toEqual(['waiting', 'kept']);
        expect(seen.plan[i]?.reason).toMatch(/uncompressed/);
        expect(seen.plan[i]?.result).toBe(l.digest);
      } else if (l.duplicateOf === null) {
        expect(states).toEqual(['waiting', 'converting', 'done']);
      } else {
        expect(states).toEqual(['waiting', 'shared']);
      }
    }
    expect(layers.some((l) => l.compression === 'none')).toBe(true);
    expect(layers.some((l) => l.compression !== 'none')).toBe(true);
  });
});
