// Fault scenarios of the OCI-layout and oci-archive backend (issue 17): destinations that cannot be
// written, hostile trees inside an existing layout, non-regular files, damaged blobs. Each runs the real
// binary with a private $TMPDIR and checks the exit code, the one error line, and that nothing is left
// behind in $TMPDIR or beside the target, with the source intact.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packArchive } from '../../src/oci-layout/archive.js';
import type { CliResult } from '../helpers/cli.js';
import { currentOwner, formatOwner } from '../../src/util/run-owner.js';
import {
  expectOneErrorLine,
  listTree,
  SAMPLE,
  scenario,
  skopeo,
  sleeper,
  startTimeOf,
  waitFor,
  type Scenario,
} from './layout-env.js';

const scenarios: Scenario[] = [];
const later: Array<() => Promise<void>> = [];
async function fresh(): Promise<Scenario> {
  const s = await scenario();
  scenarios.push(s);
  return s;
}
afterEach(async () => {
  for (const s of scenarios.splice(0)) await s.cleanup();
  for (const c of later.splice(0)) await c();
});

/** Arguments converting the sample archive to zstd into `destination`. */
const sampleToZstd = (destination: string): string[] => [
  'image',
  'convert',
  '--zstd',
  '--oci',
  `oci-archive:${SAMPLE}`,
  destination,
];

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('oci-archive destination that cannot be created (F1)', () => {
  it('fails with one line and exit 1, leaving nothing in $TMPDIR', async () => {
    const s = await fresh();
    const ro = await s.readOnlyDir('ro');
    const before = sha256(await readFile(SAMPLE));
    const r = await s.run(sampleToZstd(`oci-archive:${ro}/out.tar`));
    expectOneErrorLine(r, new RegExp(`${ro}/out\\.tar.*(read-only|EROFS)`));
    expect(await readdir(s.tmp)).toEqual([]);
    expect(await readdir(ro)).toEqual([]);
    expect(sha256(await readFile(SAMPLE))).toBe(before);
  });

  it('packing into an unwritable directory rejects instead of waiting for ever', async () => {
    const s = await fresh();
    const ro = await s.readOnlyDir('ro');
    const layout = join(s.dir, 'layout');
    await mkdir(layout);
    execFileSync('tar', ['-xf', SAMPLE, '-C', layout]);
    const packing = packArchive(layout, join(ro, 'out.tar'), new AbortController().signal);
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error('still waiting after 10 s')), 10_000),
    );
    await expect(Promise.race([packing, timeout])).rejects.toThrow(/out\.tar.*(read-only|EROFS)/);
    expect(await readdir(ro)).toEqual([]);
  });
});

describe('two runs writing one oci-archive (F4)', () => {
  it('the second waits for the first, and both images are in the archive at the end', async () => {
    const s = await fresh();
    const out = join(s.dir, 'out');
    await mkdir(out);
    const archive = join(out, 'images.tar');
    const runs = ['a', 'b'].map((ref) => s.run(sampleToZstd(`oci-archive:${archive}:${ref}`)));
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const index = JSON.parse(execFileSync('tar', ['-xOf', archive, 'index.json'], { encoding: 'utf8' })) as {
      manifests: Array<{ annotations?: Record<string, string> }>;
    };
    const refs = index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).sort();
    expect(refs).toEqual(['a', 'b']);
    for (const [i, ref] of ['a', 'b'].entries()) {
      const inspect = JSON.parse(skopeo(['inspect', `oci-archive:${archive}:${ref}`])) as { Digest: string };
      expect(inspect.Digest).toBe(results[i]?.stdout.trim());
    }
    expect(await readdir(out)).toEqual(['images.tar']);
    expect(await readdir(s.tmp)).toEqual([]);
  });
});

/** A layout directory holding the sample image, extracted from the sample archive. */
async function sampleLayout(s: Scenario, name = 'src'): Promise<string> {
  const dir = join(s.dir, name);
  await mkdir(dir);
  execFileSync('tar', ['-xf', SAMPLE, '-C', dir]);
  return dir;
}

/** The largest blob of a layout (the sample's biggest layer). */
async function largestBlob(layout: string): Promise<string> {
  const dir = join(layout, 'blobs', 'sha256');
  const sized = await Promise.all(
    (await readdir(dir)).map(async (n) => ({ n, size: (await stat(join(dir, n))).size })),
  );
  sized.sort((a, b) => b.size - a.size);
  return join(dir, sized[0]?.n ?? '');
}

/** Runs the binary; if it has not ended after `ms`, sends SIGTERM, then SIGKILL, and reports what happened. */
async function runBounded(s: Scenario, args: string[], ms = 15_000): Promise<CliResult & { hung: boolean }> {
  const run = s.start(args);
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    run.child.kill('SIGTERM');
    setTimeout(() => run.child.kill('SIGKILL'), 5000).unref();
  }, ms);
  const r = await run.done;
  clearTimeout(timer);
  return { ...r, hung };
}

describe('a run waiting for an archive another run writes (F4, F8)', () => {
  it('says it waits, and SIGTERM ends the wait with nothing left behind', async () => {
    const s = await fresh();
    const out = join(s.dir, 'out');
    await mkdir(out);
    const holder = sleeper(later);
    const owner = formatOwner({
      ...currentOwner(),
      pid: holder.pid ?? 0,
      start: await startTimeOf(holder.pid ?? 0),
    });
    const lock = join(out, '.images.tar.lock');
    await writeFile(lock, JSON.stringify({ owner }));
    const run = s.start(sampleToZstd(`oci-archive:${out}/images.tar`));
    await waitFor('the waiting message', async () =>
      /being written by another run; waiting/.test(run.stderr()),
    );
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(143);
    expect(await readdir(out)).toEqual(['.images.tar.lock']);
    expect(JSON.parse(await readFile(lock, 'utf8'))).toEqual({ owner });
    expect(await readdir(s.tmp)).toEqual([]);
  });
});

