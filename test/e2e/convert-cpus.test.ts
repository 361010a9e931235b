// End to end with Node made to see more CPUs than the machine has (scripts/fake-cpus.mjs, an LD_PRELOAD
// shim): a 16-layer image converted OCI archive → OCI layout stays under the default memory budget at 64
// CPUs and writes the same digests as at 2 CPUs and with --jobs 16; at 16 CPUs more than two compression
// threads run at once (the pool's --debug line says how many were busy together); a budget that holds one
// layer at a time makes the others wait, never fail.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeCpusEnv } from '../../scripts/fake-cpus.js';
import { buildBigImage, buildTextFilesImage, peakRss, type BigImage } from '../helpers/big-image.js';
import { startTsconvert } from '../helpers/cli.js';

/** Sixteen layers of 16 MiB: enough layers to run many at once (and to churn frame slots), small enough for a shared machine. */
const LAYER_BYTES = Number(process.env.TSCONVERT_CPUS_LAYER_BYTES ?? 16 * 1024 * 1024);
const LAYERS = 16;
/** The busy-threads check's layer: eight text files of this size. */
const BUSY_FILE_BYTES = 24 * 1024 * 1024;
/** What the default budget (--max-memory 256M plus estimates' slack) promises: peak RSS under 300 MB. */
const MAX_PEAK_RSS = 300e6;

let image: BigImage;
let work: string;

beforeAll(async () => {
  image = await buildBigImage(LAYER_BYTES, 'docker.io/tsconvert-test/cpus:latest', LAYERS);
  work = await mkdtemp(join(tmpdir(), 'tsc-cpus-'));
}, 900_000);

afterAll(async () => {
  await image?.cleanup();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

interface Run {
  digest: string;
  peakRss: number;
  /** From the pool's --debug line. */
  threads: number;
  peakBusy: number;
}

let runs = 0;
/** Converts the image at `cpus` faked CPUs into a fresh layout, watching the process's peak RSS. */
async function convertAt(cpus: number, extra: string[] = [], from: BigImage = image): Promise<Run> {
  const out = join(work, `out-${(runs += 1)}`);
  const tmp = join(work, `tmp-${runs}`);
  await mkdir(tmp);
  const run = startTsconvert(
    ['--debug', 'image', 'convert', '--zstdchunked', ...extra, `oci-archive:${from.archive}`, `oci:${out}:x`],
    { ...fakeCpusEnv(cpus), TMPDIR: tmp },
  );
  let peak = 0;
  const poll = setInterval(() => {
    void peakRss(run.child.pid ?? -1).then((v) => {
      if (v !== undefined) peak = Math.max(peak, v);
    });
  }, 50);
  const r = await run.done.finally(() => clearInterval(poll));
  expect(r.code, r.stderr).toBe(0);
  const pool = /compression pool: (\d+) threads, at most (\d+) busy at once/.exec(r.stderr);
  expect(pool, r.stderr).not.toBeNull();
  await rm(out, { recursive: true, force: true });
  return { digest: r.stdout.trim(), peakRss: peak, threads: Number(pool?.[1]), peakBusy: Number(pool?.[2]) };
}

describe('the CPU count does not decide memory or output', () => {
  it('stays under the 300 MB of the default budget at 64 CPUs and writes what it writes at 2 CPUs', async () => {
    const at2 = await convertAt(2);
    const at64 = await convertAt(64);
    const at64jobs = await convertAt(64, ['--jobs', '16']);
    // Few layers at once, each with many slots: where dead frame slots piled up (325 MB on a 16-layer image
    // before finished layers' slots were reused).
    const at2jobs2 = await convertAt(2, ['--jobs', '2']);
    expect(at64.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(at64.digest).toBe(at2.digest);
    expect(at64jobs.digest).toBe(at2.digest);
    expect(at2jobs2.digest).toBe(at2.digest);
    for (const r of [at2, at64, at64jobs, at2jobs2]) {
      expect(r.peakRss).toBeGreaterThan(0);
      expect(r.peakRss, `peak RSS ${Math.round(r.peakRss / 1e6)} MB`).toBeLessThan(MAX_PEAK_RSS);
    }
    // The budget, not the CPU count, sized the pool.
    expect(at64.threads).toBeLessThan(64);
  });

  it('waits instead of failing when the budget holds one layer at a time, at --jobs 16', async () => {
    // Sixteen jobs start at once and all but one must wait for memory: none may hold some while waiting
    // for more (that deadlocked an early version of the budget), and none may fail for want of it.
    const small = await convertAt(16, ['--jobs', '16', '--max-memory', '32M']);
    const roomy = await convertAt(2);
    expect(small.threads).toBe(1);
    expect(small.digest).toBe(roomy.digest);
  });

  it('runs more than two compression threads at once at 16 CPUs with default flags', async () => {
    // One layer of large text files, whose frames come faster than one thread compresses them. (On the
    // sixteen layers above, mostly small files, the one thread that scans the tar and fills the frames is
    // the limit: at most two batches are ever in flight there, whatever the pool's size; issue 18's note.)
    const big = await buildTextFilesImage(8, BUSY_FILE_BYTES, 'docker.io/tsconvert-test/cpus-busy:latest');
    try {
      const at16 = await convertAt(16, [], big);
      expect(at16.threads).toBeGreaterThan(2);
      expect(at16.peakBusy).toBeGreaterThan(2);
    } finally {
      await big.cleanup();
    }
  }, 600_000);
});
