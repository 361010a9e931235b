// The converter core in-process on OCI layouts, cancelled in the middle of a layer (as Ctrl-C does through
// the CLI's AbortController): convertImage rejects with CANCELLED, writes no image record and no commit for
// the interrupted layer, and leaves no ingest, scratch file or extraction directory behind.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryBudget } from '../../../src/util/memory-budget.js';
import { zstdChunkedFormat } from '../../../src/layers/zstdchunked/format.js';
import { INGEST_DIR } from '../../../src/oci-layout/paths.js';
import { onlyPlatforms } from '../../../src/oci/platform.js';
import { CompressPool } from '../../../src/zstd/compress-pool.js';
import { ensureFixtures } from '../../helpers/fixtures.js';
import { convertFixture, leftovers, removeRun, type Run } from './harness.js';

const pool = new CompressPool(2);
let run: Run | undefined;
const signal = new AbortController().signal;

afterEach(async () => {
  if (run !== undefined) await removeRun(run);
  run = undefined;
});
afterAll(() => pool.close());

describe('convertImage on OCI layouts: cancellation', () => {
  it('rejects with CANCELLED when aborted mid-layer, and leaves no image, ingest or temp file', async () => {
    const fixture = (await ensureFixtures()).fixtures.multi;
    const amd64 = fixture.manifests.find((m) => m.platform.architecture === 'amd64');
    // The largest layer (several MB in pzstd frames): abort once its first chunk has been handed out.
    const target = (amd64?.layers ?? []).reduce((a, b) => (b.size > a.size ? b : a));
    expect(target.size).toBeGreaterThan(1 << 20);
    const controller = new AbortController();
    let abortedAfter = 0;
    let ingestsAtAbort: string[] = [];
    run = await convertFixture({
      fixture: 'multi',
      layerFormat: zstdChunkedFormat({ pool, budget: new MemoryBudget(Number.POSITIVE_INFINITY) }),
      platforms: onlyPlatforms([{ os: 'linux', architecture: 'amd64' }]),
      controller,
      onChunk: (read, dirs) => {
        if (read.digest !== target.digest || controller.signal.aborted) return;
        abortedAfter = read.chunks;
        ingestsAtAbort = readdirSync(join(dirs.layout, INGEST_DIR));
        controller.abort(new Error('interrupted by the test'));
      },
    });
    expect(abortedAfter).toBe(1);
    // The layer's ingest existed when the abort came, so its removal below is the run's clean-up.
    expect(ingestsAtAbort.length).toBeGreaterThan(0);
    expect(run.error).toMatchObject({ code: 'CANCELLED', message: 'interrupted by the test' });
    expect(run.result).toBeUndefined();
    expect(await run.destination.images.list({ signal })).toEqual([]);
    expect(run.commits.filter((c) => c.source === target.digest)).toEqual([]);
    expect(await leftovers(run)).toEqual([]);
  });
});