describe('non-regular files in a source layout (F8)', () => {
  it('refuses a FIFO as index.json with one line, without waiting for a writer', async () => {
    const s = await fresh();
    const src = await sampleLayout(s);
    await rm(join(src, 'index.json'));
    execFileSync('mkfifo', [join(src, 'index.json')]);
    const r = await runBounded(s, ['image', 'convert', '--zstd', '--oci', `oci:${src}`, `oci:${s.dir}/dst`]);
    expect(r.hung, 'still running after 15 s').toBe(false);
    expectOneErrorLine(r, new RegExp(`${src}/index\\.json.*not a regular file`));
    expect(await readdir(s.tmp)).toEqual([]);
  });

  it('refuses a FIFO as a layer blob with one line', async () => {
    const s = await fresh();
    const src = await sampleLayout(s);
    const layer = await largestBlob(src);
    await rm(layer);
    execFileSync('mkfifo', [layer]);
    const r = await runBounded(s, ['image', 'convert', '--zstd', '--oci', `oci:${src}`, `oci:${s.dir}/dst`]);
    expect(r.hung, 'still running after 15 s').toBe(false);
    expectOneErrorLine(r, /not a regular file/);
    expect(await readdir(s.tmp)).toEqual([]);
  });

  it('refuses a FIFO as the source archive', async () => {
    const s = await fresh();
    const fifo = join(s.dir, 'in.tar');
    execFileSync('mkfifo', [fifo]);
    const r = await runBounded(s, [
      'image',
      'convert',
      '--zstd',
      '--oci',
      `oci-archive:${fifo}`,
      `oci:${s.dir}/dst`,
    ]);
    expect(r.hung, 'still running after 15 s').toBe(false);
    expectOneErrorLine(r, new RegExp(`${fifo}.*not a regular file`));
    expect(await readdir(s.tmp)).toEqual([]);
  });
});

describe('symbolic links inside an existing oci: destination (F5)', () => {
  const cases: Array<{ link: string; make: (dst: string) => Promise<void> }> = [
    {
      link: 'blobs/sha256',
      make: (dst) => mkdir(join(dst, 'blobs'), { recursive: true }).then(() => undefined),
    },
    { link: 'blobs', make: async () => undefined },
    { link: '.tsconvert-ingest', make: async () => undefined },
  ];
  for (const c of cases) {
    it(`refuses ${c.link} as a symlink to another directory, writing nothing there`, async () => {
      const s = await fresh();
      const src = await sampleLayout(s);
      const dst = join(s.dir, 'dst');
      const elsewhere = join(s.dir, 'elsewhere');
      await mkdir(dst);
      await mkdir(elsewhere);
      await writeFile(join(dst, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
      await writeFile(join(dst, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
      await c.make(dst);
      await symlink(elsewhere, join(dst, c.link));
      const r = await s.run(['image', 'convert', '--zstd', '--oci', `oci:${src}`, `oci:${dst}:x`]);
      expectOneErrorLine(r, new RegExp(`${dst}/${c.link.replace('.', '\\.')}.*symbolic link`));
      expect(await listTree(elsewhere)).toEqual([]);
      expect(await readdir(s.tmp)).toEqual([]);
    });
  }
});

/** Every blob of the layout is a regular file whose bytes hash to its name. */
async function expectSoundBlobs(layout: string): Promise<void> {
  const dir = join(layout, 'blobs', 'sha256');
  for (const name of await readdir(dir)) {
    const st = await lstat(join(dir, name));
    expect(st.isFile(), `${name} is a regular file`).toBe(true);
    expect(sha256(await readFile(join(dir, name))), `blob ${name}`).toBe(name);
  }
}

describe('damaged blobs already in an oci: destination (F10)', () => {
  it('replaces garbage and symlinks under the right digest names, and the image verifies', async () => {
    const s = await fresh();
    const src = await sampleLayout(s);
    const args = ['image', 'convert', '--zstd', '--oci', `oci:${src}`];
    const first = join(s.dir, 'first');
    const r1 = await s.run([...args, `oci:${first}:x`]);
    expect(r1.code, r1.stderr).toBe(0);
    const names = await readdir(join(first, 'blobs', 'sha256'));
    expect(names.length).toBeGreaterThan(2);
    // The same blob names in a new layout, each damaged: 8 bytes of garbage, a link to garbage outside, or
    // zeros of the right size.
    const dst = join(s.dir, 'dst');
    const outside = join(s.dir, 'outside');
    await mkdir(join(dst, 'blobs', 'sha256'), { recursive: true });
    await writeFile(outside, 'garbage!');
    for (const [i, name] of names.entries()) {
      const at = join(dst, 'blobs', 'sha256', name);
      if (i % 3 === 0) await writeFile(at, 'garbage!');
      else if (i % 3 === 1) await symlink(outside, at);
      else await writeFile(at, Buffer.alloc((await stat(join(first, 'blobs', 'sha256', name))).size));
    }
    const r2 = await s.run([...args, `oci:${dst}:x`]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stdout).toBe(r1.stdout);
    await expectSoundBlobs(dst);
    expect(await readFile(outside, 'utf8')).toBe('garbage!');
    skopeo(['copy', `oci:${dst}:x`, `dir:${join(s.dir, 'copy')}`]);
    expect(await readdir(s.tmp)).toEqual([]);
  });
});
