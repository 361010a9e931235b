// docker:// locations end to end against Debian's registry (test/helpers/registry.ts): an archive pushed
// to a registry, registry to registry (blobs mounted across repositories), registry to containerd, each
// with the digest the same conversion gives between layouts; a multi-platform index pushed after its
// manifests; skopeo (not our code) reads the results back; and the multi-range probe's warning.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tsconvert } from '../helpers/cli.js';
import { testContainerd } from '../helpers/containerd.js';
import { expectComplete, importedImage } from '../helpers/e2e.js';
import {
  listTags,
  startProxy,
  startRangeRefusingProxy,
  startRegistry,
  type TestRegistry,
} from '../helpers/registry.js';

const SAMPLE = 'oci-archive:examples/sample.tar';
const INSECURE = ['--src-tls-verify=false', '--dest-tls-verify=false'];

let registry: TestRegistry;
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tsc-regconv-'));
  dirs.push(d);
  return d;
}
beforeAll(async () => {
  registry = await startRegistry({ mode: 'plain' });
});
afterAll(async () => {
  await registry.close();
});
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function skopeoInspect(ref: string, raw = false): Record<string, unknown> {
  const args = ['inspect', '--tls-verify=false', ...(raw ? ['--raw'] : []), ref];
  return JSON.parse(
    execFileSync('skopeo', ['--override-os', 'linux', '--override-arch', 'amd64', ...args], {
      encoding: 'utf8',
    }),
  ) as Record<string, unknown>;
}

