// `tsconvert image verify` as a user runs it: it passes tsconvert's own output of every fixture image in
// both annotation sets, plain gzip and zstd images, and zstd:chunked images written by Debian's skopeo;
// it fails, naming the layer and the check, on images broken on purpose. Layouts are edited the way a
// broken producer would leave them: a changed blob or JSON document, re-pointed from index.json.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TocAnnotation } from '../../src/layers/zstdchunked/format.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { tsconvert } from '../helpers/cli.js';
import { testContainerd } from '../helpers/containerd.js';
import { ctrOk, importedImage } from '../helpers/e2e.js';
import { ensureFixtures, type FixtureName } from '../helpers/fixtures.js';
import { ensureInteropTools, INTEROP_BIN } from '../helpers/interop.js';
import { annotationsOf, withToc } from '../unit/verify/layers.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tsc-verify-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
interface Manifest {
  config: Desc;
  layers: Desc[];
}
interface VerifyJson {
  OK: boolean;
  Platforms: Array<{
    Platform: string;
    Layers: Array<{
      Format: string;
      OK: boolean;
      Readers: Array<{ Reader: string; Pull: string }>;
      Failures: Array<{ Check: string }>;
    }>;
  }>;
}

async function convertTo(src: string, out: string, args: string[]): Promise<void> {
  const r = await tsconvert(['image', 'convert', '--oci', '--all-platforms', ...args, src, `oci:${out}:v`]);
  expect(r.code, r.stderr).toBe(0);
}

async function verifyJson(
  image: string,
  extra: string[] = [],
): Promise<{ code: number | null; json: VerifyJson; stderr: string }> {
  const r = await tsconvert(['image', 'verify', '--all-platforms', '--format', 'json', ...extra, image]);
  return { code: r.code, json: JSON.parse(r.stdout) as VerifyJson, stderr: r.stderr };
}

const blobPath = (dir: string, digest: string): string => join(dir, 'blobs', 'sha256', digest.slice(7));
async function readJson<T>(dir: string, digest: string): Promise<T> {
  return JSON.parse(await readFile(blobPath(dir, digest), 'utf8')) as T;
}
async function putJson(dir: string, value: unknown, mediaType: string): Promise<Desc> {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = sha256Digest(bytes);
  await writeFile(blobPath(dir, digest), bytes);
  return { mediaType, digest, size: bytes.length };
}

/** Edits the single-platform image `oci:dir:v`: `edit` changes its manifest (and may write blobs). */
async function editImage(dir: string, edit: (m: Manifest) => Promise<void>): Promise<void> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Desc[] };
  const top = index.manifests[0] as Desc;
  const manifest = await readJson<Manifest>(dir, top.digest);
  await edit(manifest);
  index.manifests[0] = { ...top, ...(await putJson(dir, manifest, top.mediaType)) };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}

const FIXTURES: FixtureName[] = ['multi', 'docker', 'dup8', 'single', 'chunked'];

