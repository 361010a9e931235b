// `image verify` on a generated multi-GB single-layer zstd:chunked image of tens of thousands of files
// (a TOC of many megabytes, and a tar-split to check in step with the tar), and on a layer of empty files
// whose TOC is close to containers/storage's 150 MiB limit: both pass, and peak RSS, read from the kernel
// while the real binary runs, stays under the bound conversion keeps. Verify holds neither the layer nor
// the TOC: a TOC kept as parsed JSON objects, or a metadata frame decoded whole, goes through that bound.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBigImage, buildEmptyFilesImage, peakRss, type BigImage } from '../helpers/big-image.js';
import { startTsconvert, type CliResult } from '../helpers/cli.js';

/** Several GB uncompressed; TSCONVERT_BIG_LAYER_BYTES overrides it for quick local runs. */
const BIG_BYTES = Number(process.env.TSCONVERT_BIG_LAYER_BYTES ?? 3 * 1024 ** 3);
/** The bound conversion keeps with the default --max-memory (docs/benchmarks.md). */
const MAX_PEAK_RSS = 300 * 1000 * 1000;
/** Below this the TOC would not show what holding it costs (the bench's 4.3 GB image has 15.5 MB). */
const MIN_TOC_BYTES = 8 * 1000 * 1000;
/**
 * Empty files for a TOC of over 120 MiB (about 250 bytes of TOC each), under containers/storage's 150 MiB
 * (TSCONVERT_BIG_TOC_FILES overrides it).
 */
const TOC_FILES = Number(process.env.TSCONVERT_BIG_TOC_FILES ?? 560_000);
const MIN_BIG_TOC_BYTES = Number(process.env.TSCONVERT_BIG_TOC_MIN_BYTES ?? 120 * 1024 * 1024);

let big: BigImage;
let many: BigImage;
let work: string;

beforeAll(async () => {
  big = await buildBigImage(BIG_BYTES, 'docker.io/tsconvert-test/big-verify:latest');
  many = await buildEmptyFilesImage(TOC_FILES, 'docker.io/tsconvert-test/big-toc:latest');
  work = await mkdtemp(join(tmpdir(), 'tsc-big-verify-'));
}, 900_000);

afterAll(async () => {
  await big?.cleanup();
  await many?.cleanup();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** Runs the binary, polling its peak RSS (VmHWM) every 100 ms. */
async function measured(args: string[]): Promise<CliResult & { peak: number }> {
  const run = startTsconvert(args);
  let peak = 0;
  const poll = setInterval(() => {
    void peakRss(run.child.pid ?? -1).then((v) => {
      if (v !== undefined) peak = Math.max(peak, v);
    });
  }, 100);
  const r = await run.done.finally(() => clearInterval(poll));
  return { ...r, peak };
}

/** Converts `archive` to zstd:chunked (containers set) into `dir`; the TOC's uncompressed size. */
async function convertChunked(archive: string, dir: string): Promise<number> {
  const convert = await measured([
    'image',
    'convert',
    '--zstdchunked',
    '--zstdchunked-annotations',
    'containers',
    '--oci',
    `oci-archive:${archive}`,
    `oci:${dir}:chunked`,
  ]);
  expect(convert.code, convert.stderr).toBe(0);
  // The TOC's uncompressed size is in the manifest-position annotation.
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string }>;
  };
  const manifestDigest = index.manifests[0]?.digest ?? '';
  const manifest = JSON.parse(
    await readFile(join(dir, 'blobs', 'sha256', manifestDigest.slice(7)), 'utf8'),
  ) as { layers: Array<{ annotations?: Record<string, string> }> };
  const position = manifest.layers[0]?.annotations?.['io.github.containers.zstd-chunked.manifest-position'];
  return Number(position?.split(':')[2]);
}

/** Verifies the converted image in `dir`: it passes, partial for containers/storage, under the bound. */
async function verifiesBounded(dir: string): Promise<void> {
  const verify = await measured(['image', 'verify', `oci:${dir}:chunked`]);
  expect(verify.code, verify.stderr).toBe(0);
  expect(verify.stdout).toContain('verify: OK, 1 layer in 1 platform');
  expect(verify.stdout).toContain('partial: containers/storage 1.57+ (podman 5.4+)');
  expect(verify.peak).toBeGreaterThan(0);
  expect(verify.peak, `verify peak RSS ${Math.round(verify.peak / 1e6)} MB`).toBeLessThan(MAX_PEAK_RSS);
}

describe('image verify with bounded memory', () => {
  it('passes on a multi-GB zstd:chunked layer of tens of thousands of files', async () => {
    const dir = join(work, 'big');
    expect(await convertChunked(big.archive, dir)).toBeGreaterThan(MIN_TOC_BYTES);
    await verifiesBounded(dir);
  }, 1_800_000);

  it("passes on a layer whose TOC is close to containers/storage's 150 MiB limit", async () => {
    const dir = join(work, 'toc');
    const tocBytes = await convertChunked(many.archive, dir);
    expect(tocBytes).toBeGreaterThan(MIN_BIG_TOC_BYTES);
    expect(tocBytes).toBeLessThan(150 * 1024 * 1024);
    await verifiesBounded(dir);
  }, 1_800_000);
});
