// Proves the Go oracle (test/interop/zstdchunked-check) before it judges tsconvert's writer: a blob laid
// out as docs/format.md says passes it (and ../shared/interop's readers), and each variant with one
// deliberate defect fails with a message naming that defect. The blobs come from the throwaway generator
// test/interop/testdata-gen, run on a GNU tar, a POSIX (PAX) tar from GNU tar and a hand-built PAX tar
// with binary xattrs, devices, a fifo and trailing zero blocks.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, link, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkZstdChunked,
  ensureInteropTools,
  INTEROP_BIN,
  verifyWithSharedTools,
  type CheckResult,
} from '../helpers/interop.js';
import { END, member, pax } from '../unit/zstdchunked/tars.js';

const run = promisify(execFile);
const CHUNK = 4096;
const BUILD = join(dirname(fileURLToPath(import.meta.url)), 'build.sh');

interface Variant {
  name: string;
  blob: string;
  tocDigest: string;
  manifestChecksum: string;
  manifestPosition: string;
  tarSplitPosition: string;
}

/** What the checker must say about each broken variant. */
const EXPECTED_FAILURES: Record<string, RegExp> = {
  'bad-chunk-digest':
    /^TOC entry \d+ \(name "[^"]+"\) vs chunk 1 of member \d+ .*: field chunkDigest: TOC has "sha256:\w+", expected "sha256:\w+"$/,
  'toc-mode-differs':
    /^TOC entry \d+ \(name "[^"]+"\) vs member \d+ .*: field mode: TOC has \d+, expected \d+$/,
  'toc-modtime-rounded': /: field modtime: TOC has "[\dT:-]+Z", expected "[\dT:-]+\.\d+Z"$/,
  'toc-name-normalized': /: field name: TOC has "([^"]+)", expected "\.\/\1"$/,
  'bad-tarsplit-crc':
    /^tar-split line \d+ \(member \d+\) \("[^"]+"\): CRC-64 payload [0-9a-f]{16}, the content's CRC-64\/ISO is [0-9a-f]{16}$/,
  'html-escaped-name':
    /^TOC entry \d+ \(name ".*\\u003c.*"\): not the canonical JSON of docs\/format\.md#toc-json-encoding .*got \[.*\\u003c.*\] want \[.*<.*\]$/,
  'missing-eoa':
    /^no end-of-archive blocks: after the last member \(stream offset \d+\) the stream has 0 bytes/,
  'bad-tarsplit-digest':
    /^tar-split: the TOC's tarSplitDigest is sha256:\w+, the skippable frame after the TOC has sha256 sha256:\w+$/,
  'padding-in-payload':
    /^member \d+ \("[^"]+"\): payload ends at stream offset \d+, inside data frame \d+ .*payload frames hold payload bytes only$/,
  'toc-missing-atime': /: field accesstime: TOC has \(absent\), expected "[^"]+"$/,
  'chunk-offset-shifted': /vs chunk 1 of member \d+ .*: field offset: TOC has (\d+), expected \d+$/,
};

let dir: string;
const variants: Record<string, Variant[]> = {};

async function tree(root: string): Promise<void> {
  const d = join(root, 'd');
  await mkdir(join(d, 'sub'), { recursive: true });
  const bytes = (n: number, seed: number): Buffer =>
    Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + (i >> 7)) & 0xff));
  await writeFile(join(d, 'multi.bin'), bytes(3 * CHUNK + 123, 7));
  await writeFile(join(d, 'one.bin'), bytes(CHUNK, 13));
  await writeFile(join(d, 'small.txt'), 'hello\n');
  await writeFile(join(d, 'empty'), '');
  await writeFile(join(d, '<a&b>.txt'), 'html\n');
  await writeFile(join(d, 'q"b\\s\nnl'), 'x');
  await writeFile(join(d, 'sub', `${'long-name-'.repeat(12)}.txt`), 'long\n');
  await symlink('one.bin', join(d, 'link'));
  await link(join(d, 'one.bin'), join(d, 'hard'));
  const t = new Date('2024-01-02T03:04:05.123Z');
  await utimes(join(d, 'multi.bin'), t, t);
}