describe('image verify passes', () => {
  for (const set of ['stargz', 'containers'] as const) {
    it(`tsconvert's zstd:chunked output of every fixture image, ${set} annotations`, async () => {
      const fixtures = (await ensureFixtures()).fixtures;
      for (const name of FIXTURES) {
        const out = await tempDir();
        await convertTo(`oci-archive:${fixtures[name].archivePath}`, out, [
          '--zstdchunked',
          '--zstdchunked-annotations',
          set,
        ]);
        const r = await verifyJson(`oci:${out}:v`);
        expect(r.code, `${name}: ${r.stderr}`).toBe(0);
        expect(r.json.OK).toBe(true);
        const layers = r.json.Platforms.flatMap((p) => p.Layers);
        expect(
          layers.some((l) => l.Format === 'zstd:chunked'),
          name,
        ).toBe(true);
        const promised = set === 'stargz' ? 'stargz-snapshotter' : 'containers/storage 1.57+ (podman 5.4+)';
        for (const l of layers.filter((x) => x.Format === 'zstd:chunked'))
          expect(l.Readers.find((x) => x.Reader === promised)?.Pull, name).toMatch(/lazy|partial/);
      }
    });
  }

  it('plain gzip and zstd images in containerd, and the zstd:chunked result with its content labels', async () => {
    const img = await importedImage('multi');
    let r = await img.run(['image', 'verify', '--all-platforms', img.name]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ gzip /);
    expect(r.stdout).toMatch(/verify: OK, \d+ layers in \d+ platforms/);
    r = await img.run(['image', 'convert', '--zstd', '--all-platforms', img.name, 'verify/zstd:v']);
    expect(r.code, r.stderr).toBe(0);
    r = await img.run(['image', 'verify', '--all-platforms', 'verify/zstd:v']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ zstd [\d.]+ \w+: full: stargz-snapshotter/);
    r = await img.run(['image', 'convert', '--zstdchunked', '--all-platforms', img.name, 'verify/chunked:v']);
    expect(r.code, r.stderr).toBe(0);
    r = await img.run(['image', 'verify', '--platform', 'linux/arm64', 'verify/chunked:v']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ok {3}linux\/arm64.* zstd:chunked .*lazy: stargz-snapshotter/);
    expect(r.stdout).not.toMatch(/linux\/amd64/);
    // The content label containerd keeps the DiffID in is checked too.
    const layer = /layer 0 ([0-9a-f]{12}) /.exec(r.stdout)?.[1] ?? '';
    const full = (await ctrOk(['content', 'ls', '-q'], img.namespace))
      .split('\n')
      .find((d) => d.startsWith(`sha256:${layer}`));
    await ctrOk(
      ['content', 'label', full ?? '', `containerd.io/uncompressed=${sha256Digest('wrong')}`],
      img.namespace,
    );
    r = await img.run(['image', 'verify', '--platform', 'linux/arm64', 'verify/chunked:v']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('check uncompressed-label failed');
  });

  it("nerdctl's converter output (stargz-snapshotter 0.12): lazy for stargz-snapshotter", async () => {
    await ensureInteropTools();
    const img = await importedImage('single');
    const { address } = testContainerd();
    execFileSync(join(INTEROP_BIN, 'reference-convert'), [
      '--address',
      address,
      '--namespace',
      img.namespace,
      img.name,
      'docker.io/verify/nerdctl:v',
    ]);
    const r = await img.run(['image', 'verify', '--format', 'json', '--all-platforms', 'verify/nerdctl:v']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as VerifyJson;
    for (const l of json.Platforms.flatMap((p) => p.Layers)) {
      expect(l.Format).toBe('zstd:chunked');
      expect(l.Readers.map((x) => x.Pull)).toEqual(['lazy', 'partial', 'full']);
    }
  });

  it("Debian skopeo's zstd:chunked: partial for containers/storage 1.43, full for 1.57+", async () => {
    const fixtures = (await ensureFixtures()).fixtures;
    const src = await tempDir();
    execFileSync('tar', ['-xf', fixtures.single.archivePath, '-C', src]);
    const out = await tempDir();
    const ref = JSON.parse(await readFile(join(src, 'index.json'), 'utf8')) as { manifests: Desc[] };
    const tag = ref.manifests[0]?.annotations?.['org.opencontainers.image.ref.name'] ?? '';
    execFileSync(
      'skopeo',
      ['copy', '--dest-compress-format', 'zstd:chunked', `oci:${src}:${tag}`, `oci:${out}:v`],
      {
        stdio: 'ignore',
      },
    );
    const r = await verifyJson(`oci:${out}:v`);
    expect(r.code, r.stderr).toBe(0);
    for (const l of r.json.Platforms.flatMap((p) => p.Layers)) {
      expect(l.Format).toBe('zstd:chunked');
      expect(l.Readers.map((x) => x.Pull)).toEqual(['full', 'partial', 'full']);
    }
  });
});

describe('image verify fails, naming the layer and the check', () => {
  async function chunkedLayout(set: 'stargz' | 'containers'): Promise<string> {
    const out = await tempDir();
    await convertTo('oci-archive:examples/sample.tar', out, [
      '--zstdchunked',
      '--zstdchunked-annotations',
      set,
    ]);
    return out;
  }

  async function expectFailure(dir: string, check: string, layer = 0): Promise<void> {
    const r = await tsconvert(['image', 'verify', '--all-platforms', `oci:${dir}:v`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`FAIL linux/amd64 layer ${layer} `));
    expect(r.stdout).toContain(`check ${check} failed`);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^tsconvert: error: image verify: oci:.*: linux/amd64 layer ${layer} sha256:[0-9a-f]{64}: check ${check} failed`,
      ),
    );
  }

  it('a flipped payload byte', async () => {
    const dir = await chunkedLayout('stargz');
    await editImage(dir, async (m) => {
      const layer = m.layers[0] as Desc;
      const bytes = await readFile(blobPath(dir, layer.digest));
      bytes[200] = (bytes[200] ?? 0) ^ 0x01;
      layer.digest = sha256Digest(bytes);
      await writeFile(blobPath(dir, layer.digest), bytes);
    });
    await expectFailure(dir, 'decompress');
  });

  it('a TOC entry whose mode differs from the tar-split', async () => {
    const dir = await chunkedLayout('containers');
    await editImage(dir, async (m) => {
      const layer = m.layers[0] as Desc;
      const blob = await readFile(blobPath(dir, layer.digest));
      const a = layer.annotations!;
      const [tocOffset, tocLength, tocSize] = (a[TocAnnotation.position] ?? '').split(':').map(Number);
      const [tsOffset, tsLength, tsSize] = (a[TocAnnotation.tarSplitPosition] ?? '').split(':').map(Number);
      const unzstd = (b: Buffer): Buffer => execFileSync('zstd', ['-dc'], { input: b });
      const layout = {
        tocOffset: tocOffset ?? 0,
        tocLength: tocLength ?? 0,
        tocUncompressedLength: tocSize ?? 0,
        tocDigest: '',
        tocChecksum: a[TocAnnotation.checksum] ?? '',
        tarSplitOffset: tsOffset ?? 0,
        tarSplitLength: tsLength ?? 0,
        tarSplitUncompressedLength: tsSize ?? 0,
      };
      const toc = JSON.parse(
        unzstd(blob.subarray(layout.tocOffset, layout.tocOffset + layout.tocLength)).toString(),
      ) as {
        entries: Array<{ type: string; mode?: number }>;
      };
      const entry = toc.entries.find((e) => e.type === 'reg');
      if (entry === undefined) throw new Error('no regular file in layer 0');
      entry.mode = (entry.mode ?? 0) ^ 0o100;
      const broken = withToc({ blob, layout, tar: unzstd(blob) }, JSON.stringify(toc));
      layer.digest = sha256Digest(broken.blob);
      layer.size = broken.blob.length;
      layer.annotations = annotationsOf(broken, 'containers');
      await writeFile(blobPath(dir, layer.digest), broken.blob);
    });
    await expectFailure(dir, 'toc-vs-tar-split');
  });

  it('a wrong manifest-checksum', async () => {
    const dir = await chunkedLayout('containers');
    await editImage(dir, async (m) => {
      (m.layers[1] as Desc).annotations![TocAnnotation.checksum] = sha256Digest('x');
    });
    await expectFailure(dir, 'manifest-checksum', 1);
  });

  it('a missing tarsplit-position', async () => {
    const dir = await chunkedLayout('containers');
    await editImage(dir, async (m) => {
      delete (m.layers[2] as Desc).annotations![TocAnnotation.tarSplitPosition];
    });
    await expectFailure(dir, 'tarsplit-position', 2);
  });

  it('both annotation families on one layer', async () => {
    const dir = await chunkedLayout('containers');
    await editImage(dir, async (m) => {
      const a = (m.layers[0] as Desc).annotations!;
      a[TocAnnotation.stargzTocDigest] = sha256Digest('any');
    });
    await expectFailure(dir, 'annotation-families');
  });

  it('a DiffID mismatch', async () => {
    const dir = await chunkedLayout('stargz');
    await editImage(dir, async (m) => {
      const config = await readJson<{ rootfs: { diff_ids: string[] } }>(dir, m.config.digest);
      config.rootfs.diff_ids[2] = sha256Digest('other');
      m.config = await putJson(dir, config, m.config.mediaType);
    });
    await expectFailure(dir, 'diffid', 2);
  });

  it('a truncated blob', async () => {
    const dir = await chunkedLayout('stargz');
    const m = await readJson<Manifest>(
      dir,
      (JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Desc[] }).manifests[0]!
        .digest,
    );
    await truncate(blobPath(dir, (m.layers[2] as Desc).digest), 1000);
    await expectFailure(dir, 'blob-size', 2);
  });
});

describe('image convert --verify', () => {
  it('records a result that passes, and nothing when the result fails a check', async () => {
    const out = await tempDir();
    let r = await tsconvert([
      'image',
      'convert',
      '--zstdchunked',
      '--oci',
      '--verify',
      'oci-archive:examples/sample.tar',
      `oci:${out}:v`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    r = await tsconvert(['image', 'verify', `oci:${out}:v`]);
    expect(r.code, r.stderr).toBe(0);
    // A source whose layer carries both annotation families: copied as it is, so the result fails.
    await editImage(out, async (m) => {
      (m.layers[0] as Desc).annotations![TocAnnotation.checksum] = sha256Digest('x');
    });
    const dst = await tempDir();
    r = await tsconvert([
      'image',
      'convert',
      '--oci',
      '--verify',
      `oci:${out}:v`,
      `oci-archive:${join(dst, 'a.tar')}:w`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^tsconvert: error: image convert --verify: the result failed, no image recorded: oci-archive:.*: linux\/amd64 layer 0 sha256:[0-9a-f]{64}: check annotation-families failed/,
    );
    expect(await readdir(dst)).toEqual([]);
    // Without --verify the same conversion is recorded.
    r = await tsconvert(['image', 'convert', '--oci', `oci:${out}:v`, `oci-archive:${join(dst, 'a.tar')}:w`]);
    expect(r.code, r.stderr).toBe(0);
    expect(await readdir(dst)).toEqual(['a.tar']);
  });
});
