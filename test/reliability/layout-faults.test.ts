// Fault scenarios of the OCI-layout and oci-archive backend (issue 17): destinations that cannot be
// written, hostile trees inside an existing layout, non-regular files, damaged blobs. Each runs the real
// binary with a private $TMPDIR and checks the exit code, the one error line, and that nothing is left
// behind in $TMPDIR or beside the target, with the source intact.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packArchive } from '../../src/oci-layout/archive.js';
import { expectOneErrorLine, SAMPLE, scenario, type Scenario } from './layout-env.js';

const scenarios: Scenario[] = [];
async function fresh(): Promise<Scenario> {
  const s = await scenario();
  scenarios.push(s);
  return s;
}
afterEach(async () => {
  for (const s of scenarios.splice(0)) await s.cleanup();
});

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('oci-archive destination that cannot be created (F1)', () => {
  it('fails with one line and exit 1, leaving nothing in $TMPDIR', async () => {
    const s = await fresh();
    const ro = await s.readOnlyDir('ro');
    const before = sha256(await readFile(SAMPLE));
    const r = await s.run([
      'image',
      'convert',
      '--zstd',
      '--oci',
      `oci-archive:${SAMPLE}`,
      `oci-archive:${ro}/out.tar`,
    ]);
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

function skopeo(args: string[]): string {
  return execFileSync('skopeo', ['--override-os', 'linux', '--override-arch', 'amd64', ...args], {
    encoding: 'utf8',
  });
}

describe('two runs writing one oci-archive (F4)', () => {
  it('the second waits for the first, and both images are in the archive at the end', async () => {
    const s = await fresh();
    const out = join(s.dir, 'out');
    await mkdir(out);
    const archive = join(out, 'images.tar');
    const runs = ['a', 'b'].map((ref) =>
      s.run([
        'image',
        'convert',
        '--zstd',
        '--oci',
        `oci-archive:${SAMPLE}`,
        `oci-archive:${archive}:${ref}`,
      ]),
    );
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
