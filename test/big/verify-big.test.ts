// `image verify` on a generated multi-GB single-layer zstd:chunked image of tens of thousands of files
// (a TOC of many megabytes, and a tar-split to check in step with the tar): it passes, and its peak RSS,
// read from the kernel while the real binary runs, stays under the bound conversion keeps. Verify holds
// neither the layer nor the TOC: a TOC kept as parsed JSON objects, or a metadata frame decoded whole,
// goes through that bound on an image this size.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBigImage, peakRss, type BigImage } from '../helpers/big-image.js';
import { startTsconvert, type CliResult } from '../helpers/cli.js';

/** Several GB uncompressed; TSCONVERT_BIG_LAYER_BYTES overrides it for quick local runs. */
const BIG_BYTES = Number(process.env.TSCONVERT_BIG_LAYER_BYTES ?? 3 * 1024 ** 3);
/** The bound conversion keeps with the default --max-memory (docs/benchmarks.md). */
const MAX_PEAK_RSS = 300 * 1000 * 1000;
/** Below this the TOC would not show what holding it costs (the bench's 4.3 GB image has 15.5 MB). */
const MIN_TOC_BYTES = 8 * 1000 * 1000;

let big: BigImage;
let work: string;

beforeAll(async () => {
  big = await buildBigImage(BIG_BYTES, 'docker.io/tsconvert-test/big-verify:latest');
  work = await mkdtemp(join(tmpdir(), 'tsc-big-verify-'));
}, 900_000);

afterAll(async () => {
  await big?.cleanup();
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

describe('image verify on a multi-GB zstd:chunked layer', () => {
  it('passes with bounded memory', async () => {
    const dest = `oci:${join(work, 'layout')}:chunked`;
    const convert = await measured([
      'image',
      'convert',
      '--zstdchunked',
      '--zstdchunked-annotations',
      'containers',
      '--oci',
      `oci-archive:${big.archive}`,
      dest,
    ]);
    expect(convert.code, convert.stderr).toBe(0);

    // The TOC is as large as the test says: its uncompressed size is in the manifest-position annotation.
    const index = JSON.parse(await readFile(join(work, 'layout', 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string }>;
    };
    const manifestDigest = index.manifests[0]?.digest ?? '';
    const manifest = JSON.parse(
      await readFile(join(work, 'layout', 'blobs', 'sha256', manifestDigest.slice(7)), 'utf8'),
    ) as { layers: Array<{ annotations?: Record<string, string> }> };
    const position = manifest.layers[0]?.annotations?.['io.github.containers.zstd-chunked.manifest-position'];
    const tocBytes = Number(position?.split(':')[2]);
    expect(tocBytes, `manifest-position ${position}`).toBeGreaterThan(MIN_TOC_BYTES);

    const verify = await measured(['image', 'verify', dest]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toContain('verify: OK, 1 layer in 1 platform');
    expect(verify.stdout).toContain('partial: containers/storage 1.57+ (podman 5.4+)');
    expect(verify.peak).toBeGreaterThan(0);
    expect(verify.peak, `verify peak RSS ${Math.round(verify.peak / 1e6)} MB`).toBeLessThan(MAX_PEAK_RSS);
  }, 1_800_000);
});
