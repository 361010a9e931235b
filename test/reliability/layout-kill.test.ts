// SIGKILL into OCI-layout destinations (issue 17, F9): a run killed once it has written temporary data
// leaves it behind (nothing can clean up after SIGKILL); the next run into the same destination removes
// what the dead run left, and succeeds. Real processes, a real ~160 MB image, real kill -9.
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildBigImage, type BigImage } from '../helpers/big-image.js';
import type { CliRun } from '../helpers/cli.js';
import { scenario, skopeo, treeBytes, waitFor, type Scenario } from './layout-env.js';

let big: BigImage;
beforeAll(async () => {
  big = await buildBigImage(160 << 20, 'example.com/big:latest');
}, 300_000);
afterAll(async () => {
  await big?.cleanup();
});

const scenarios: Scenario[] = [];
afterEach(async () => {
  for (const s of scenarios.splice(0)) await s.cleanup();
});

function skopeoDigest(ref: string): string {
  return (JSON.parse(skopeo(['inspect', ref])) as { Digest: string }).Digest;
}

async function killNineWhen(run: CliRun, what: string, probe: () => Promise<boolean>): Promise<void> {
  let ended = false;
  void run.done.then(() => (ended = true));
  await waitFor(what, async () => {
    if (ended) throw new Error(`the run ended before ${what}: ${run.stderr()}`);
    return probe();
  });
  run.child.kill('SIGKILL');
  const r = await run.done;
  expect(r.signal).toBe('SIGKILL');
}

async function tempFilesBeside(dir: string, name: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith(`.${name}.tmp-`));
}

describe('SIGKILL into an OCI destination, then run again (F9)', () => {
  it("oci-archive: the next run removes the dead runs' $TMPDIR directories and temp archive", async () => {
    const s = await scenario();
    scenarios.push(s);
    const out = join(s.dir, 'out');
    await mkdir(out);
    const archive = join(out, 'images.tar');
    const args = [
      'image',
      'convert',
      '--zstd',
      '--oci',
      `oci-archive:${big.archive}`,
      `oci-archive:${archive}:a`,
    ];
    // Killed while the source is being extracted into $TMPDIR.
    await killNineWhen(s.start(args), '32 MB in $TMPDIR', async () => (await treeBytes(s.tmp)) > 32 << 20);
    expect((await readdir(s.tmp)).length).toBeGreaterThan(0);
    // Killed while the archive is being packed beside the target.
    await killNineWhen(s.start(args), 'a temp archive of 1 MB beside the target', async () => {
      const [tmp] = await tempFilesBeside(out, 'images.tar');
      return tmp !== undefined && (await stat(join(out, tmp)).catch(() => ({ size: 0 }))).size > 1 << 20;
    });
    expect(await tempFilesBeside(out, 'images.tar')).toHaveLength(1);
    const r = await s.run(args);
    expect(r.code, r.stderr).toBe(0);
    expect(await readdir(s.tmp)).toEqual([]);
    expect(await readdir(out)).toEqual(['images.tar']);
    expect(skopeoDigest(`oci-archive:${archive}:a`)).toBe(r.stdout.trim());
  });

  it("oci: the next run removes the dead run's ingest", async () => {
    const s = await scenario();
    scenarios.push(s);
    const dst = join(s.dir, 'dst');
    const from = `oci-archive:${big.archive}`;
    const ingests = join(dst, '.tsconvert-ingest');
    await killNineWhen(
      s.start(['image', 'convert', '--zstd', '--oci', from, `oci:${dst}:a`]),
      'an ingest of 4 MB',
      async () => (await treeBytes(ingests)) > 4 << 20,
    );
    expect((await readdir(ingests)).length).toBeGreaterThan(0);
    // Another conversion (another ingest ref), so only the clean-up can remove the dead run's ingest.
    const r = await s.run(['image', 'convert', '--uncompress', '--oci', from, `oci:${dst}:b`]);
    expect(r.code, r.stderr).toBe(0);
    expect(await readdir(dst)).not.toContain('.tsconvert-ingest');
    expect((await readdir(dst)).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect(await readdir(s.tmp)).toEqual([]);
    expect(skopeoDigest(`oci:${dst}:b`)).toBe(r.stdout.trim());
  });
});
