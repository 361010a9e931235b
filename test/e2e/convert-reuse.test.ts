// Reuse of converted layers across runs and resume after SIGKILL (issue 21): image B shares 3 of its 5
// layers with image A; converting B after A converts only B's own 2 layers and gives the digest B gets
// alone in a fresh store, in `oci:` layouts and in containerd; --no-reuse converts all; a record whose blob
// is gone or has another size is not trusted; a run killed after its first committed layer is resumed; dead
// runs' layer scratch directories in $TMPDIR are removed by `tsconvert cleanup` and by the next conversion.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectContainerd } from '../../src/containerd/connection.js';
import { silentLogger } from '../../src/util/log.js';
import { currentOwner, formatOwner } from '../../src/util/run-owner.js';
import { startTsconvert, tsconvert, type CliResult } from '../helpers/cli.js';
import { newNamespace, testContainerd } from '../helpers/containerd.js';
import { ctrOk, expectNoLeftovers } from '../helpers/e2e.js';
import { randomLayer, writeLayerImages, type TestLayer } from '../helpers/layer-images.js';
import { verifyLayout } from '../helpers/oci-sample.js';

interface JsonResult {
  Image: string;
  Layers: Array<{ Source: string; Result: string; Converted: boolean; Reused?: boolean }>;
}

let work: string;
let src: string;
let shared: TestLayer[];
let own: { a: TestLayer[]; b: TestLayer[] };
const digestOf = (l: TestLayer): string => `sha256:${sha256Hex(l.gzip)}`;
const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tsc-reuse-'));
  src = join(work, 'src');
  shared = await Promise.all([0, 1, 2].map((i) => randomLayer(`shared-${i}`)));
  own = {
    a: await Promise.all([3, 4].map((i) => randomLayer(`a-${i}`))),
    b: await Promise.all([3, 4].map((i) => randomLayer(`b-${i}`))),
  };
  const [s0, s1, s2] = shared as [TestLayer, TestLayer, TestLayer];
  // The shared layers sit at different positions in the two images.
  await writeLayerImages(src, {
    a: [s0, s1, ...own.a, s2],
    b: [s0, ...own.b.slice(0, 1), s1, s2, ...own.b.slice(1)],
  });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(work, 'dst-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function parse(r: CliResult): JsonResult {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as JsonResult;
}
const digest = (r: JsonResult): string => r.Image.slice(r.Image.lastIndexOf('@') + 1);
const reused = (r: JsonResult): string[] =>
  r.Layers.filter((l) => l.Reused === true)
    .map((l) => l.Source)
    .sort();
const convertedNow = (r: JsonResult): string[] =>
  r.Layers.filter((l) => l.Converted && l.Reused !== true)
    .map((l) => l.Source)
    .sort();
const sorted = (layers: TestLayer[]): string[] => layers.map(digestOf).sort();

