// Hostile archives: entries that would escape the extraction directory (.., absolute names) or create
// links or devices are refused with a MALFORMED error naming the entry, nothing is written outside, and
// the private temp directory is removed.
import { mkdir, mkdtemp, readdir, readFile, stat, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack as tarPack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOciLayout } from '../../../src/oci-layout/index.js';
import { sig, writeSampleImage } from '../../helpers/oci-sample.js';

type Entry = {
  name: string;
  type?: 'file' | 'symlink' | 'link' | 'directory' | 'fifo';
  linkname?: string;
  body?: string;
};

async function writeTar(file: string, entries: Entry[]): Promise<void> {
  const pack = tarPack();
  for (const e of entries) {
    const { body, ...header } = e;
    if (body === undefined) pack.entry({ ...header, mode: 0o644 });
    else pack.entry({ ...header, mode: 0o644 }, body);
  }
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const chunk of pack) parts.push(chunk as Buffer);
  await writeFile(file, Buffer.concat(parts));
}

const layoutFiles: Entry[] = [
  { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
  { name: 'index.json', body: '{"schemaVersion":2,"manifests":[]}' },
  { name: 'blobs/', type: 'directory' },
];

describe('hostile oci-archive input', () => {
  let tmp: string;
  let scratch: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsconvert-hostile-'));
    scratch = join(tmp, 'scratch');
    await writeFile(join(tmp, 'marker'), '');
    await mkdir(scratch);
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const cases: Array<[string, Entry, RegExp]> = [
    [
      'a ".." entry',
      { name: '../../evil', body: 'x' },
      /"\.\.\/\.\.\/evil" would be written outside the layout/,
    ],
    ['a ".." in the middle', { name: 'blobs/../../evil', body: 'x' }, /outside the layout/],
    ['an absolute name', { name: '/tmp/tsconvert-evil-abs', body: 'x' }, /is an absolute path/],
    ['a symlink', { name: 'blobs/sha256/link', type: 'symlink', linkname: '/etc/passwd' }, /is a symlink/],
    ['a hard link', { name: 'blobs/sha256/hard', type: 'link', linkname: 'oci-layout' }, /is a hard link/],
  ];
  for (const [what, entry, message] of cases) {
    it(`refuses ${what}`, async () => {
      const file = join(tmp, 'hostile.tar');
      await writeTar(file, [...layoutFiles, entry]);
      const opening = openOciLayout({
        path: file,
        archive: true,
        mode: 'read',
        signal: sig(),
        tempDir: scratch,
      });
      await expect(opening).rejects.toMatchObject({
        code: 'MALFORMED',
        message: expect.stringMatching(message),
      });
      expect(await readdir(scratch)).toEqual([]);
      expect((await readdir(tmp)).sort()).toEqual(['hostile.tar', 'marker', 'scratch']);
      await expect(stat('/tmp/tsconvert-evil-abs')).rejects.toMatchObject({ code: 'ENOENT' });
    });
  }

  it('accepts "./"-prefixed names, as GNU tar writes them', async () => {
    const file = join(tmp, 'dotted.tar');
    await writeTar(file, [
      { name: './', type: 'directory' },
      ...layoutFiles.map((e) => ({ ...e, name: `./${e.name}` })),
    ]);
    const layout = await openOciLayout({
      path: file,
      archive: true,
      mode: 'read',
      signal: sig(),
      tempDir: scratch,
    });
    expect(await layout.images.list({ signal: sig() })).toEqual([]);
    await layout.close();
    expect(await readdir(scratch)).toEqual([]);
  });

  it('removes its temp directory when extraction is interrupted', async () => {
    const file = join(tmp, 'big.tar');
    const build = await openOciLayout({
      path: file,
      archive: true,
      mode: 'write',
      signal: sig(),
      tempDir: scratch,
    });
    const target = await writeSampleImage(build.content, 'big', 2, 16 << 20);
    await build.images.put({ name: 'v1', labels: {}, target }, { signal: sig() });
    await build.finish({ signal: sig() });
    await build.close();
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('interrupted while extracting')), 10);
    const opening = openOciLayout({
      path: file,
      archive: true,
      mode: 'read',
      signal: ctl.signal,
      tempDir: scratch,
    });
    await expect(opening).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await readdir(scratch)).toEqual([]);
  });

  it('reports a layout without index.json or with a bad one as MALFORMED', async () => {
    const file = join(tmp, 'bad-index.tar');
    await writeTar(file, [
      layoutFiles[0] as Entry,
      { name: 'index.json', body: '{"schemaVersion":2,"manifests":[{}]}' },
    ]);
    const layout = await openOciLayout({
      path: file,
      archive: true,
      mode: 'read',
      signal: sig(),
      tempDir: scratch,
    });
    await expect(layout.images.list({ signal: sig() })).rejects.toMatchObject({ code: 'MALFORMED' });
    await layout.close();
  });

  // A copy cut short (a full disk, an interrupted download): the tar ends inside an entry. Each must fail
  // at once with one MALFORMED line naming the archive, never wait for bytes that will not come.
  const truncations: Array<[string, (blob: number, size: number) => number]> = [
    ['just after a blob entry header', (blob) => blob + 512 + 300],
    ['inside a blob entry', (blob) => blob + 512 + 40_000],
    ['inside a header block', (blob) => blob + 100],
    ['inside the end-of-archive blocks', (_blob, size) => size - 700],
  ];
  for (const [where, cut] of truncations) {
    it(`fails with one line naming the archive when it ends ${where}`, async () => {
      const file = join(tmp, 'cut.tar');
      const blob = Buffer.alloc(100_000, 7);
      await writeTar(file, [
        ...layoutFiles,
        { name: 'blobs/sha256/', type: 'directory' },
        { name: 'blobs/sha256/aa', body: blob.toString('latin1') },
        { name: 'blobs/sha256/bb', body: 'x' },
      ]);
      const whole = await readFile(file);
      // Where the big entry's header starts: the tar writer puts it after the entries before it.
      const header = whole.indexOf(Buffer.from('blobs/sha256/aa\0'));
      expect(header).toBeGreaterThan(0);
      await writeFile(file, whole.subarray(0, cut(header, whole.length)));
      const opening = openOciLayout({
        path: file,
        archive: true,
        mode: 'read',
        signal: AbortSignal.timeout(20_000),
        tempDir: scratch,
      });
      const err = (await opening.then(
        () => undefined,
        (e: unknown) => e,
      )) as { code?: string; message?: string } | undefined;
      expect(err).toMatchObject({
        code: 'MALFORMED',
        message: `OCI archive ${file} ends inside an entry: the file is truncated`,
      });
      expect(err?.message).not.toContain('\n');
      expect(await readdir(scratch)).toEqual([]);
    });
  }
});
