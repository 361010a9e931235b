// End to end: the failure modes tsconvert exists to prevent — duplicate layers racing each other, in-place
// conversion losing content to the garbage collector, half-converted images from missing blobs — and the
// errors a user sees, all against a real containerd.
import { describe, expect, it } from 'vitest';
import { tsconvert } from '../helpers/cli.js';
import { testContainerd } from '../helpers/containerd.js';
import {
  blob,
  ctrOk,
  expectComplete,
  expectNoLeftovers,
  imageDigest,
  importedImage,
  json,
  ingestsByRef,
  writeStreamsByRef,
} from '../helpers/e2e.js';
import { importFixture } from '../helpers/fixtures.js';

describe('duplicate layers', () => {
  it('converts a layer listed eight times once, with one Write stream and no warnings', async () => {
    const img = await importedImage('dup8');
    // Over gRPC, one ingest is exactly one Write stream (the ingest-file path takes two per ingest).
    const r = await img.run([
      '--debug',
      '--content-writes',
      'grpc',
      'image',
      'convert',
      '--zstd',
      '--oci',
      '--jobs',
      '4',
      img.name,
      'dup8:zstd',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning|error|cancel/i);
    const dup = img.fixture.manifests[0]?.layers[0]?.digest ?? '';
    expect(writeStreamsByRef(r.stderr).get(`tsconvert-zstd-from-${dup}`)).toBe(1);
    expect(ingestsByRef(r.stderr).get(`tsconvert-zstd-from-${dup}`)).toBe(1);
    const manifest = await json<{ layers: Array<{ digest: string }> }>(img.namespace, r.stdout.trim());
    expect(manifest.layers).toHaveLength(img.fixture.manifests[0]?.layers.length ?? -1);
    expect(new Set(manifest.layers.slice(0, 8).map((l) => l.digest)).size).toBe(1);
    await expectComplete(img.namespace, 'docker.io/library/dup8:zstd');
    await expectNoLeftovers(img.namespace);
  });
});

describe('in-place conversion', () => {
  it('converts SRC onto itself and survives a garbage collection', async () => {
    const img = await importedImage('multi');
    const { address } = testContainerd();
    const other = await importFixture('single', { address, namespace: img.namespace });
    const r = await img.run(['image', 'convert', '--zstd', '--oci', '--all-platforms', img.name, img.name]);
    expect(r.code, r.stderr).toBe(0);
    expect(await imageDigest(img.namespace, img.name)).toBe(r.stdout.trim());
    await ctrOk(['images', 'rm', '--sync', other], img.namespace);
    await expectComplete(img.namespace, img.name, true);
    const index = await json<{ manifests: Array<{ digest: string }> }>(img.namespace, r.stdout.trim());
    for (const m of index.manifests) expect((await blob(img.namespace, m.digest)).length).toBeGreaterThan(0);
    await expectNoLeftovers(img.namespace);
  });
});

describe('missing content', () => {
  it('names the missing blobs per platform, writes nothing, and converts the platforms that are present', async () => {
    const img = await importedImage('multi');
    const arm = img.fixture.manifests.find((m) => m.platform.architecture === 'arm64');
    const amdLayers = new Set(
      img.fixture.manifests.find((m) => m.platform.architecture === 'amd64')?.layers.map((l) => l.digest),
    );
    const gone = arm?.layers.find((l) => !amdLayers.has(l.digest))?.digest ?? '';
    expect(gone).not.toBe('');
    await ctrOk(['content', 'rm', gone], img.namespace);

    const r = await img.run([
      'image',
      'convert',
      '--zstd',
      '--oci',
      '--all-platforms',
      img.name,
      'multi:partial',
    ]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(gone);
    expect(lines[0]).toContain('linux/arm64');
    expect(lines[0]).toMatch(/never contacts a registry/);
    expect(await imageDigest(img.namespace, 'docker.io/library/multi:partial')).toBeUndefined();
    await expectNoLeftovers(img.namespace);

    const ok = await img.run([
      'image',
      'convert',
      '--zstd',
      '--oci',
      '--platform',
      'linux/amd64',
      img.name,
      'multi:amd64',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    await expectComplete(img.namespace, 'docker.io/library/multi:amd64');
  });
});

describe('errors', () => {
  it('says which image is not found, in one line, exit 1', async () => {
    const img = await importedImage('single');
    const r = await img.run(['image', 'convert', '--zstd', '--oci', 'nope', 'nope:zstd']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'tsconvert: error: image "docker.io/library/nope:latest": not found in containerd; check the name and namespace (ctr images ls / --namespace); tsconvert never pulls from a registry\n',
    );
  });

  it('explains an unreachable socket', async () => {
    const r = await tsconvert([
      '-a',
      '/nonexistent/containerd.sock',
      'image',
      'convert',
      '--zstd',
      '--oci',
      'a',
      'b',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^tsconvert: error: cannot access containerd socket "\/nonexistent\/containerd.sock": no such file; .*--address/,
    );
  });

  it('rejects conflicting flags before connecting', async () => {
    const r = await tsconvert([
      '-a',
      '/nonexistent.sock',
      'image',
      'convert',
      '--zstd',
      '--uncompress',
      'a',
      'b',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('tsconvert: error: option --zstd conflicts with --uncompress\n');
  });

  it('reads the address and namespace from the environment', async () => {
    const img = await importedImage('single');
    const r = await tsconvert(['image', 'convert', '--uncompress', img.name, 'single:env'], {
      CONTAINERD_ADDRESS: testContainerd().address,
      CONTAINERD_NAMESPACE: img.namespace,
    });
    expect(r.code, r.stderr).toBe(0);
    await expectComplete(img.namespace, 'docker.io/library/single:env');
  });
});
