// End to end without and across daemons: OCI archives and layouts as sources and destinations, checked by
// tools nobody here wrote (skopeo, ctr images import / check, the zstd CLI).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeCpusEnv } from '../../scripts/fake-cpus.js';
import { tsconvert } from '../helpers/cli.js';
import { testContainerd } from '../helpers/containerd.js';
import { blob, ctrOk, expectComplete, importedImage, json } from '../helpers/e2e.js';
import { ensureFixtures } from '../helpers/fixtures.js';
import { checkZstdChunked, ensureInteropTools, verifyWithSharedTools } from '../helpers/interop.js';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tsc-layout-'));
  dirs.push(d);
  return d;
}

/** The sample image copied into a fresh layout, with the path of its first layer's blob. */
async function sampleLayout(): Promise<{ src: string; layer: string; layerPath: string }> {
  const src = await tempDir();
  const copy = await tsconvert(['image', 'convert', 'oci-archive:examples/sample.tar', `oci:${src}:s`]);
  expect(copy.code, copy.stderr).toBe(0);
  const index = JSON.parse(await readFile(join(src, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string }>;
  };
  const manifestPath = join(src, 'blobs', 'sha256', (index.manifests[0]?.digest ?? '').slice(7));
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
  const layer = manifest.layers[0]?.digest ?? '';
  return { src, layer, layerPath: join(src, 'blobs', 'sha256', layer.slice(7)) };
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function skopeo(args: string[]): string {
  return execFileSync('skopeo', ['--override-os', 'linux', '--override-arch', 'amd64', ...args], {
    encoding: 'utf8',
  });
}

interface Manifest {
  config: { digest: string };
  layers: Array<{ mediaType: string; digest: string; annotations?: Record<string, string> }>;
}

describe('OCI layouts', () => {
  it("runs the README's first command: sample archive → layout, accepted by skopeo and stargz's reader", async () => {
    await ensureInteropTools();
    const out = await tempDir();
    const r = await tsconvert([
      'image',
      'convert',
      '--zstdchunked',
      '--oci',
      'oci-archive:examples/sample.tar',
      `oci:${out}:sample`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const inspect = JSON.parse(skopeo(['inspect', `oci:${out}:sample`])) as {
      Digest: string;
      Layers: string[];
    };
    expect(inspect.Digest).toBe(r.stdout.trim());
    skopeo(['copy', `oci:${out}:sample`, `dir:${join(out, 'copy')}`]);
    const manifest = JSON.parse(await readFile(join(out, 'copy', 'manifest.json'), 'utf8')) as Manifest;
    const config = JSON.parse(await readFile(join(out, 'copy', manifest.config.digest.slice(7)), 'utf8')) as {
      rootfs: { diff_ids: string[] };
    };
    for (const [i, layer] of manifest.layers.entries()) {
      expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
      const tar = execFileSync('zstd', ['-dc', join(out, 'copy', layer.digest.slice(7))], {
        maxBuffer: 1 << 30,
      });
      expect(sha256(tar)).toBe(config.rootfs.diff_ids[i]);
      const tocDigest = layer.annotations?.['containerd.io/snapshot/stargz/toc.digest'] ?? '';
      const file = join(out, 'copy', layer.digest.slice(7));
      expect((await verifyWithSharedTools(file, { mode: 'stargz', tocDigest })).result).toBe('OK');
    }
  });

  it('gives the same digest from containerd and from an archive of the same image', async () => {
    const img = await importedImage('multi');
    const out = await tempDir();
    const a = await img.run([
      'image',
      'convert',
      '--zstd',
      '--oci',
      '--all-platforms',
      img.name,
      'multi:same',
    ]);
    const b = await tsconvert([
      'image',
      'convert',
      '--zstd',
      '--oci',
      '--all-platforms',
      `oci-archive:${img.fixture.archivePath}`,
      `oci:${out}:x`,
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toBe(a.stdout);
  });

  it('converts containerd → oci-archive with --zstdchunked; ctr imports it complete, both readers accept every layer', async () => {
    await ensureInteropTools();
    const img = await importedImage('multi');
    const out = await tempDir();
    const archive = join(out, 'multi-zstd.tar');
    const ref = `oci-archive:${archive}:multi-zstdchunked`;
    const r = await img.run(['image', 'convert', '--zstdchunked', '--oci', '--all-platforms', img.name, ref]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(skopeo(['inspect', '--raw', ref])).manifests).toHaveLength(3);
    const ns = testContainerd().newNamespace('import');
    const name = 'docker.io/library/imported:zstdchunked';
    await ctrOk(['images', 'import', '--all-platforms', '--no-unpack', '--index-name', name, archive], ns);
    await expectComplete(ns, name, true);

    const index = await json<{ manifests: Array<{ digest: string; platform?: { os: string } }> }>(
      ns,
      r.stdout.trim(),
    );
    let checked = 0;
    for (const entry of index.manifests.filter((m) => m.platform?.os === 'linux')) {
      const manifest = await json<{
        layers: Array<{ digest: string; annotations?: Record<string, string> }>;
      }>(ns, entry.digest);
      for (const layer of manifest.layers) {
        const a = layer.annotations ?? {};
        const tocDigest = a['containerd.io/snapshot/stargz/toc.digest'] ?? '';
        const checksum = a['io.containers.zstd-chunked.manifest-checksum'] ?? '';
        const file = join(out, layer.digest.slice(7));
        await writeFile(file, await blob(ns, layer.digest));
        expect((await verifyWithSharedTools(file, { mode: 'stargz', tocDigest })).result, layer.digest).toBe(
          'OK',
        );
        expect(
          (await verifyWithSharedTools(file, { mode: 'cstorage', manifestChecksum: checksum })).result,
        ).toBe('OK');
        const check = await checkZstdChunked(file, {
          annotations: 'stargz',
          tocDigest,
          manifestChecksum: checksum,
        });
        expect(check.result, check.error).toBe('OK');
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(7);
  });

  it('converts an oci: layout into containerd', async () => {
    const img = await importedImage('single');
    const out = await tempDir();
    const archiveToDir = await tsconvert([
      'image',
      'convert',
      `oci-archive:${img.fixture.archivePath}`,
      `oci:${out}:plain`,
    ]);
    expect(archiveToDir.code, archiveToDir.stderr).toBe(0);
    const r = await img.run(['image', 'convert', '--uncompress', `oci:${out}:plain`, 'from-layout:tar']);
    expect(r.code, r.stderr).toBe(0);
    await expectComplete(img.namespace, 'docker.io/library/from-layout:tar', true);
  });

  it('copies a layout into containerd unchanged, with GC references that keep every blob', async () => {
    // A layout has no labels: a manifest or index copied as it is must get containerd's GC references to
    // its children, or the collector takes config and layers once the run's lease is deleted.
    const { address, newNamespace } = testContainerd();
    const fixtures = (await ensureFixtures()).fixtures;
    for (const fixture of ['single', 'multi'] as const) {
      // A namespace of its own: nothing else there refers to the blobs.
      const namespace = newNamespace(`copied-${fixture}`);
      const target = `docker.io/library/copied:${fixture}`;
      const r = await tsconvert([
        ...['-a', address, '-n', namespace, 'image', 'convert', '--all-platforms'],
        `oci-archive:${fixtures[fixture].archivePath}`,
        target,
      ]);
      expect(r.code, r.stderr).toBe(0);
      // A synchronous collection now, instead of waiting for the scheduler's.
      await ctrOk(['images', 'tag', target, 'docker.io/library/gc-trigger:x'], namespace);
      await ctrOk(['images', 'rm', '--sync', 'docker.io/library/gc-trigger:x'], namespace);
      await expectComplete(namespace, target, true);
    }
  });

  it('refuses a corrupt layer with one line, and leaves the destination without the image or ingests', async () => {
    const { src, layer, layerPath } = await sampleLayout();
    const out = await tempDir();
    const bytes = await readFile(layerPath);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0xff;
    await writeFile(layerPath, bytes);
    const r = await tsconvert(['image', 'convert', '--zstd', '--oci', `oci:${src}:s`, `oci:${out}:z`]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(layer);
    const outIndex = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: unknown[] };
    expect(outIndex.manifests).toEqual([]);
    expect(await readdir(join(out, '.tsconvert-ingest')).catch(() => [])).toEqual([]);
  });

  it('fails the same way with gzip decoded on the digest thread (16 CPUs): a flipped byte, bytes that are not gzip', async () => {
    // At 16 faked CPUs the run has a digest thread, and a gzip layer is decoded there
    // (src/stream/offloaded-gunzip.ts); at 2 it is decoded on the main thread. Both must say the same.
    const { src, layer, layerPath } = await sampleLayout();
    const good = await readFile(layerPath);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 20] = (flipped[flipped.length - 20] ?? 0) ^ 0xff;
    // A gzip header, then bytes that inflate to nothing valid; the blob file keeps the layer's name, so
    // its digest does not match either: the mismatch must be what is reported.
    const notGzip = Buffer.concat([good.subarray(0, 10), Buffer.alloc(good.length - 10, 0xa5)]);
    for (const damaged of [flipped, notGzip]) {
      await writeFile(layerPath, damaged);
      // zstd:chunked scans the tar, so garbled output can fail there before the source's end; --zstd only
      // meets the digest at the end. Per format, the CPU count changes nothing.
      for (const format of ['--zstdchunked', '--zstd']) {
        const said: string[] = [];
        for (const cpus of [2, 16]) {
          const out = await tempDir();
          const tmp = await tempDir();
          const r = await tsconvert(['image', 'convert', format, '--oci', `oci:${src}:s`, `oci:${out}:z`], {
            ...fakeCpusEnv(cpus),
            TMPDIR: tmp,
          });
          expect(r.code, r.stderr).toBe(1);
          expect(r.stderr.trim().split('\n')).toHaveLength(1);
          expect(r.stderr).toContain(`layer ${layer}`);
          said.push(r.stderr);
          const outIndex = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as {
            manifests: unknown[];
          };
          expect(outIndex.manifests).toEqual([]);
          expect(await readdir(join(out, '.tsconvert-ingest')).catch(() => [])).toEqual([]);
          expect(await readdir(tmp)).toEqual([]);
        }
        expect(new Set(said).size, said.join('')).toBe(1);
      }
    }
  });

  it('names a malformed manifest and the blob it is in', async () => {
    const src = await tempDir();
    const bad = Buffer.from('{"schemaVersion":2,"config":{"mediaType":"x"},"layers":"nope"}');
    const digest = sha256(bad);
    await mkdir(join(src, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(src, 'blobs', 'sha256', digest.slice(7)), bad);
    await writeFile(join(src, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    const entry = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest,
      size: bad.length,
      annotations: { 'org.opencontainers.image.ref.name': 'bad' },
    };
    await writeFile(join(src, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
    const r = await tsconvert(['image', 'convert', '--zstd', '--oci', `oci:${src}:bad`, `oci:${src}:out`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`tsconvert: error: manifest ${digest}: manifest has no layers array\n`);
  });

  it('names a missing layout clearly', async () => {
    const r = await tsconvert([
      'image',
      'convert',
      '--zstd',
      '--oci',
      'oci:/nonexistent/layout',
      'oci:/tmp/x',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tsconvert: error: OCI layout \/nonexistent\/layout not found/);
  });
});
