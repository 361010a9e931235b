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
