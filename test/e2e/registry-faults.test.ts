// What goes wrong between tsconvert and a registry, against Debian's registry: the registry killed during a
// chunked upload (one line, no manifest or tag pushed, a rerun completes), a blob whose bytes do not match
// its digest, an unknown repository or tag, a registry nobody listens for; and what it recovers from: a
// read whose connection drops (resumed with a Range request) and 503 answers (retried).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openOciLayout } from '../../src/oci-layout/backend.js';
import { startTsconvert, tsconvert } from '../helpers/cli.js';
import { sig, writeSampleImage } from '../helpers/oci-sample.js';
import {
  freePort,
  listTags,
  startDroppingProxy,
  startFlakyProxy,
  startKillingProxy,
  startRegistry,
  startStallingProxy,
  type TestRegistry,
} from '../helpers/registry.js';

const SAMPLE = 'oci-archive:examples/sample.tar';
const INSECURE = ['--src-tls-verify=false', '--dest-tls-verify=false'];

let registry: TestRegistry;
let big: string;
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tsc-regfault-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  registry = await startRegistry({ mode: 'plain' });
  // One 20 MiB gzip layer of random bytes: larger than the 8 MiB upload buffer, so it goes in chunks.
  big = await mkdtemp(join(tmpdir(), 'tsc-regfault-big-'));
  const layout = await openOciLayout({ path: big, mode: 'write', signal: sig() });
  const target = await writeSampleImage(layout.content, randomBytes(4).toString('hex'), 1, 20 << 20);
  await layout.images.put({ name: 'big', labels: {}, target }, { signal: sig() });
  await layout.close();
});
afterAll(async () => {
  await registry.close();
  await rm(big, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('tsconvert: error:'));
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

function repositoryDir(name: string): string {
  return join(registry.storage, 'docker', 'registry', 'v2', 'repositories', name);
}

describe('registry faults', () => {
  it('pushes a blob larger than the upload buffer in chunks, and skopeo reads it back intact', async () => {
    const r = await tsconvert(['image', 'convert', ...INSECURE, `oci:${big}:big`, registry.ref('f/big:1')]);
    expect(r.code, r.stderr).toBe(0);
    const back = await tempDir();
    execFileSync('skopeo', [
      'copy',
      '--src-tls-verify=false',
      `docker://${registry.host}/f/big:1`,
      `oci:${back}:x`,
    ]);
  });

  it('stops with one line and pushes no manifest or tag when the registry dies mid-upload; a rerun completes', async () => {
    const proxy = await startKillingProxy(registry);
    try {
      const r = await tsconvert([
        'image',
        'convert',
        ...INSECURE,
        '--zstd',
        `oci:${big}:big`,
        proxy.ref('f/killed:z'),
      ]);
      expect(proxy.killed()).toBe(true);
      expect(r.code).toBe(1);
      expect(errorLines(r.stderr)).toEqual([
        expect.stringMatching(
          new RegExp(
            `registry ${proxy.host} unreachable .*check the address and port, and that the registry is running`,
          ),
        ),
      ]);
    } finally {
      await proxy.close();
    }
    await registry.start();
    expect(await listTags(registry, 'f/killed')).toEqual([]);
    expect(await exists(join(repositoryDir('f/killed'), '_manifests'))).toBe(false);
    const again = await tsconvert([
      'image',
      'convert',
      ...INSECURE,
      '--zstd',
      `oci:${big}:big`,
      registry.ref('f/killed:z'),
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(await listTags(registry, 'f/killed')).toEqual(['z']);
  });

  it('pushes no manifest or tag and cancels its uploads when interrupted mid-upload (SIGINT)', async () => {
    const proxy = await startStallingProxy(registry);
    try {
      const run = startTsconvert([
        '--debug',
        'image',
        'convert',
        ...INSECURE,
        '--zstd',
        `oci:${big}:big`,
        proxy.ref('f/interrupted:z'),
      ]);
      await proxy.stalled;
      run.child.kill('SIGINT');
      const r = await run.done;
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toMatch(/upload cancelled .*status=204/);
    } finally {
      await proxy.close();
    }
    expect(await listTags(registry, 'f/interrupted')).toEqual([]);
    const repo = repositoryDir('f/interrupted');
    expect(await exists(join(repo, '_manifests'))).toBe(false);
    // Every upload session it opened was cancelled (DELETE) on the way out: distribution 2.8 then removes
    // the session's data and start time (it leaves only its hash state).
    const uploads = await readdir(join(repo, '_uploads')).catch(() => []);
    expect(uploads.length).toBeGreaterThan(0);
    for (const id of uploads) {
      expect(await exists(join(repo, '_uploads', id, 'data'))).toBe(false);
      expect(await exists(join(repo, '_uploads', id, 'startedat'))).toBe(false);
    }
  });

  it('refuses a blob whose bytes do not match its digest, naming it and what to do', async () => {
    const push = await tsconvert(['image', 'convert', ...INSECURE, SAMPLE, registry.ref('f/damaged:1')]);
    expect(push.code, push.stderr).toBe(0);
    const manifest = (await await fetch(`http://${registry.host}/v2/f/damaged/manifests/1`, {
      headers: {
        accept:
          'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
      },
    }).then((res) => res.json())) as { layers: Array<{ digest: string }> };
    const layer = manifest.layers[0]?.digest ?? '';
    const file = registry.blobPath(layer);
    const bytes = await readFile(file);
    const original = Buffer.from(bytes);
    const at = bytes.length >> 1;
    bytes.writeUInt8((bytes.readUInt8(at) ^ 0xff) & 0xff, at);
    await writeFile(file, bytes);
    try {
      const out = await tempDir();
      const r = await tsconvert([
        'image',
        'convert',
        ...INSECURE,
        registry.ref('f/damaged:1'),
        `oci:${out}:copy`,
      ]);
      expect(r.code).toBe(1);
      expect(errorLines(r.stderr)).toEqual([
        expect.stringMatching(
          new RegExp(
            `${layer} does not match its descriptor: its content hashes to sha256:[0-9a-f]{64}; registry ${registry.host} repository f/damaged serves a blob that does not match its digest; push the image again`,
          ),
        ),
      ]);
      const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: unknown[] };
      expect(index.manifests).toEqual([]);
    } finally {
      await writeFile(file, original);
    }
  });

  it('names an unknown repository, an unknown tag and an unreachable registry', async () => {
    const out = await tempDir();
    const repo = await tsconvert([
      'image',
      'convert',
      ...INSECURE,
      registry.ref('f/nothing-here:1'),
      `oci:${out}`,
    ]);
    expect(repo.code).toBe(1);
    expect(errorLines(repo.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `registry ${registry.host} repository f/nothing-here: repository not found \\(reading manifest 1\\); check the repository name`,
        ),
      ),
    ]);
    await tsconvert(['image', 'convert', ...INSECURE, SAMPLE, registry.ref('f/tags:1')]);
    const tag = await tsconvert(['image', 'convert', ...INSECURE, registry.ref('f/tags:2'), `oci:${out}`]);
    expect(errorLines(tag.stderr)).toEqual([
      expect.stringMatching(/repository f\/tags: image not found .*MANIFEST_UNKNOWN/),
    ]);
    const port = await freePort();
    const down = await tsconvert([
      'image',
      'convert',
      ...INSECURE,
      `docker://127.0.0.1:${port}/x:1`,
      `oci:${out}`,
    ]);
    expect(down.code).toBe(1);
    expect(errorLines(down.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(`registry 127.0.0.1:${port} unreachable \\(ECONNREFUSED.*check the address and port`),
      ),
    ]);
  });

  it('resumes a blob read whose connection dropped with a Range request, and retries 503 answers', async () => {
    await tsconvert(['image', 'convert', ...INSECURE, `oci:${big}:big`, registry.ref('f/resume:1')]);
    const out = await tempDir();
    const layout = await tsconvert(['image', 'convert', '--zstd', `oci:${big}:big`, `oci:${out}:z`]);
    const dropping = await startDroppingProxy(registry, 3 << 20);
    try {
      const r = await tsconvert([
        'image',
        'convert',
        ...INSECURE,
        '--zstd',
        // The layout already holds this layer's result: without --no-reuse it would not be read at all.
        '--no-reuse',
        dropping.ref('f/resume:1'),
        `oci:${out}:resumed`,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(dropping.dropped()).toBe(true);
      // The first read had no Range; the second starts where the dropped one stopped.
      expect(dropping.ranges[0]).toBe('');
      expect(dropping.ranges.some((r) => /^bytes=[1-9]\d*-\d+$/.test(r))).toBe(true);
      expect(r.stdout).toBe(layout.stdout);
    } finally {
      await dropping.close();
    }
    const flaky = await startFlakyProxy(registry, 3);
    try {
      const r = await tsconvert([
        'image',
        'convert',
        ...INSECURE,
        '--zstd',
        '--no-reuse',
        flaky.ref('f/resume:1'),
        `oci:${out}:flaky`,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(flaky.refused()).toBe(3);
      expect(r.stdout).toBe(layout.stdout);
    } finally {
      await flaky.close();
    }
  });
});
