// Checks the fixture generator with tools nobody here wrote: two runs give the same bytes, every layer
// decompresses with the real zstd/gzip CLIs to the DiffID fixtures.json and the config name, the zstd layers
// have the frame structure they claim (`zstd -lv`), and big-layer.mjs streams a valid, deterministic tar.

import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtures, REPO_ROOT } from '../helpers/fixtures.js';
import type { FixtureLayer, FixtureSet, LoadedFixture } from '../helpers/fixtures.js';

const run = promisify(execFile);
const NODE = join(REPO_ROOT, 'node_modules', '.bin', 'node');
const MAX_BUFFER = 256 << 20;

const sha256 = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

let root = '';
let setA: FixtureSet;
let setB: FixtureSet;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsconvert-fixtures-test-'));
  setA = await ensureFixtures(join(root, 'a'));
  setB = await ensureFixtures(join(root, 'b'));
  for (const f of Object.values(setA.fixtures)) {
    await mkdir(join(root, 'x', f.name), { recursive: true });
    await run('tar', ['-xf', f.archivePath, '-C', join(root, 'x', f.name)]);
  }
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const blobPath = (f: LoadedFixture, digest: string): string =>
  join(root, 'x', f.name, 'blobs', 'sha256', digest.slice('sha256:'.length));

/** The layer's uncompressed bytes, as the zstd / gzip CLIs (or cat) produce them. */
async function decompress(path: string, layer: FixtureLayer): Promise<Buffer> {
  const cmd = { zstd: ['zstd', '-dc'], gzip: ['gzip', '-dc'], none: ['cat'] }[layer.compression];
  const [bin = 'cat', ...args] = cmd;
  const { stdout } = await run(bin, [...args, path], { encoding: 'buffer', maxBuffer: MAX_BUFFER });
  return stdout;
}

