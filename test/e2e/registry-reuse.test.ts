// Reuse of converted layers for docker:// destinations (issue 21) against Debian's registry: records are
// kept in $XDG_CACHE_HOME/tsconvert/reuse/HOST/REPOSITORY/ (a temp dir here, never the real home); image B,
// sharing 3 of its 5 layers with image A, converted into another repository of the registry after A reuses
// those 3 (mounted from A's repository) and gets the digest of a fresh conversion; a record whose blob the
// registry lost is not trusted; --no-reuse converts all.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tsconvert, type CliResult } from '../helpers/cli.js';
import { randomLayer, writeLayerImages, type TestLayer } from '../helpers/layer-images.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { createHash } from 'node:crypto';

interface JsonResult {
  Image: string;
  Layers: Array<{ Source: string; Result: string; Converted: boolean; Reused?: boolean }>;
}

const INSECURE = ['--src-tls-verify=false', '--dest-tls-verify=false'];

let work: string;
let src: string;
let registry: TestRegistry;
let shared: TestLayer[];
let ownB: TestLayer[];
const digestOf = (l: TestLayer): string => `sha256:${createHash('sha256').update(l.gzip).digest('hex')}`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tsc-regreuse-'));
  src = join(work, 'src');
  shared = await Promise.all([0, 1, 2].map((i) => randomLayer(`shared-${i}`)));
  const ownA = await Promise.all([3, 4].map((i) => randomLayer(`a-${i}`)));
  ownB = await Promise.all([3, 4].map((i) => randomLayer(`b-${i}`)));
  const [s0, s1, s2] = shared as [TestLayer, TestLayer, TestLayer];
  await writeLayerImages(src, {
    a: [s0, s1, ...ownA, s2],
    b: [s0, ...ownB.slice(0, 1), s1, s2, ...ownB.slice(1)],
  });
  registry = await startRegistry({ mode: 'plain' });
});
afterAll(async () => {
  await registry.close();
  await rm(work, { recursive: true, force: true });
});

async function convert(cache: string, args: string[]): Promise<JsonResult> {
  const r: CliResult = await tsconvert(['image', 'convert', '--format', 'json', ...INSECURE, ...args], {
    XDG_CACHE_HOME: cache,
  });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as JsonResult;
}
const digest = (r: JsonResult): string => r.Image.slice(r.Image.lastIndexOf('@') + 1);
const sources = (r: JsonResult, reused: boolean): string[] =>
  r.Layers.filter((l) => l.Converted && (l.Reused === true) === reused)
    .map((l) => l.Source)
    .sort();
const sorted = (layers: TestLayer[]): string[] => layers.map(digestOf).sort();
/** The status of a HEAD of blob `d` in repository `repo` of the test registry. */
async function headBlob(repo: string, d: string): Promise<number> {
  return (await fetch(`${registry.url}/v2/${repo}/blobs/${d}`, { method: 'HEAD' })).status;
}

describe('docker:// destinations', () => {
  it('reuses layers converted into another repository of the registry; --no-reuse converts all', async () => {
    const cache = await mkdtemp(join(work, 'cache-'));
    const a = await convert(cache, ['--zstdchunked', `oci:${src}:a`, registry.ref('reuse/a:z')]);
    expect(sources(a, true)).toEqual([]);
    // One record per converted layer, in the user's cache under HOST/REPOSITORY.
    const records = await readdir(join(cache, 'tsconvert', 'reuse', registry.host, 'reuse', 'a'));
    expect(records.filter((n) => n.endsWith('.json'))).toHaveLength(5);

    const sharedResults = a.Layers.filter((l) => sorted(shared).includes(l.Source)).map((l) => l.Result);
    for (const d of sharedResults) expect(await headBlob('reuse/b', d)).toBe(404);
    const b = await convert(cache, ['--zstdchunked', `oci:${src}:b`, registry.ref('reuse/b:z')]);
    expect(sources(b, true)).toEqual(sorted(shared));
    expect(sources(b, false)).toEqual(sorted(ownB));
    // The registry mounted the reused blobs into b's repository.
    for (const d of sharedResults) expect(await headBlob('reuse/b', d)).toBe(200);

    const fresh = await convert(await mkdtemp(join(work, 'cache-')), [
      '--zstdchunked',
      `oci:${src}:b`,
      `oci:${join(work, 'fresh')}:b`,
    ]);
    expect(sources(fresh, true)).toEqual([]);
    expect(digest(b)).toBe(digest(fresh));

    const all = await convert(cache, [
      '--zstdchunked',
      '--no-reuse',
      `oci:${src}:b`,
      registry.ref('reuse/c:z'),
    ]);
    expect(sources(all, true)).toEqual([]);
    expect(sources(all, false)).toHaveLength(5);
    expect(digest(all)).toBe(digest(fresh));
  });

  it('does not trust a record whose blob the registry no longer has', async () => {
    const cache = await mkdtemp(join(work, 'cache-'));
    const a = await convert(cache, ['--zstdchunked', `oci:${src}:a`, registry.ref('gone/a:z')]);
    const [s0] = shared as [TestLayer];
    const lost = a.Layers.find((l) => l.Source === digestOf(s0))?.Result ?? '';
    await rm(registry.blobPath(lost));
    expect(await headBlob('gone/a', lost)).toBe(404);

    const b = await convert(cache, ['--zstdchunked', `oci:${src}:b`, registry.ref('gone/b:z')]);
    expect(sources(b, false)).toEqual([digestOf(s0), ...ownB.map(digestOf)].sort());
    expect(sources(b, true)).toHaveLength(2);
    expect(b.Layers.find((l) => l.Source === digestOf(s0))?.Result).toBe(lost);
    expect(await headBlob('gone/b', lost)).toBe(200);
    // The same in the record's own repository: the lost blob (lost again: b's push stored it anew) is
    // converted again, the rest reused.
    await rm(registry.blobPath(lost));
    const again = await convert(cache, ['--zstdchunked', `oci:${src}:a`, registry.ref('gone/a:z')]);
    expect(sources(again, false)).toEqual([digestOf(s0)]);
    expect(sources(again, true)).toHaveLength(4);
    expect(digest(again)).toBe(digest(a));
  });
});