/** PAX xattrs with NUL bytes and an empty value, a char device, a fifo, 9 KiB of trailing zero blocks. */
function handTar(): Buffer {
  return Buffer.concat([
    member({ name: './', type: '5', mode: 0o755 }),
    pax('./PaxHeaders/x', [
      ['mtime', '1700000000.987654321'],
      ['SCHILY.xattr.user.bin', Buffer.from([0x61, 0x00, 0x62, 0xff])],
      ['SCHILY.xattr.user.empty', ''],
    ]),
    member({ name: './x.bin', data: Buffer.alloc(CHUNK * 2 + 1, 9), uid: 1000, uname: 'u', gname: 'g' }),
    member({ name: './dev-null', type: '3', mode: 0o666 }),
    member({ name: './fifo', type: '6', mode: 0o600 }),
    END,
    Buffer.alloc(9216),
  ]);
}

async function generate(name: string, tar: string): Promise<void> {
  const out = join(dir, name);
  await mkdir(out);
  const gen = join(INTEROP_BIN, 'zstdchunked-testgen');
  const { stdout } = await run(gen, ['--chunk-size', String(CHUNK), '--out', out, tar]);
  variants[name] = JSON.parse(stdout) as Variant[];
}

beforeAll(async () => {
  // Always rebuild the checker: a failed build fails every test here, nothing is skipped.
  await run('bash', [BUILD], { timeout: 900_000 }).catch((err: unknown) => {
    const e = err as { stderr?: string; message: string };
    throw new Error(`test/interop/build.sh failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  });
  await ensureInteropTools();
  dir = await mkdtemp(join(tmpdir(), 'tsc-zcc-'));
  const src = join(dir, 'src');
  await tree(src);
  await run('tar', ['--format=gnu', '-cf', join(dir, 'gnu.tar'), '-C', src, '.']);
  await run('tar', ['--format=posix', '-cf', join(dir, 'pax.tar'), '-C', src, '.']);
  await writeFile(join(dir, 'hand.tar'), handTar());
  for (const t of ['gnu', 'pax', 'hand']) await generate(t, join(dir, `${t}.tar`));
});

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function variant(tar: string, name: string): Variant {
  const v = variants[tar]?.find((x) => x.name === name);
  if (v === undefined) throw new Error(`the generator wrote no ${name} variant for ${tar}.tar`);
  return v;
}

describe.each(['gnu', 'pax', 'hand'])('zstdchunked-check on blobs from %s.tar', (tar) => {
  it('accepts the docs/format.md blob with every option given, as stargz and as containers annotations', async () => {
    const v = variant(tar, 'good');
    const common = {
      manifestPosition: v.manifestPosition,
      tarSplitPosition: v.tarSplitPosition,
      chunkSize: CHUNK,
      sourceTar: join(dir, `${tar}.tar`),
    };
    const stargz = await checkZstdChunked(v.blob, {
      ...common,
      annotations: 'stargz',
      tocDigest: v.tocDigest,
    });
    expect(stargz, stargz.error).toMatchObject({
      result: 'OK',
      tocDigest: v.tocDigest,
      manifestChecksum: v.manifestChecksum,
    });
    const containers = await checkZstdChunked(v.blob, {
      ...common,
      annotations: 'containers',
      manifestChecksum: v.manifestChecksum,
    });
    expect(containers.result, containers.error).toBe('OK');
    // The same blob is a real zstd:chunked blob for the shared readers too.
    const shared = await verifyWithSharedTools(v.blob, { mode: 'stargz', tocDigest: v.tocDigest });
    expect(shared.result, shared.error).toBe('OK');
    expect(shared.entries).toBe(stargz.entries);
    expect(shared.chunks_verified).toBe(stargz.chunks);
    const cstorage = await verifyWithSharedTools(v.blob, {
      mode: 'cstorage',
      manifestChecksum: v.manifestChecksum,
    });
    expect(cstorage.result, cstorage.error).toBe('OK');
    expect(shared.diff_id).toBe(stargz.diffId);
  });

  it('names the defect of every broken variant', async () => {
    const broken = (variants[tar] ?? []).filter((v) => v.name !== 'good');
    expect(broken.length).toBeGreaterThanOrEqual(8);
    for (const v of broken) {
      const pattern = EXPECTED_FAILURES[v.name];
      expect(pattern, `no expectation for variant ${v.name}`).toBeDefined();
      const r: CheckResult = await checkZstdChunked(v.blob, {
        tocDigest: v.tocDigest,
        manifestChecksum: v.manifestChecksum,
      });
      expect(r.result, `${v.name} passed`).toBe('FAIL');
      expect(r.error, v.name).toMatch(pattern as RegExp);
    }
  });
});

describe('zstdchunked-check', () => {
  it('covers every variant on at least one tar', () => {
    const seen = new Set(Object.values(variants).flatMap((vs) => vs.map((v) => v.name)));
    expect([...seen].sort()).toEqual(['good', ...Object.keys(EXPECTED_FAILURES)].sort());
  });

  it('rejects wrong annotation values and a missing digest for the chosen set', async () => {
    const v = variant('pax', 'good');
    const other = variant('pax', 'toc-mode-differs');
    expect((await checkZstdChunked(v.blob, { tocDigest: other.tocDigest })).error).toMatch(
      /^TOC: --toc-digest sha256:\w+, the uncompressed TOC's sha256 is sha256:\w+$/,
    );
    expect((await checkZstdChunked(v.blob, { manifestChecksum: other.manifestChecksum })).error).toMatch(
      /^TOC: --manifest-checksum sha256:\w+, the compressed TOC's sha256 is sha256:\w+$/,
    );
    expect((await checkZstdChunked(v.blob, { manifestPosition: '1:2:3:1' })).error).toMatch(
      /--manifest-position 1:2:3:1, the blob has \d+:\d+:\d+:1/,
    );
    expect((await checkZstdChunked(v.blob, { tarSplitPosition: '1:2:3' })).error).toMatch(
      /--tarsplit-position 1:2:3, the blob has \d+:\d+:\d+/,
    );
    expect((await checkZstdChunked(v.blob, { annotations: 'stargz' })).error).toMatch(
      /pass it as --toc-digest/,
    );
    expect((await checkZstdChunked(v.blob, { annotations: 'containers' })).error).toMatch(
      /pass it as --manifest-checksum/,
    );
    expect((await checkZstdChunked(v.blob, { chunkSize: 1000 })).error).toMatch(
      /the layer's fixed chunk size is 1000/,
    );
  });

  it('compares the decompressed blob with --source-tar byte for byte', async () => {
    const r = await checkZstdChunked(variant('pax', 'good').blob, { sourceTar: join(dir, 'gnu.tar') });
    expect(r.error).toMatch(
      /^the tar rebuilt from tar-split and the TOC differs from --source-tar at byte \d+/,
    );
  });

  it('rejects a damaged footer, a truncated blob and a frame of garbage', async () => {
    const good = await readFile(variant('gnu', 'good').blob);
    const cases: Array<[string, Buffer, RegExp]> = [
      [
        'magic',
        Buffer.concat([good.subarray(0, -1), Buffer.from('X')]),
        /^footer: footer magic "GnUlInUX", want "GnUlInUx"$/,
      ],
      [
        'truncated',
        good.subarray(0, good.length - 100),
        /^frames: found 2 skippable frames|^frames: offset \d+: .*past the end/,
      ],
      [
        'garbage',
        Buffer.concat([Buffer.from('not a frame'), good]),
        /^frames: offset 0: no zstd or skippable frame magic/,
      ],
    ];
    for (const [name, bytes, pattern] of cases) {
      const path = join(dir, `damaged-${name}.zst`);
      await writeFile(path, bytes);
      expect((await checkZstdChunked(path)).error, name).toMatch(pattern);
    }
  });
});