describe('oci: layouts', () => {
  const convert = async (args: string[]): Promise<JsonResult> =>
    parse(await tsconvert(['image', 'convert', '--format', 'json', ...args]));

  it('converts only the layers B does not share with A, with the digest B gets alone; --no-reuse converts all', async () => {
    const dst = await tempDir();
    const fresh = await tempDir();
    const a = await convert(['--zstdchunked', `oci:${src}:a`, `oci:${dst}:a`]);
    expect(reused(a)).toEqual([]);
    const bRun = await tsconvert([
      'image',
      'convert',
      '--format',
      'json',
      '--progress',
      'plain',
      '--zstdchunked',
      `oci:${src}:b`,
      `oci:${dst}:b`,
    ]);
    const b = parse(bRun);
    expect(reused(b)).toEqual(sorted(shared));
    expect(convertedNow(b)).toEqual(sorted(own.b));
    // The progress lines say it too: each shared layer ends "reused", each own layer "done".
    const short = (d: string): string => d.slice(7, 19);
    for (const d of sorted(shared)) expect(bRun.stderr).toMatch(new RegExp(`${short(d)}.* reused`));
    for (const d of sorted(own.b)) expect(bRun.stderr).toMatch(new RegExp(`${short(d)}.* done`));
    expect(bRun.stderr).not.toMatch(new RegExp(`(${sorted(shared).map(short).join('|')}).* converting`));
    const alone = await convert(['--zstdchunked', `oci:${src}:b`, `oci:${fresh}:b`]);
    expect(reused(alone)).toEqual([]);
    expect(digest(b)).toBe(digest(alone));

    const all = await convert(['--zstdchunked', '--no-reuse', `oci:${src}:b`, `oci:${dst}:b2`]);
    expect(reused(all)).toEqual([]);
    expect(convertedNow(all)).toHaveLength(5);
    expect(digest(all)).toBe(digest(alone));
    // Other options write other bytes: nothing recorded for --zstdchunked is used for --zstd.
    const zstd = await convert(['--zstd', `oci:${src}:b`, `oci:${dst}:bz`]);
    expect(reused(zstd)).toEqual([]);
    expect(await verifyLayout(dst)).toEqual(expect.arrayContaining(['a', 'b', 'b2', 'bz']));
  });

  it('does not trust a record whose blob is gone or has another size, and replaces it', async () => {
    const dst = await tempDir();
    const first = await convert(['--zstdchunked', `oci:${src}:a`, `oci:${dst}:a`]);
    const records = join(dst, '.tsconvert-reuse');
    const byResult = new Map<string, string>();
    for (const name of await readdir(records)) {
      const rec = JSON.parse(await readFile(join(records, name), 'utf8')) as { result: string };
      byResult.set(rec.result, name);
    }
    const [gone, wrong] = first.Layers.map((l) => l.Result) as [string, string];
    // One result blob deleted; one record pointing at another blob, of another size.
    await unlink(join(dst, 'blobs', 'sha256', gone.slice(7)));
    const decoy = Buffer.from('not a layer');
    await writeFile(join(dst, 'blobs', 'sha256', sha256Hex(decoy)), decoy);
    const wrongRecord = join(records, byResult.get(wrong) ?? '');
    const text = await readFile(wrongRecord, 'utf8');
    await writeFile(wrongRecord, text.replace(wrong, `sha256:${sha256Hex(decoy)}`));

    const again = await convert(['--zstdchunked', `oci:${src}:a`, `oci:${dst}:a`]);
    expect(digest(again)).toBe(digest(first));
    const bySource = (r: JsonResult, result: string): string =>
      r.Layers.find((l) => l.Result === result)?.Source ?? '';
    expect(convertedNow(again)).toEqual([bySource(first, gone), bySource(first, wrong)].sort());
    expect(reused(again)).toHaveLength(3);
    // Both records were replaced: a third run reuses all five.
    const third = await convert(['--zstdchunked', `oci:${src}:a`, `oci:${dst}:a`]);
    expect(reused(third)).toHaveLength(5);
    expect(await readFile(wrongRecord, 'utf8')).toBe(text);
    await verifyLayout(dst);
  });
});

describe('containerd', () => {
  const inNamespace = (namespace: string) => ({
    convert: async (args: string[]): Promise<JsonResult> =>
      parse(
        await tsconvert(['-a', address(), '-n', namespace, 'image', 'convert', '--format', 'json', ...args]),
      ),
    /** Copies an image of the source layout into the namespace as it is. */
    async load(name: string): Promise<string> {
      const image = `example.com/reuse/${name}:1`;
      const r = await tsconvert([
        '-a',
        address(),
        '-n',
        namespace,
        'image',
        'convert',
        `oci:${src}:${name}`,
        image,
      ]);
      expect(r.code, r.stderr).toBe(0);
      return image;
    },
  });

  it('converts only the layers B does not share with A, with the digest B gets alone; the source keeps the results', async () => {
    const namespace = newNamespace('reuse');
    const ns = inNamespace(namespace);
    const [a, b] = [await ns.load('a'), await ns.load('b')];
    const first = await ns.convert(['--zstdchunked', a, `${a}-zc`]);
    expect(reused(first)).toEqual([]);
    const second = await ns.convert(['--zstdchunked', b, `${b}-zc`]);
    expect(reused(second)).toEqual(sorted(shared));
    expect(convertedNow(second)).toEqual(sorted(own.b));

    const freshNs = inNamespace(newNamespace('reuse-fresh'));
    const alone = await freshNs.convert(['--zstdchunked', await freshNs.load('b'), 'b-alone']);
    expect(reused(alone)).toEqual([]);
    expect(digest(second)).toBe(digest(alone));

    const all = await ns.convert(['--zstdchunked', '--no-reuse', b, `${b}-all`]);
    expect(reused(all)).toEqual([]);
    expect(convertedNow(all)).toHaveLength(5);
    expect(digest(all)).toBe(digest(alone));

    // A's own results outlive its converted image: the source layers keep them (a gc.ref label) ...
    const ownResults = first.Layers.filter((l) => !sorted(shared).includes(l.Source)).map((l) => l.Result);
    await ctrOk(['images', 'rm', '--sync', `${a}-zc`], namespace);
    const again = await ns.convert(['--zstdchunked', a, `${a}-zc`]);
    expect(reused(again)).toHaveLength(5);
    expect(digest(again)).toBe(digest(first));
    // ... and go with them: without the source and the converted image, the collector takes them.
    await ctrOk(['images', 'rm', '--sync', `${a}-zc`, a], namespace);
    const left = (await ctrOk(['content', 'ls', '-q'], namespace)).split('\n');
    for (const result of ownResults) expect(left).not.toContain(result);
    await expectNoLeftovers(namespace);
  });

  it('keeps records in the destination when the source is a layout', async () => {
    const namespace = newNamespace('reuse-x');
    const ns = inNamespace(namespace);
    const a = await ns.convert(['--zstd', `oci:${src}:a`, 'a-z']);
    expect(reused(a)).toEqual([]);
    const b = await ns.convert(['--zstd', `oci:${src}:b`, 'b-z']);
    expect(reused(b)).toEqual(sorted(shared));
    const fresh = inNamespace(newNamespace('reuse-x-fresh'));
    expect(digest(b)).toBe(digest(await fresh.convert(['--zstd', `oci:${src}:b`, 'b-z'])));
  });
});

