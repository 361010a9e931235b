// Messages for bad sources (issue 17, F13), through the binary: each names the file or blob that failed and
// gives advice that fits the backend it came from (a layout is copied again; nothing is pulled). Each test
// builds its bad source from the bundled sample image with real tools, then asserts exit code 1, one line,
// nothing left in $TMPDIR or the destination, and the source as it was.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tsconvert } from '../helpers/cli.js';

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
}
interface Manifest {
  config: Desc;
  layers: Desc[];
  [key: string]: unknown;
}
interface Index {
  manifests: Desc[];
  [key: string]: unknown;
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const dirs: string[] = [];

async function tempDir(name: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `tsc-msg-${name}-`));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const blobPath = (layout: string, digest: string): string => join(layout, 'blobs', 'sha256', digest.slice(7));

/** The sample image as an OCI layout directory (extracted with GNU tar). */
async function sampleLayout(): Promise<string> {
  const dir = await tempDir('src');
  execFileSync('tar', ['-xf', 'examples/sample.tar', '-C', dir]);
  return dir;
}

async function readManifest(layout: string): Promise<{ index: Index; manifest: Manifest }> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as Index;
  const entry = index.manifests[0] as Desc;
  const manifest = JSON.parse(await readFile(blobPath(layout, entry.digest), 'utf8')) as Manifest;
  return { index, manifest };
}

/** Stores a changed manifest as a new blob and points index.json's only entry at it. */
async function writeManifest(layout: string, index: Index, manifest: Manifest): Promise<void> {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256(bytes);
  await writeFile(blobPath(layout, digest), bytes);
  const entry = index.manifests[0] as Desc;
  index.manifests[0] = { ...entry, digest, size: bytes.length };
  await writeFile(join(layout, 'index.json'), JSON.stringify(index));
}

/** Runs a conversion into a fresh layout with a fresh TMPDIR; checks the common promises of a failure. */
async function convertFails(args: string[], src: string): Promise<string> {
  const tmp = await tempDir('tmp');
  const out = await tempDir('out');
  const format = args.includes('--uncompress') ? [] : ['--zstd'];
  const r = await tsconvert(['image', 'convert', ...format, '--oci', ...args, `oci:${out}:x`], {
    TMPDIR: tmp,
  });
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(await readdir(tmp)).toEqual([]);
  expect(await readdir(join(out, '.tsconvert-ingest')).catch(() => [])).toEqual([]);
  const index = await readFile(join(out, 'index.json'), 'utf8').catch(() => '{"manifests":[]}');
  expect((JSON.parse(index) as Index).manifests).toEqual([]);
  expect(src).not.toBe('');
  return lines[0] ?? '';
}

describe('messages for bad sources', () => {
  it('a layer whose descriptor gives a wrong size says so, with both sizes, not "hashes to" its own digest', async () => {
    const src = await sampleLayout();
    const { index, manifest } = await readManifest(src);
    const layer = manifest.layers[0] as Desc;
    const real = layer.size;
    layer.size = real + 10;
    await writeManifest(src, index, manifest);
    const line = await convertFails([`oci:${src}`], src);
    expect(line).toContain(`layer ${layer.digest}`);
    expect(line).toContain(`${real} bytes`);
    expect(line).toContain(`${real + 10}`);
    expect(line).not.toContain(`hashes to ${layer.digest}`);
    expect(line).not.toMatch(/pull/);
  });

  it('a damaged layer in a layout source says to copy the layout again, not to pull', async () => {
    const src = await sampleLayout();
    const { manifest } = await readManifest(src);
    const layer = manifest.layers[0] as Desc;
    const path = blobPath(src, layer.digest);
    const bytes = await readFile(path);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0xff;
    await writeFile(path, bytes);
    const line = await convertFails([`oci:${src}`], src);
    expect(line).toContain(layer.digest);
    expect(line).toContain(`OCI layout ${src}`);
    expect(line).toMatch(/copy the image into it again/);
    expect(line).not.toMatch(/pull/);
  });

  it('a config whose DiffID does not match its layer says to rebuild, not to pull', async () => {
    const src = await sampleLayout();
    const { index, manifest } = await readManifest(src);
    const configDesc = manifest.config as Desc;
    const config = JSON.parse(await readFile(blobPath(src, configDesc.digest), 'utf8')) as {
      rootfs: { diff_ids: string[] };
    };
    config.rootfs.diff_ids[0] = `sha256:${'0'.repeat(64)}`;
    const bytes = Buffer.from(JSON.stringify(config));
    const digest = sha256(bytes);
    await writeFile(blobPath(src, digest), bytes);
    manifest.config = { ...configDesc, digest, size: bytes.length };
    await writeManifest(src, index, manifest);
    const line = await convertFails([`oci:${src}`], src);
    expect(line).toContain(`but the image config says sha256:${'0'.repeat(64)}`);
    expect(line).toMatch(/rebuild it$/);
    expect(line).not.toMatch(/pull/);
  });

  it('a truncated zstd layer (whose digest was recomputed) names the layer, not just "Unexpected end of data"', async () => {
    const zsrc = await tempDir('zsrc');
    const tmp = await tempDir('tmp0');
    const made = await tsconvert(
      ['image', 'convert', '--zstd', '--oci', `oci:${await sampleLayout()}`, `oci:${zsrc}:z`],
      {
        TMPDIR: tmp,
      },
    );
    expect(made.code, made.stderr).toBe(0);
    const { index, manifest } = await readManifest(zsrc);
    const layer = manifest.layers[0] as Desc;
    const cut = (await readFile(blobPath(zsrc, layer.digest))).subarray(0, Math.floor(layer.size / 2));
    const digest = sha256(cut);
    await writeFile(blobPath(zsrc, digest), cut);
    manifest.layers[0] = { ...layer, digest, size: cut.length };
    await writeManifest(zsrc, index, manifest);
    const line = await convertFails(['--uncompress', `oci:${zsrc}`], zsrc);
    expect(line).toContain(`layer ${digest}`);
    expect(line).toMatch(/not valid zstd/);
  });

  it('a blob that is a directory names its path and says the layout is damaged', async () => {
    const src = await sampleLayout();
    const { manifest } = await readManifest(src);
    const layer = manifest.layers[0] as Desc;
    const path = blobPath(src, layer.digest);
    await rm(path);
    await mkdir(path);
    const line = await convertFails([`oci:${src}`], src);
    expect(line).toContain(path);
    // Refused before it is opened (only regular files are read, F8), not left to a read's EISDIR.
    expect(line).toContain('is not a regular file (it is a directory)');
    expect(line).toMatch(/is damaged; copy the image into it again/);
  });

  it('an oci-archive: source that is not a tar names the archive', async () => {
    const dir = await tempDir('arch');
    const archive = join(dir, 'not-a.tar');
    await writeFile(archive, Buffer.alloc(4096, 'x'));
    const line = await convertFails([`oci-archive:${archive}`], dir);
    expect(line).toContain(`OCI archive ${archive} is not a valid tar file`);
  });

  it('an oci-archive: source cut after a header names the archive, not just "Unexpected end of data"', async () => {
    const dir = await tempDir('arch');
    const archive = join(dir, 'cut.tar');
    await writeFile(archive, await readFile('examples/sample.tar'));
    // Inside the padding after the first file (oci-layout: header at 0, data at 512, next header at 1024).
    await truncate(archive, 1000);
    const line = await convertFails([`oci-archive:${archive}`], dir);
    expect(line).toContain(`OCI archive ${archive} ends inside an entry: the file is truncated`);
  });
});