async function zstdList(path: string): Promise<{ frames: number; skippable: number; window: string }> {
  const { stdout } = await run('zstd', ['-lv', path], { encoding: 'utf8' });
  const num = (re: RegExp): number => Number(re.exec(stdout)?.[1] ?? 0);
  return {
    frames: num(/# Zstandard Frames: (\d+)/),
    skippable: num(/# Skippable Frames: (\d+)/),
    window: /Window Size: ([^(]+)/.exec(stdout)?.[1]?.trim() ?? '',
  };
}

function allLayers(set: FixtureSet): { f: LoadedFixture; layer: FixtureLayer }[] {
  return Object.values(set.fixtures).flatMap((f) =>
    f.manifests.flatMap((m) => m.layers.filter((l) => l.duplicateOf === null).map((layer) => ({ f, layer }))),
  );
}

describe('fixtures/make.mjs', () => {
  it('writes identical bytes on two runs', async () => {
    const names = (await readdir(setA.dir)).sort();
    expect(names).toEqual((await readdir(setB.dir)).sort());
    expect(names).toEqual([
      'chunked.tar',
      'clients.tar',
      'docker.tar',
      'dup8.tar',
      'fixtures.json',
      'multi.tar',
      'single.tar',
    ]);
    for (const n of names) {
      expect(sha256(await readFile(join(setB.dir, n))), n).toBe(sha256(await readFile(join(setA.dir, n))));
    }
  });

  it('skips the work when the output is up to date', async () => {
    const before = await stat(join(setA.dir, 'multi.tar'));
    const { stderr } = await run(NODE, [join(REPO_ROOT, 'fixtures', 'make.mjs'), '--out', setA.dir]);
    expect(stderr).toContain('up to date');
    expect((await stat(join(setA.dir, 'multi.tar'))).mtimeMs).toBe(before.mtimeMs);
  });

  it('writes OCI layouts whose index.json names the image and the target', async () => {
    for (const f of Object.values(setA.fixtures)) {
      const index = JSON.parse(await readFile(join(root, 'x', f.name, 'index.json'), 'utf8'));
      expect(index.manifests).toHaveLength(1);
      expect(index.manifests[0]).toMatchObject({
        ...f.target,
        annotations: { 'io.containerd.image.name': f.image },
      });
      expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('latest');
      const layout = await readFile(join(root, 'x', f.name, 'oci-layout'), 'utf8');
      expect(JSON.parse(layout)).toEqual({ imageLayoutVersion: '1.0.0' });
    }
  });

  it('records blobs whose digest and size match, and layers whose CLI output hashes to the DiffID', async () => {
    const layers = allLayers(setA);
    expect(new Set(layers.map(({ layer }) => layer.made))).toEqual(
      new Set(['gzip', 'tar', 'zstd', 'pzstd', 'zstd-long', 'zstd-skippable', 'in-toto']),
    );
    for (const { f, layer } of layers) {
      const path = blobPath(f, layer.digest);
      const blob = await readFile(path);
      expect(sha256(blob)).toBe(layer.digest);
      expect(blob.length).toBe(layer.size);
      const tar = await decompress(path, layer);
      expect(sha256(tar), `${f.name} ${layer.made} ${layer.digest}`).toBe(layer.diffId);
      expect(tar.length).toBe(layer.uncompressedSize);
    }
  });

  it("writes configs whose rootfs.diff_ids are the layers' DiffIDs, with history and fields to keep", async () => {
    for (const f of Object.values(setA.fixtures)) {
      for (const m of f.manifests) {
        const config = JSON.parse(await readFile(blobPath(f, m.config.digest), 'utf8'));
        expect(config.rootfs).toEqual({ type: 'layers', diff_ids: m.layers.map((l) => l.diffId) });
        const manifest = JSON.parse(await readFile(blobPath(f, m.digest), 'utf8'));
        expect(manifest.layers.map((l: { digest: string }) => l.digest)).toEqual(
          m.layers.map((l) => l.digest),
        );
        if (m.platform.os === 'unknown') continue;
        expect(config.config.Image).toMatch(/^sha256:/);
        expect(config['x.tsconvert.unknown']).toBeDefined();
        expect(config.history.filter((h: { empty_layer?: boolean }) => !h.empty_layer)).toHaveLength(
          m.layers.length,
        );
      }
    }
  });

  it('makes zstd layers with the frame structure they claim', async () => {
    const zstdLayers = allLayers(setA).filter(({ layer }) => layer.compression === 'zstd');
    for (const { f, layer } of zstdLayers) {
      const list = await zstdList(blobPath(f, layer.digest));
      expect(list.frames, layer.made).toBe(layer.frames?.data);
      expect(list.skippable, layer.made).toBe(layer.frames?.skippable);
      if (layer.made === 'pzstd') expect(list.frames).toBeGreaterThan(1);
      if (layer.made === 'zstd-skippable') expect(list.frames).toBeGreaterThan(1);
      if (layer.made === 'zstd-skippable') expect(list.skippable).toBeGreaterThan(1);
      if (layer.made === 'zstd-long') expect(list.window).toBe('128 MiB');
    }
  });

  it('covers duplicates, the shared layer and the attestation manifest', () => {
    const { multi, docker, dup8 } = setA.fixtures;
    const [amd64, arm64, attestation] = multi.manifests;
    expect(amd64?.duplicates).toEqual([[0, 2]]);
    expect(arm64?.layers[0]?.digest).toBe(amd64?.layers[0]?.digest);
    expect(attestation?.platform).toEqual({ os: 'unknown', architecture: 'unknown' });
    expect(attestation?.annotations).toEqual({
      'vnd.docker.reference.digest': amd64?.digest,
      'vnd.docker.reference.type': 'attestation-manifest',
    });
    expect(attestation?.layers[0]?.mediaType).toBe('application/vnd.in-toto+json');
    expect(docker.target.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(docker.manifests[0]?.duplicates).toHaveLength(1);
    expect(dup8.manifests[0]?.duplicates).toEqual([[0, 1, 2, 3, 4, 5, 6, 7]]);
    expect(dup8.manifests[0]?.layers).toHaveLength(9);
  });
});

describe('zstd:chunked fixture layers', () => {
  /** GNU tar's verbose listing of a layer, with xattrs marked `*` and times to the nanosecond in UTC. */
  async function gnuList(f: LoadedFixture, layer: FixtureLayer): Promise<string[]> {
    const tar = join(root, `${layer.digest.slice(7)}.tar`);
    await writeFile(tar, await decompress(blobPath(f, layer.digest), layer));
    const args = [
      '--xattrs',
      '--xattrs-include=*',
      '--full-time',
      '--utc',
      '--quoting-style=c',
      '-tvvf',
      tar,
    ];
    const { stdout } = await run('tar', args, {
      maxBuffer: MAX_BUFFER,
      env: { ...process.env, LC_ALL: 'C.UTF-8' },
    });
    return stdout.split('\n').filter((l) => l !== '');
  }

  it('states the --zstdchunked path of every layer: zstd:chunked, or zstd and why', () => {
    for (const { f, layer } of allLayers(setA)) {
      if (layer.made === 'in-toto') expect(layer.zstdchunked, f.name).toBeNull();
      else
        expect(layer.zstdchunked, `${f.name} ${layer.digest}`).toMatchObject({ format: expect.any(String) });
    }
    const reasons = setA.fixtures.chunked.manifests[0]?.layers.flatMap((l) =>
      l.zstdchunked?.format === 'zstd' ? [l.zstdchunked.reason] : [],
    );
    expect(reasons).toEqual([
      'global header',
      'two entries',
      'no earlier entry',
      'end-of-archive',
      'sparse',
      'not UTF-8',
      'outside the years',
      'unsupported tar type',
    ]);
  });

  it('is an index for two platforms sharing layers, one layer three times in a manifest, tar/gzip/zstd blobs', () => {
    const { chunked } = setA.fixtures;
    expect(chunked.target.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    const [amd64, arm64] = chunked.manifests;
    expect(amd64?.duplicates).toEqual([[0, 3, 13]]);
    const shared = arm64?.layers.filter((l) => amd64?.layers.some((a) => a.digest === l.digest));
    expect(shared).toHaveLength(arm64?.layers.length ?? -1);
    expect(new Set(amd64?.layers.map((l) => l.compression))).toEqual(new Set(['none', 'gzip', 'zstd']));
  });

  it('covers every member kind, name and header the format must carry, as GNU tar reads them', async () => {
    const f = setA.fixtures.chunked;
    const listing: string[] = [];
    for (const layer of f.manifests[0]?.layers.filter((l) => l.duplicateOf === null) ?? []) {
      if (layer.zstdchunked?.format === 'zstd:chunked') listing.push(...(await gnuList(f, layer)));
    }
    const kinds = new Set(listing.map((l) => l[0]));
    expect([...kinds].sort()).toEqual(['-', 'b', 'c', 'd', 'h', 'l', 'p']);
    const sizes = listing.map((l) => Number(l.split(/\s+/)[2]));
    expect(sizes).toContain(4 * 1024 * 1024);
    expect(sizes.some((s) => s > 3 * 4 * 1024 * 1024)).toBe(true);
    const has = (re: RegExp): number => listing.filter((l) => re.test(l)).length;
    expect(has(/\/\.wh\.removed"$/)).toBe(1);
    expect(has(/\/\.wh\.\.wh\.\.opq"$/)).toBe(1);
    expect(has(/"[^"]{256,}"/), 'names over 255 bytes').toBeGreaterThan(2);
    expect(has(/日本語|café|🐳/u), 'non-ASCII names').toBeGreaterThan(2);
    expect(has(/\\"/), 'a double quote in a name').toBeGreaterThan(0);
    expect(has(/\\\\/), 'a backslash in a name').toBeGreaterThan(0);
    expect(has(/\\n/), 'a newline in a name').toBeGreaterThan(0);
    expect(has(/^.{10}\*/), 'members with xattrs').toBeGreaterThan(3);
    expect(has(/ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ /), 'sub-second times').toBeGreaterThan(2);
    expect(has(/ 0 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+"many\/empty-\d{4}"$/), 'the run of empty files').toBe(
      2000,
    );
  });

  it('has GNU headers with atime/ctime and PAX records with NUL bytes in xattr values', async () => {
    const f = setA.fixtures.chunked;
    const layers = f.manifests[0]?.layers ?? [];
    const raw = async (i: number): Promise<Buffer> =>
      decompress(blobPath(f, layers[i]?.digest ?? ''), layers[i] as FixtureLayer);
    const gnu = await raw(6);
    expect(gnu.subarray(257, 265).toString('latin1')).toBe('ustar  \0');
    expect(gnu[345], 'GNU atime field set').not.toBe(0);
    expect(gnu[357], 'GNU ctime field set').not.toBe(0);
    const pax = await raw(5);
    const records = pax.toString('latin1');
    expect(records).toContain('SCHILY.xattr.user.binary=\0\x01\0\xff\0');
    expect(records).toMatch(/\d+ atime=1704067200\.5\n/);
    expect(records).toMatch(/\d+ ctime=1704067201\.000000001\n/);
  });
});

describe('big-layer', () => {
  async function bigLayer(file: string): Promise<void> {
    const script = join(REPO_ROOT, 'fixtures', 'gen', 'big-layer.mjs');
    const child = spawn(NODE, [script, '--bytes', '50M'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((res) => child.on('close', res));
    await pipeline(child.stdout, createWriteStream(file));
    expect(await exited).toBe(0);
  }

  it('streams a deterministic tar that GNU tar lists', async () => {
    const [a, b] = [join(root, 'big-a.tar'), join(root, 'big-b.tar')];
    await bigLayer(a);
    await bigLayer(b);
    const size = (await stat(a)).size;
    expect(size).toBeGreaterThan(49 << 20);
    expect(size).toBeLessThanOrEqual((50 << 20) + 1024);
    expect(sha256(await readFile(b))).toBe(sha256(await readFile(a)));
    const { stdout } = await run('tar', ['-tvf', a], { maxBuffer: MAX_BUFFER });
    const kinds = new Set(stdout.split('\n').map((l) => l[0]));
    expect([...kinds].filter(Boolean).sort()).toEqual(['-', 'd', 'h', 'l']);
    expect(stdout.split('\n').length).toBeGreaterThan(300);
  });
});
