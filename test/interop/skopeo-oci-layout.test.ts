// Interoperability with skopeo, a reader and writer nobody here wrote: it must accept layouts and archives
// tsconvert writes (inspect + copy to dir:), and tsconvert must read layouts and archives skopeo wrote.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOciLayout, type OciLayoutBackend } from '../../src/oci-layout/index.js';
import type { Manifest } from '../../src/oci/types.js';
import { sig, verifyLayout, writeSampleImage } from '../helpers/oci-sample.js';

const run = promisify(execFile);

async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await run('skopeo', args, { maxBuffer: 16 << 20 });
  return stdout;
}

interface Inspect {
  Digest: string;
  Layers: string[];
}

async function readAll(backend: OciLayoutBackend, digest: `sha256:${string}`): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of backend.content.read(digest, { signal: sig() })) parts.push(c);
  return Buffer.concat(parts);
}

/** Reads an image through tsconvert and checks every blob's bytes against its digest. */
async function readImageBack(backend: OciLayoutBackend, name: string): Promise<Manifest> {
  const record = await backend.images.get(name, { signal: sig() });
  const manifest = JSON.parse((await readAll(backend, record.target.digest)).toString()) as Manifest;
  for (const d of [manifest.config, ...manifest.layers]) {
    const bytes = await readAll(backend, d.digest);
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(d.digest);
  }
  return manifest;
}

describe('skopeo interoperability', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsconvert-skopeo-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('skopeo inspects and copies a layout tsconvert wrote', async () => {
    const dir = join(tmp, 'ours');
    const layout = await openOciLayout({ path: dir, mode: 'write', signal: sig() });
    const target = await writeSampleImage(layout.content, 'ours', 3);
    await layout.images.put({ name: 'v1', labels: {}, target }, { signal: sig() });
    await layout.images.put({ name: 'example.com/app:v2', labels: {}, target }, { signal: sig() });
    await layout.close();
    const manifest = JSON.parse(
      (await readFile(join(dir, 'blobs/sha256', target.digest.slice(7)))).toString(),
    ) as Manifest;

    const inspected = JSON.parse(await skopeo('inspect', `oci:${dir}:v1`)) as Inspect;
    expect(inspected.Digest).toBe(target.digest);
    expect(inspected.Layers).toEqual(manifest.layers.map((l) => l.digest));
    const second = JSON.parse(await skopeo('inspect', `oci:${dir}:example.com/app:v2`)) as Inspect;
    expect(second.Digest).toBe(target.digest);

    const out = join(tmp, 'dir-out');
    await skopeo('copy', `oci:${dir}:v1`, `dir:${out}`);
    const copied = await readdir(out);
    expect(copied).toContain('manifest.json');
    for (const l of manifest.layers) expect(copied).toContain(l.digest.slice(7));
    expect(copied).toContain(manifest.config.digest.slice(7));
    expect(await verifyLayout(dir)).toEqual(['v1', 'example.com/app:v2']);
  });

  it('reads a layout skopeo wrote', async () => {
    const src = join(tmp, 'src');
    const layout = await openOciLayout({ path: src, mode: 'write', signal: sig() });
    const target = await writeSampleImage(layout.content, 'for-skopeo');
    await layout.images.put({ name: 'v1', labels: {}, target }, { signal: sig() });
    await layout.close();

    const theirs = join(tmp, 'theirs');
    await skopeo('copy', `oci:${src}:v1`, `oci:${theirs}:copied`);
    const back = await openOciLayout({ path: theirs, mode: 'read', signal: sig() });
    const manifest = await readImageBack(back, 'copied');
    expect(manifest.layers).toHaveLength(2);
    expect((await back.images.get('', { signal: sig() })).name).toBe('copied');
    await expect(back.content.openWriter({ ref: 'x', signal: sig() })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
    await back.close();
  });

  it('round-trips an archive: written by tsconvert, updated in place, read by skopeo and by tsconvert', async () => {
    const file = join(tmp, 'image.tar');
    const scratch = await mkdtemp(join(tmp, 'scratch-'));
    const dst = await openOciLayout({
      path: file,
      archive: true,
      mode: 'write',
      signal: sig(),
      tempDir: scratch,
    });
    const v1 = await writeSampleImage(dst.content, 'arch-v1');
    await dst.images.put({ name: 'v1', labels: {}, target: v1 }, { signal: sig() });
    await dst.finish({ signal: sig() });
    await dst.close();
    expect(await readdir(scratch)).toEqual([]);

    const again = await openOciLayout({
      path: file,
      archive: true,
      mode: 'write',
      signal: sig(),
      tempDir: scratch,
    });
    const v2 = await writeSampleImage(again.content, 'arch-v2');
    await again.images.put({ name: 'v2', labels: {}, target: v2 }, { signal: sig() });
    await again.finish({ signal: sig() });
    await again.close();
    expect((await readdir(tmp)).filter((n) => n.includes('image.tar'))).toEqual(['image.tar']);

    expect((JSON.parse(await skopeo('inspect', `oci-archive:${file}:v1`)) as Inspect).Digest).toBe(v1.digest);
    expect((JSON.parse(await skopeo('inspect', `oci-archive:${file}:v2`)) as Inspect).Digest).toBe(v2.digest);
    const { stdout: listing } = await run('tar', ['-tf', file]);
    expect(listing.split('\n').filter((n) => n.includes('.tsconvert'))).toEqual([]);
    expect(listing.split('\n').slice(0, 2)).toEqual(['oci-layout', 'index.json']);

    await skopeo('copy', `oci-archive:${file}:v2`, `oci-archive:${join(tmp, 'skopeo.tar')}:from-skopeo`);
    for (const [path, name] of [
      [file, 'v1'],
      [join(tmp, 'skopeo.tar'), 'from-skopeo'],
    ] as const) {
      const src = await openOciLayout({ path, archive: true, mode: 'read', signal: sig(), tempDir: scratch });
      await readImageBack(src, name);
      await src.close();
    }
    expect(await readdir(scratch)).toEqual([]);
  });

  it('leaves no trace of an archive destination that was never finished, or interrupted while packing', async () => {
    const file = join(tmp, 'abandoned.tar');
    const scratch = await mkdtemp(join(tmp, 'scratch-'));
    const dst = await openOciLayout({
      path: file,
      archive: true,
      mode: 'write',
      signal: sig(),
      tempDir: scratch,
    });
    const target = await writeSampleImage(dst.content, 'abandoned', 2, 16 << 20);
    await dst.images.put({ name: 'v1', labels: {}, target }, { signal: sig() });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('interrupted while packing')), 20);
    await expect(dst.finish({ signal: ctl.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
    await dst.close();
    expect((await readdir(tmp)).filter((n) => n.includes('abandoned'))).toEqual([]);
    expect(await readdir(scratch)).toEqual([]);
  });
});
