// Faults of where tsconvert writes (issue 17, F3): a destination or $TMPDIR that is full or read-only.
// Each runs the binary against a real small file system (a tmpfs mounted for the test, so this needs root)
// and asserts exit code 1, one line naming the path and the errno, no word of a corrupt source or of pulling
// it again (that advice would destroy a good image), nothing left in $TMPDIR or the destination, and the
// source untouched.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tsconvert, type CliResult } from '../helpers/cli.js';

let base: string;
let source: string;
let sourceSums: Map<string, string>;
const mounts: string[] = [];

/** A fresh tmpfs of `size` (e.g. "64k"), read-only with `ro`; unmounted after the file's tests. */
async function smallFs(name: string, size: string, ro = false): Promise<string> {
  const dir = join(base, name);
  await mkdir(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${ro ? ',ro' : ''}`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out.sort();
}

async function checksums(dir: string): Promise<Map<string, string>> {
  const sums = new Map<string, string>();
  for (const f of await filesUnder(dir)) {
    sums.set(
      relative(dir, f),
      createHash('sha256')
        .update(await readFile(f))
        .digest('hex'),
    );
  }
  return sums;
}

async function tempDir(name: string): Promise<string> {
  const dir = join(base, name);
  await mkdir(dir);
  return dir;
}

/** The one stderr line, after the warning --zstdchunked prints about implying --oci. */
function expectOneErrorLine(r: CliResult, ...mustContain: string[]): string {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  const line = lines[0] ?? '';
  expect(line).toMatch(/^tsconvert: error: /);
  for (const part of mustContain) expect(line).toContain(part);
  expect(line).not.toMatch(/corrupt|damaged|pull (it|the image) again|remove the image/i);
  return line;
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('destination-errors mounts tmpfs file systems: run as root');
  base = await mkdtemp(join(tmpdir(), 'tsc-desterr-'));
  source = await tempDir('source');
  execFileSync('tar', ['-xf', 'examples/sample.tar', '-C', source]);
  sourceSums = await checksums(source);
});

afterAll(async () => {
  for (const m of mounts.splice(0)) execFileSync('umount', [m]);
  if (base !== undefined) await rm(base, { recursive: true, force: true });
});

describe('a destination or $TMPDIR that cannot take the image', () => {
  it('full oci: destination: names it and ENOSPC, says to free space, leaves no ingest and no image', async () => {
    const full = await smallFs('full-dst', '64k');
    const tmp = await tempDir('tmp-1');
    const out = join(full, 'out');
    // One layer at a time, so the destination fills on the first (largest) layer: with layers at once, the
    // 8.6 KB third layer could commit before the first one failed, and a committed blob in a layout is kept
    // on purpose for the next run to reuse (README, Reuse and resume); CI once saw exactly that.
    const r = await tsconvert(
      ['image', 'convert', '--zstd', '--oci', '--jobs', '1', `oci:${source}`, `oci:${out}:z`],
      { TMPDIR: tmp },
    );
    const line = expectOneErrorLine(r, out, 'ENOSPC', 'free space');
    expect(line).not.toContain('TMPDIR');
    expect(await readdir(tmp)).toEqual([]);
    expect(await readdir(join(out, '.tsconvert-ingest')).catch(() => [])).toEqual([]);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: unknown[] };
    expect(index.manifests).toEqual([]);
    expect(await readdir(join(out, 'blobs', 'sha256'))).toEqual([]);
    expect(await checksums(source)).toEqual(sourceSums);
  });

  it('full $TMPDIR (an oci-archive: destination is built there): names it, ENOSPC and TMPDIR', async () => {
    const tmp = await smallFs('full-tmp', '64k');
    const dir = await tempDir('archive-dir');
    const archive = join(dir, 'out.tar');
    const r = await tsconvert(
      ['image', 'convert', '--zstdchunked', `oci:${source}`, `oci-archive:${archive}`],
      {
        TMPDIR: tmp,
      },
    );
    // The warning that --zstdchunked implies --oci comes first; the error is the one line after it.
    const stderr = r.stderr.replace(/^tsconvert: warning: --zstdchunked implies --oci[^\n]*\n/, '');
    expectOneErrorLine({ ...r, stderr }, tmp, 'ENOSPC', 'TMPDIR');
    expect(await readdir(tmp)).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
    expect(await checksums(source)).toEqual(sourceSums);
  });

  it('read-only oci: destination: names the read-only file system, not ENOENT', async () => {
    const ro = await smallFs('ro-dst', '64k', true);
    const tmp = await tempDir('tmp-3');
    const out = join(ro, 'out');
    const r = await tsconvert(['image', 'convert', '--zstd', '--oci', `oci:${source}`, `oci:${out}:z`], {
      TMPDIR: tmp,
    });
    const line = expectOneErrorLine(r, ro, 'EROFS', 'writable destination');
    expect(line).not.toContain('ENOENT');
    expect(await readdir(tmp)).toEqual([]);
    expect(await readdir(ro)).toEqual([]);
    expect(await checksums(source)).toEqual(sourceSums);
  });
});
