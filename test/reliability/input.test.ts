// Issue 17, input scenarios: what a hostile image or a careless command line gets from the tsconvert binary.
// Each scenario checks the exit code, the one stderr line, that nothing is left in $TMPDIR or the
// destination, and that the source is untouched.

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdir, readFile, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { binNodeFlags } from '../../scripts/bin-flags.js';
import { BIN, NODE } from '../helpers/cli.js';
import { testContainerd } from '../helpers/containerd.js';
import { rows } from '../helpers/e2e.js';
import {
  expectNothingLeft,
  expectOneLineFailure,
  LayoutBuilder,
  scenario,
  sha256,
  tarOfOneFile,
  treeDigest,
  type Scenario,
} from './input-layouts.js';

const TAR = 'application/vnd.oci.image.layer.v1.tar';
const execFileAsync = promisify(execFile);
const TAR_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

const open: Scenario[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.dispose()));
});

async function newScenario(): Promise<Scenario> {
  const s = await scenario();
  open.push(s);
  return s;
}

/** A valid linux/amd64 single-manifest image of one gzip layer, as layout `src` under the scenario. */
async function plainImage(s: Scenario): Promise<{ root: string; before: Map<string, string> }> {
  const b = await LayoutBuilder.create(s.dir);
  const tar = tarOfOneFile('hello.txt', Buffer.from('hello\n'));
  const layer = await b.blob(gzipSync(tar), TAR_GZIP);
  const manifest = await b.manifest(await b.config([sha256(tar)]), [layer]);
  const root = await b.finish([{ desc: manifest, ref: 'img' }]);
  return { root, before: await treeDigest(root) };
}

describe('F14: command lines that used to be accepted silently', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a third positional argument', ['extra'], /too many arguments|unexpected argument.*extra/i],
    ['--platform ""', ['--platform', ''], /--platform.*empty|no platform/i],
    ['--platform ",,,"', ['--platform', ',,,'], /--platform.*empty|no platform/i],
    ['--format yaml', ['--format', 'yaml'], /--format.*"yaml".*json/],
  ];
  for (const [what, extra, pattern] of cases) {
    it(`refuses ${what}`, async () => {
      const s = await newScenario();
      const src = await plainImage(s);
      const dst = `${s.dir}/dst`;
      const r = await s.convert(['--oci', `oci:${src.root}:img`, `oci:${dst}:out`, ...extra]);
      expectOneLineFailure(r, pattern);
      await expectNothingLeft(s, src, dst);
    });
  }

  it('refuses --platform windows/amd64 on a linux/amd64-only image, naming the platform it has', async () => {
    const s = await newScenario();
    const src = await plainImage(s);
    const dst = `${s.dir}/dst`;
    const r = await s.convert([
      '--zstd',
      '--oci',
      '--platform',
      'windows/amd64',
      `oci:${src.root}:img`,
      `oci:${dst}:out`,
    ]);
    expectOneLineFailure(r, /windows\/amd64.*linux\/amd64/);
    await expectNothingLeft(s, src, dst);
  });

  it('still converts a linux/amd64-only image with --platform linux/amd64', async () => {
    const s = await newScenario();
    const src = await plainImage(s);
    const r = await s.convert([
      '--zstd',
      '--platform',
      'linux/amd64',
      `oci:${src.root}:img`,
      `oci:${s.dir}/dst:out`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  });
});