async function convert(args: string[]): Promise<string> {
  const r = await tsconvert(['image', 'convert', ...INSECURE, ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

describe('docker:// locations', () => {
  it('pushes an archive to a registry with the digest a layout gets, readable by skopeo', async () => {
    const out = await tempDir();
    const viaLayout = await convert(['--zstdchunked', SAMPLE, `oci:${out}:zc`]);
    const viaRegistry = await convert(['--zstdchunked', SAMPLE, registry.ref('sample/app:zc')]);
    expect(viaRegistry).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(viaRegistry).toBe(viaLayout);
    expect(skopeoInspect(`docker://${registry.host}/sample/app:zc`).Digest).toBe(viaRegistry);
    // image verify reads it through the same backend (its own flag names, as skopeo inspect's).
    const verify = await tsconvert(['image', 'verify', '--tls-verify=false', registry.ref('sample/app:zc')]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/verify: OK, 4 layers in 1 platform/);
    const noFlag = await tsconvert(['image', 'verify', registry.ref('sample/app:zc')]);
    expect(noFlag.code).toBe(1);
    expect(noFlag.stderr).toMatch(/did not answer in TLS .*if it serves plain HTTP, use --tls-verify=false/);
    // skopeo copies every blob back out, checking each against its digest.
    const back = await tempDir();
    execFileSync('skopeo', [
      'copy',
      '--src-tls-verify=false',
      `docker://${registry.host}/sample/app:zc`,
      `oci:${back}:x`,
    ]);
  });

  it('converts registry to registry, mounting unchanged blobs, with the digest of the layout-to-layout conversion', async () => {
    const out = await tempDir();
    await convert([SAMPLE, registry.ref('sample/src:1')]);
    await convert([SAMPLE, `oci:${out}:src`]);
    const layouts = await convert(['--zstd', `oci:${out}:src`, `oci:${out}:z`]);
    const r = await tsconvert([
      '--debug',
      'image',
      'convert',
      ...INSECURE,
      '--zstd',
      registry.ref('sample/src:1'),
      registry.ref('sample/dst:z'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(layouts);
    // The config is unchanged by --zstd: mounted from the source repository, not uploaded.
    expect(r.stderr).toMatch(/blob mounted from another repository.*from=sample\/src/);
    expect(await listTags(registry, 'sample/dst')).toEqual(['z']);
    // Converting in place on the registry: the same tag gets the result.
    const again = await convert(['--zstd', registry.ref('sample/src:1'), registry.ref('sample/src:1')]);
    expect(again).toBe(layouts);
    expect(skopeoInspect(`docker://${registry.host}/sample/src:1`).Digest).toBe(layouts);
  });

  it('sends no blob a second time when the same conversion runs again', async () => {
    const uploads: string[] = [];
    const proxy = await startProxy(registry, (req) => {
      if (req.url?.includes('/blobs/uploads/') === true) uploads.push(`${req.method} ${req.url}`);
      return false;
    });
    try {
      const first = await convert(['--zstd', SAMPLE, proxy.ref('sample/again:z')]);
      expect(uploads.length).toBeGreaterThan(0);
      uploads.length = 0;
      // Converted layers are known only once written, so the check is at commit; the config by HEAD first.
      const second = await convert(['--zstd', SAMPLE, proxy.ref('sample/again:z')]);
      expect(second).toBe(first);
      expect(uploads).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('converts registry to containerd with the digest of the layout conversion', async () => {
    const out = await tempDir();
    await convert([SAMPLE, registry.ref('sample/tocd:1')]);
    const layout = await convert(['--zstdchunked', SAMPLE, `oci:${out}:zc`]);
    const { address, newNamespace } = testContainerd();
    const namespace = newNamespace('reg');
    const r = await tsconvert([
      '-a',
      address,
      '-n',
      namespace,
      'image',
      'convert',
      ...INSECURE,
      '--zstdchunked',
      registry.ref('sample/tocd:1'),
      'example.com/from-registry:zc',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(layout);
    await expectComplete(namespace, 'example.com/from-registry:zc');
  });

  it('pushes a multi-platform index after its manifests, from containerd, as the layout conversion gives it', async () => {
    const img = await importedImage('multi');
    const out = await tempDir();
    const toLayout = await img.run([
      'image',
      'convert',
      '--zstd',
      '--all-platforms',
      img.name,
      `oci:${out}:m`,
    ]);
    expect(toLayout.code, toLayout.stderr).toBe(0);
    const toRegistry = await img.run([
      'image',
      'convert',
      ...INSECURE,
      '--zstd',
      '--all-platforms',
      img.name,
      registry.ref('multi/app:z'),
    ]);
    expect(toRegistry.code, toRegistry.stderr).toBe(0);
    expect(toRegistry.stdout.trim()).toBe(toLayout.stdout.trim());
    const index = skopeoInspect(`docker://${registry.host}/multi/app:z`, true) as {
      manifests: Array<{ digest: string }>;
    };
    expect(index.manifests.length).toBeGreaterThan(1);
    for (const m of index.manifests) {
      // Each child is a manifest of the repository, addressable by its digest.
      expect(skopeoInspect(`docker://${registry.host}/multi/app@${m.digest}`, true)).toHaveProperty('layers');
    }
  });

  it('says nothing about ranges when the registry serves multi-range requests, and warns behind a proxy that refuses them', async () => {
    const direct = await tsconvert([
      'image',
      'convert',
      ...INSECURE,
      '--oci',
      '--zstdchunked',
      SAMPLE,
      registry.ref('sample/ranges:zc'),
    ]);
    expect(direct.code, direct.stderr).toBe(0);
    expect(direct.stderr).not.toMatch(/multi-range/);
    const proxy = await startRangeRefusingProxy(registry);
    try {
      const r = await tsconvert([
        'image',
        'convert',
        ...INSECURE,
        '--oci',
        '--zstdchunked',
        SAMPLE,
        proxy.ref('sample/ranges:zc2'),
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        /does not serve multi-range requests \(it answered HTTP 501\).*in full.*still works/,
      );
      // The image is there and complete all the same.
      expect(skopeoInspect(`docker://${registry.host}/sample/ranges:zc2`).Digest).toBe(r.stdout.trim());
    } finally {
      await proxy.close();
    }
  });
});
