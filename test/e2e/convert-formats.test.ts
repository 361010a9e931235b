// End to end: the tsconvert binary converts fixture images in a real containerd, and containerd's own
// `ctr`, the `zstd` CLI and sha256 check the result.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { testContainerd } from '../helpers/containerd.js';
import {
  blob,
  expectComplete,
  expectNoLeftovers,
  imageDigest,
  importedImage,
  json,
  ingestsByRef,
} from '../helpers/e2e.js';

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string };
  annotations?: Record<string, string>;
}
interface Manifest {
  mediaType?: string;
  config: Desc;
  layers: Desc[];
}
interface Index {
  mediaType?: string;
  manifests: Desc[];
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const DIGEST_LINE = /^sha256:[0-9a-f]{64}\n$/;

describe('image convert --zstd', () => {
  it('converts every platform of a multi-platform image with duplicate layers, one Write stream per digest', async () => {
    const img = await importedImage('multi');
    const dst = 'docker.io/tsconvert-test/multi:zstd';
    const logStart = (await readFile(testContainerd().logPath, 'utf8')).length;
    const r = await img.run([
      '--debug',
      'image',
      'convert',
      '--zstd',
      '--oci',
      '--all-platforms',
      '--jobs',
      '4',
      img.name,
      dst,
    ]);
    expect(r.stderr).not.toMatch(/warning|context canceled/i);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(DIGEST_LINE);
    expect(await imageDigest(img.namespace, dst)).toBe(r.stdout.trim());
    await expectComplete(img.namespace, dst, true);

    const index = await json<Index>(img.namespace, r.stdout.trim());
    expect(index.manifests).toHaveLength(3);
    const sourceLayers = new Set<string>();
    for (const entry of index.manifests.filter((m) => m.platform?.os === 'linux')) {
      const src = img.fixture.manifests.find((m) => m.platform.architecture === entry.platform?.architecture);
      const manifest = await json<Manifest>(img.namespace, entry.digest);
      expect(manifest.config.digest).toBe(src?.config.digest);
      const config = await json<{ rootfs: { diff_ids: string[] } }>(img.namespace, manifest.config.digest);
      for (const [i, layer] of manifest.layers.entries()) {
        sourceLayers.add(src?.layers[i]?.digest ?? '');
        expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
        const tar = execFileSync('zstd', ['-dc'], {
          input: await blob(img.namespace, layer.digest),
          maxBuffer: 1 << 30,
        });
        expect(sha256(tar), `layer ${i} of ${entry.platform?.architecture}`).toBe(config.rootfs.diff_ids[i]);
      }
    }
    // One ingest per distinct layer (written through its file, under a ref of its own).
    const ingests = ingestsByRef(r.stderr);
    for (const digest of sourceLayers) expect(ingests.get(`tsconvert-zstd-from-${digest}`), digest).toBe(1);
    const log = (await readFile(testContainerd().logPath, 'utf8')).slice(logStart);
    expect(log.split('\n').filter((l) => l.includes(img.namespace) && l.includes('locked'))).toEqual([]);
    await expectNoLeftovers(img.namespace);
  });

  it('points attestation manifests at the converted image manifest', async () => {
    const img = await importedImage('multi');
    const r = await img.run(['image', 'convert', '--zstd', '--all-platforms', img.name, 'multi:att']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/implies --oci/);
    const index = await json<Index>(img.namespace, r.stdout.trim());
    const amd64 = index.manifests.find((m) => m.platform?.architecture === 'amd64');
    const att = index.manifests.find(
      (m) => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest',
    );
    expect(att?.annotations?.['vnd.docker.reference.digest']).toBe(amd64?.digest);
    expect(amd64?.digest).not.toBe(
      img.fixture.manifests.find((m) => m.platform.architecture === 'amd64')?.digest,
    );
  });

  it('keeps only the host platform by default and names what it dropped', async () => {
    const img = await importedImage('multi');
    const r = await img.run(['image', 'convert', '--zstd', '--oci', img.name, 'multi:host']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/linux\/arm64/);
    expect(r.stderr).toMatch(/attestations/);
    const index = await json<Index>(img.namespace, r.stdout.trim());
    expect(index.manifests.map((m) => m.platform?.architecture)).toEqual(['amd64']);
    await expectComplete(img.namespace, 'docker.io/library/multi:host');
    await expectNoLeftovers(img.namespace);
  });

  it('prints nerdctl-style JSON with a Layers report', async () => {
    const img = await importedImage('single');
    const r = await img.run([
      'image',
      'convert',
      '--zstd',
      '--oci',
      '--format',
      'json',
      img.name,
      'single:zstd',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      Image: string;
      ExtraImages: null;
      Layers: Array<{ Source: string; Format: string }>;
    };
    expect(out.Image).toMatch(/^docker\.io\/library\/single:zstd@sha256:[0-9a-f]{64}$/);
    expect(out.ExtraImages).toBeNull();
    expect(r.stdout).toContain('\n    "Image"');
    expect(out.Layers.map((l) => l.Source).sort()).toEqual(
      [...new Set(img.fixture.manifests[0]?.layers.map((l) => l.digest))].sort(),
    );
    expect(out.Layers.every((l) => l.Format === 'zstd')).toBe(true);
  });
});

describe('image convert --uncompress and --oci', () => {
  it('uncompresses every layer of every platform to its DiffID', async () => {
    const img = await importedImage('multi');
    const dst = 'docker.io/tsconvert-test/multi:tar';
    const r = await img.run(['image', 'convert', '--uncompress', '--all-platforms', img.name, dst]);
    expect(r.code, r.stderr).toBe(0);
    await expectComplete(img.namespace, dst, true);
    const index = await json<Index>(img.namespace, r.stdout.trim());
    for (const entry of index.manifests.filter((m) => m.platform?.os === 'linux')) {
      const manifest = await json<Manifest>(img.namespace, entry.digest);
      const config = await json<{ rootfs: { diff_ids: string[] } }>(img.namespace, manifest.config.digest);
      expect(manifest.layers.map((l) => l.digest)).toEqual(config.rootfs.diff_ids);
      expect(new Set(manifest.layers.map((l) => l.mediaType))).toEqual(
        new Set(['application/vnd.oci.image.layer.v1.tar']),
      );
      for (const layer of manifest.layers)
        expect(sha256(await blob(img.namespace, layer.digest))).toBe(layer.digest);
    }
    await expectNoLeftovers(img.namespace);
  });

  it('maps Docker media types to OCI inside the JSON too, without rewriting layers', async () => {
    const img = await importedImage('docker');
    const r = await img.run(['image', 'convert', '--oci', '--all-platforms', img.name, 'docker:oci']);
    expect(r.code, r.stderr).toBe(0);
    const index = await json<Index>(img.namespace, r.stdout.trim());
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    for (const entry of index.manifests) {
      expect(entry.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      const manifest = await json<Manifest>(img.namespace, entry.digest);
      const src = img.fixture.manifests.find((m) => m.platform.architecture === entry.platform?.architecture);
      expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(manifest.config).toMatchObject({
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: src?.config.digest,
      });
      expect(manifest.layers.map((l) => l.digest)).toEqual(src?.layers.map((l) => l.digest));
      expect(
        manifest.layers.every((l) => l.mediaType.startsWith('application/vnd.oci.image.layer.v1.tar')),
      ).toBe(true);
    }
    await expectComplete(img.namespace, 'docker.io/library/docker:oci', true);
  });
});