describe('F7: zstd:chunked chunk size', () => {
  for (const size of ['1', '65535']) {
    it(`refuses --zstdchunked-chunk-size ${size}, naming the smallest allowed`, async () => {
      const s = await newScenario();
      const src = await plainImage(s);
      const dst = `${s.dir}/dst`;
      const r = await s.convert([
        '--zstdchunked',
        '--zstdchunked-chunk-size',
        size,
        `oci:${src.root}:img`,
        `oci:${dst}:out`,
      ]);
      expectOneLineFailure(r, /--zstdchunked-chunk-size.*65536/);
      await expectNothingLeft(s, src, dst);
    });
  }

  it('accepts the smallest chunk size, 64 KiB', async () => {
    const s = await newScenario();
    const src = await plainImage(s);
    const r = await s.convert([
      '--zstdchunked',
      '--oci',
      '--zstdchunked-chunk-size',
      '65536',
      `oci:${src.root}:img`,
      `oci:${s.dir}/dst:out`,
    ]);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('F11: untrusted bytes never reach stderr raw', () => {
  it('names an invalid config blob without echoing its bytes (terminal escapes included)', async () => {
    const s = await newScenario();
    const b = await LayoutBuilder.create(s.dir);
    const tar = tarOfOneFile('a.txt', Buffer.from('a\n'));
    const layer = await b.blob(gzipSync(tar), TAR_GZIP);
    const hostile = Buffer.concat([
      Buffer.from('\x1b]0;owned\x07\x1b[2J\x1b[31m', 'latin1'),
      Buffer.from('\u009b31m\u202e{"os":"linux"}'),
    ]);
    const config = await b.blob(hostile, 'application/vnd.oci.image.config.v1+json');
    const manifest = await b.manifest(config, [layer]);
    const root = await b.finish([{ desc: manifest, ref: 'img' }]);
    const src = { root, before: await treeDigest(root) };
    const dst = `${s.dir}/dst`;
    for (const logFormat of ['text', 'json']) {
      const r = await s.run([
        '--log-format',
        logFormat,
        'image',
        'convert',
        '--oci',
        `oci:${root}:img`,
        `oci:${dst}:out`,
      ]);
      expectOneLineFailure(r, new RegExp(`config ${config.digest} is not valid JSON`));
      expect(r.stderr).not.toContain('owned');
      expect(r.stderr).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
    }
    await expectNothingLeft(s, src, dst);
  });
});

describe('F6: every JSON document is read and written within its limit', () => {
  for (const how of ['a link to /dev/zero', 'a 17 MiB file']) {
    it(`refuses an index.json that is ${how}, reading no more than the limit`, async () => {
      const s = await newScenario();
      const src = await plainImage(s);
      const index = join(src.root, 'index.json');
      await unlink(index);
      if (how.startsWith('a link')) await symlink('/dev/zero', index);
      else {
        await writeFile(index, '');
        await truncate(index, 17 << 20);
      }
      src.before = await treeDigest(src.root);
      const dst = `${s.dir}/dst`;
      const r = await s.convert(['--oci', `oci:${src.root}:img`, `oci:${dst}:out`]);
      // A device is refused before a byte is read (F8); a large regular file at the size limit (F6).
      expectOneLineFailure(
        r,
        how.startsWith('a link')
          ? /index\.json .*index\.json is not a regular file \(it is a device\)/
          : /index\.json (is larger than|is \d+ bytes, more than) the 16 MiB limit for a layout's index\.json/,
      );
      await expectNothingLeft(s, src, dst);
    });
  }

  it("never grows a layout's index.json past its limit", async () => {
    const s = await newScenario();
    const src = await plainImage(s);
    const dst = await LayoutBuilder.create(s.dir, 'dst');
    const entry = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${'0'.repeat(64)}`,
      size: 1,
    };
    // Entries up to 64 bytes short of the limit, the last one padded to land there exactly.
    const count = Math.floor((16 << 20) / (JSON.stringify(entry).length + 1)) - 4;
    const entries = Array.from({ length: count }, () => ({ desc: entry }));
    const text = (pad: number): string =>
      JSON.stringify({
        schemaVersion: 2,
        manifests: [...entries.map((e) => e.desc), { ...entry, annotations: { pad: 'x'.repeat(pad) } }],
      });
    const pad = (16 << 20) - 64 - text(0).length;
    await dst.finish([]);
    await writeFile(join(dst.root, 'index.json'), text(pad));
    const before = await treeDigest(dst.root);
    const r = await s.convert(['--oci', `oci:${src.root}:img`, `oci:${dst.root}:a-long-enough-name`]);
    expectOneLineFailure(
      r,
      /index\.json would be \d+ bytes, more than the 16 MiB limit for a layout's index\.json, so it was not written/,
    );
    expect((await treeDigest(dst.root)).get('index.json')).toBe(before.get('index.json'));
    await expectNothingLeft(s, src);
  });

  it('copies a manifest of 2 000 distinct layers a few at a time, within 256 open files', async () => {
    const s = await newScenario();
    const b = await LayoutBuilder.create(s.dir);
    const layers = [];
    for (let i = 0; i < 2000; i++)
      layers.push(await b.blob(gzipSync(tarOfOneFile(`f${i}`, Buffer.from(`${i}`))), TAR_GZIP));
    const manifest = await b.manifest(await b.config(), layers);
    const root = await b.finish([{ desc: manifest, ref: 'img' }]);
    const dst = `${s.dir}/dst`;
    const child = spawn(
      'prlimit',
      [
        '--nofile=256',
        NODE,
        ...binNodeFlags(BIN),
        BIN,
        'image',
        'convert',
        '--oci',
        '--jobs',
        '8',
        `oci:${root}:img`,
        `oci:${dst}:out`,
      ],
      {
        env: { ...process.env, TMPDIR: s.tmp, TSCONVERT_PROGRESS: 'none' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code, stderr).toBe(0);
    expect(stderr).toBe('');
    expect((await readdir(join(dst, 'blobs', 'sha256'))).length).toBe(2000 + 2);
  }, 300_000);

  it('refuses a manifest over 4 MiB before converting anything into containerd', async () => {
    const s = await newScenario();
    const b = await LayoutBuilder.create(s.dir);
    const tar = tarOfOneFile('a.txt', Buffer.from('a\n'));
    const layer = await b.blob(gzipSync(tar), TAR_GZIP);
    const config = await b.config([sha256(tar)]);
    const body = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config,
      layers: [layer],
      annotations: { padding: 'x'.repeat((4 << 20) + 1) },
    };
    const manifest = await b.json(body, body.mediaType);
    const root = await b.finish([{ desc: manifest, ref: 'img' }]);
    const src = { root, before: await treeDigest(root) };
    const { address, newNamespace } = testContainerd();
    const namespace = newNamespace('f6');
    const r = await s.run([
      '-a',
      address,
      '-n',
      namespace,
      'image',
      'convert',
      '--zstd',
      '--oci',
      `oci:${root}:img`,
      'f6:out',
    ]);
    expectOneLineFailure(
      r,
      new RegExp(
        `manifest ${manifest.digest} is ${manifest.size} bytes, more than the 4 MiB limit for manifests`,
      ),
    );
    await expectNothingLeft(s, src);
    for (const what of [
      ['images', 'ls'],
      ['leases', 'ls'],
      ['content', 'active'],
    ]) {
      expect(await rows(what, namespace), what.join(' ')).toEqual([]);
    }
  });

  it('never writes a manifest it would refuse: zstd:chunked annotations growing one past 4 MiB', async () => {
    const s = await newScenario();
    const b = await LayoutBuilder.create(s.dir);
    const tar = tarOfOneFile('a.txt', Buffer.from('a\n'));
    const layer = await b.blob(gzipSync(tar), TAR_GZIP);
    // The same layer 20 000 times: ~3 MB of manifest, ~10 MB once each entry carries its TOC annotations.
    const manifest = await b.manifest(
      await b.config(),
      Array.from({ length: 20_000 }, () => layer),
    );
    expect(manifest.size).toBeLessThan(4 << 20);
    const root = await b.finish([{ desc: manifest, ref: 'img' }]);
    const src = { root, before: await treeDigest(root) };
    const dst = `${s.dir}/dst`;
    const r = await s.convert(['--zstdchunked', '--oci', `oci:${root}:img`, `oci:${dst}:out`]);
    expectOneLineFailure(
      r,
      new RegExp(
        `converted manifest of ${manifest.digest} would be \\d+ bytes, more than the 4 MiB limit for manifests`,
      ),
    );
    await expectNothingLeft(s, src, dst);
  });
});

interface JsonResult {
  Image: string;
  Layers: Array<{ Source: string; Result: string; MediaType: string; Converted: boolean; Reason?: string }>;
}

describe('F12: nothing is kept unconverted without a word', () => {
  it('refuses a top-level media type that is not an image, naming it', async () => {
    const s = await newScenario();
    const b = await LayoutBuilder.create(s.dir);
    const thing = await b.json({ hello: 'world' }, 'application/vnd.example.thing.v1+json');
    const root = await b.finish([{ desc: thing, ref: 'img' }]);
    const src = { root, before: await treeDigest(root) };
    const dst = `${s.dir}/dst`;
    const r = await s.convert(['--zstd', '--oci', `oci:${root}:img`, `oci:${dst}:out`]);
    expectOneLineFailure(r, /application\/vnd\.example\.thing\.v1\+json.*not an image/);
    await expectNothingLeft(s, src, dst);
  });

  it('warns about and lists a layer whose media type it does not know', async () => {
    const s = await newScenario();
    const b = await LayoutBuilder.create(s.dir);
    const tar = tarOfOneFile('a.txt', Buffer.from('a\n'));
    const layer = await b.blob(gzipSync(tar), TAR_GZIP);
    const odd = await b.blob('not a tar', 'application/vnd.example.odd.v1');
    const manifest = await b.manifest(await b.config(), [layer, odd]);
    const root = await b.finish([{ desc: manifest, ref: 'img' }]);
    const r = await s.convert([
      '--zstd',
      '--oci',
      '--format',
      'json',
      `oci:${root}:img`,
      `oci:${s.dir}/dst:out`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l !== '');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`warning: .*${odd.digest}.*application/vnd\\.example\\.odd\\.v1`));
    const out = JSON.parse(r.stdout) as JsonResult;
    expect(out.Layers.map((l) => [l.Source, l.Converted])).toEqual([
      [layer.digest, true],
      [odd.digest, false],
    ]);
    expect(out.Layers[1]?.Reason).toMatch(/not a layer media type/);
    expect(out.Layers[1]?.Result).toBe(odd.digest);
  });

  it('--uncompress decompresses a gzip layer labelled as plain tar, keeping the DiffID', async () => {
    const s = await newScenario();
    const b = await LayoutBuilder.create(s.dir);
    const tar = tarOfOneFile('a.txt', Buffer.from('mislabelled\n'));
    const layer = await b.blob(gzipSync(tar), TAR);
    const manifest = await b.manifest(await b.config([sha256(tar)]), [layer]);
    const root = await b.finish([{ desc: manifest, ref: 'img' }]);
    const dst = `${s.dir}/dst`;
    const r = await s.convert(['--uncompress', '--format', 'json', `oci:${root}:img`, `oci:${dst}:out`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`warning: .*${layer.digest}.*labelled.*tar.*gzip`));
    const out = JSON.parse(r.stdout) as JsonResult;
    expect(out.Layers).toHaveLength(1);
    expect(out.Layers[0]).toMatchObject({
      Source: layer.digest,
      Result: sha256(tar),
      MediaType: TAR,
      Converted: true,
    });
    const written = await readFile(join(dst, 'blobs', 'sha256', sha256(tar).slice(7)));
    expect(sha256(written)).toBe(sha256(tar));
  });

  it('--uncompress refuses a mislabelled layer whose config DiffID names the compressed bytes', async () => {
    const s = await newScenario();
    const b = await LayoutBuilder.create(s.dir);
    const tar = tarOfOneFile('a.txt', Buffer.from('mislabelled\n'));
    const layer = await b.blob(gzipSync(tar), TAR);
    const manifest = await b.manifest(await b.config([layer.digest]), [layer]);
    const root = await b.finish([{ desc: manifest, ref: 'img' }]);
    const src = { root, before: await treeDigest(root) };
    const dst = `${s.dir}/dst`;
    const r = await s.convert(['--uncompress', `oci:${root}:img`, `oci:${dst}:out`]);
    expectOneLineFailure(r, new RegExp(`layer ${layer.digest}.*gzip.*${layer.digest}`));
    await expectNothingLeft(s, src, dst);
  });
});

describe('an oci-archive source cut short', () => {
  // The archive GNU tar writes of a layout whose layer is a 200 kB entry, cut inside that entry (just after
  // its header, where the extractor used to leave the entry's pipeline waiting forever) or inside a header.
  const cuts: Array<[string, (header: number) => number]> = [
    ['just after a blob entry header', (header) => header + 512 + 300],
    ['inside a header block', (header) => header + 200],
  ];
  for (const [where, cut] of cuts) {
    it(`fails ${where} with one line naming the archive, leaving nothing in $TMPDIR`, async () => {
      const s = await newScenario();
      const b = await LayoutBuilder.create(s.dir);
      const tar = tarOfOneFile('noise.bin', randomBytes(200_000));
      const layer = await b.blob(tar, TAR);
      const manifest = await b.manifest(await b.config([sha256(tar)]), [layer]);
      const root = await b.finish([{ desc: manifest, ref: 'img' }]);
      const src = { root, before: await treeDigest(root) };
      const archive = join(s.dir, 'cut.tar');
      await execFileAsync('tar', ['-cf', archive, '-C', root, '.']);
      const whole = await readFile(archive);
      const header = whole.indexOf(Buffer.from(`blobs/sha256/${layer.digest.slice(7)}`));
      expect(header).toBeGreaterThan(0);
      await truncate(archive, cut(header));
      const dst = `${s.dir}/dst`;
      const r = await s.convert(['--zstd', `oci-archive:${archive}:img`, `oci:${dst}:out`]);
      expectOneLineFailure(
        r,
        new RegExp(`OCI archive ${archive} ends inside an entry: the file is truncated`),
      );
      await expectNothingLeft(s, src, dst);
    });
  }
});

export { TAR };