describe('resume after SIGKILL', () => {
  const LAYERS = 4;
  let bigSrc: string;
  beforeAll(async () => {
    bigSrc = join(work, 'big');
    const layers: TestLayer[] = [];
    for (let i = 0; i < LAYERS; i++) layers.push(await randomLayer(`big-${i}`, 24 << 20));
    await writeLayerImages(bigSrc, { k: layers });
  }, 300_000);

  /** Runs `fn` with a counter of the reuse records (labels on blobs) in a containerd namespace. */
  async function withRecordCount(
    namespace: string,
    fn: (count: () => Promise<number>) => Promise<void>,
  ): Promise<void> {
    const signal = new AbortController().signal;
    const backend = await connectContainerd({ address: address(), namespace, logger: silentLogger, signal });
    try {
      await fn(async () => {
        const infos = await backend.content.list([], { signal });
        return infos.filter((i) => Object.keys(i.labels).some((k) => k.startsWith('io.tsconvert/reuse.')))
          .length;
      });
    } finally {
      await backend.close();
    }
  }

  /** Starts a conversion and SIGKILLs it once `committed` reports a recorded layer; the count at the kill. */
  async function killAfterFirstLayer(
    args: string[],
    env: NodeJS.ProcessEnv,
    committed: () => Promise<number>,
  ): Promise<number> {
    const run = startTsconvert(args, env);
    let ended = false;
    void run.done.then(() => (ended = true));
    const deadline = Date.now() + 120_000;
    let n: number;
    while ((n = await committed()) === 0) {
      if (ended) throw new Error(`the run ended before a layer was committed: ${run.stderr()}`);
      if (Date.now() > deadline) throw new Error('no layer committed in 120 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    run.child.kill('SIGKILL');
    const r = await run.done;
    expect(r.signal).toBe('SIGKILL');
    // The kill came before the last layer, or the test would prove nothing.
    expect(n).toBeLessThan(LAYERS);
    return n;
  }

  it('oci: reuses the committed layers, converts the rest, same digest, nothing left behind', async () => {
    const dst = await tempDir();
    const tmp = await tempDir();
    const args = ['image', 'convert', '--zstdchunked', '--jobs', '1', `oci:${bigSrc}:k`, `oci:${dst}:k`];
    const records = join(dst, '.tsconvert-reuse');
    const count = async (): Promise<number> =>
      (await readdir(records).catch(() => [])).filter((n) => n.endsWith('.json')).length;
    const before = await killAfterFirstLayer(args, { TMPDIR: tmp }, count);

    const r = parse(
      await tsconvert([...args.slice(0, 2), '--format', 'json', ...args.slice(2)], { TMPDIR: tmp }),
    );
    expect(reused(r).length).toBeGreaterThanOrEqual(before);
    expect(convertedNow(r).length).toBeGreaterThan(0);
    const fresh = await tempDir();
    const alone = parse(
      await tsconvert([
        'image',
        'convert',
        '--format',
        'json',
        '--zstdchunked',
        `oci:${bigSrc}:k`,
        `oci:${fresh}:k`,
      ]),
    );
    expect(digest(r)).toBe(digest(alone));
    await verifyLayout(dst);
    // The killed run's ingest and temp files were removed by the rerun's start-of-run clean-up.
    expect(await readdir(join(dst, '.tsconvert-ingest')).catch(() => [])).toEqual([]);
    expect((await readdir(records)).filter((n) => !n.endsWith('.json'))).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('containerd: reuses the committed layers, converts the rest, same digest, no lease or ingest left', async () => {
    const namespace = newNamespace('resume');
    const base = ['-a', address(), '-n', namespace, 'image', 'convert'];
    const load = await tsconvert([...base, `oci:${bigSrc}:k`, 'example.com/resume/k:1']);
    expect(load.code, load.stderr).toBe(0);
    await withRecordCount(namespace, async (count) => {
      const args = [
        ...base,
        '--zstdchunked',
        '--jobs',
        '1',
        'example.com/resume/k:1',
        'example.com/resume/k:zc',
      ];
      const before = await killAfterFirstLayer(args, {}, count);
      const r = parse(await tsconvert([...base, '--format', 'json', ...args.slice(base.length)]));
      expect(reused(r).length).toBeGreaterThanOrEqual(before);
      expect(convertedNow(r).length).toBeGreaterThan(0);
      const all = parse(
        await tsconvert([
          ...base,
          '--format',
          'json',
          '--no-reuse',
          ...args.slice(base.length, -1),
          'example.com/resume/k:all',
        ]),
      );
      expect(reused(all)).toEqual([]);
      expect(digest(r)).toBe(digest(all));
      await expectNoLeftovers(namespace);
    });
  });

  it("oci: → containerd: the killed run's lease keeps its layers until the rerun has reused them", async () => {
    // No source blob in this store carries a gc.ref label here: the dead run's lease is all that keeps its
    // committed layers, so the rerun removes that lease only after it has finished (run-cleanup.ts).
    const namespace = newNamespace('resume-oci');
    const base = ['-a', address(), '-n', namespace, 'image', 'convert'];
    await withRecordCount(namespace, async (count) => {
      const args = [
        ...base,
        '--zstdchunked',
        '--jobs',
        '1',
        `oci:${bigSrc}:k`,
        'example.com/resume-oci/k:zc',
      ];
      const before = await killAfterFirstLayer(args, {}, count);
      const r = await tsconvert([...base, '--format', 'json', ...args.slice(base.length)]);
      const out = parse(r);
      expect(reused(out).length).toBeGreaterThanOrEqual(before);
      expect(r.stderr).toMatch(/removed lease \S+ of a dead run/);
      const fresh = await tempDir();
      const alone = parse(
        await tsconvert([
          'image',
          'convert',
          '--format',
          'json',
          '--zstdchunked',
          `oci:${bigSrc}:k`,
          `oci:${fresh}:k`,
        ]),
      );
      expect(digest(out)).toBe(digest(alone));
      await expectNoLeftovers(namespace);
    });
  });
});

describe("dead runs' layer scratch directories", () => {
  it('are removed by `tsconvert cleanup` and by the next conversion, whatever the destination; live ones stay', async () => {
    const tmp = await tempDir();
    const me = currentOwner();
    // This test process's PID with another start time: a run that is dead for sure.
    const dead = `tsconvert-layer-${formatOwner({ ...me, start: String(Number(me.start) + 1) })}-Ab12Cd`;
    const live = `tsconvert-layer-${formatOwner(me)}-Ab12Cd`;
    const make = async (): Promise<void> => {
      await mkdir(join(tmp, dead, 'spill'), { recursive: true });
      await writeFile(join(tmp, dead, 'spill', 'toc.zst'), 'x');
      await mkdir(join(tmp, live), { recursive: true });
    };
    await make();
    const dst = await tempDir();
    const cleanup = await tsconvert(['cleanup', `oci:${dst}`], { TMPDIR: tmp });
    expect(cleanup.code, cleanup.stderr).toBe(0);
    expect(cleanup.stdout).toBe(
      `removed layer scratch directory ${join(tmp, dead)}, left by dead run pid ${me.pid} on ${me.host}\n`,
    );
    expect(await readdir(tmp)).toEqual([live]);

    await make();
    const namespace = newNamespace('scratch');
    const r = await tsconvert(
      ['-a', address(), '-n', namespace, 'image', 'convert', `oci:${src}:a`, 'example.com/scratch/a:1'],
      { TMPDIR: tmp },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`removed layer scratch directory ${join(tmp, dead)}`);
    expect(await readdir(tmp)).toEqual([live]);
  });
});

function address(): string {
  return testContainerd().address;
}
