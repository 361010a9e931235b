// End to end: `--zstdchunked` on the fixture images in a real containerd, checked by code nobody here wrote —
// containerd's `ctr`, the `zstd` CLI, the shared readers' `zstdchunked-verify` (stargz-snapshotter 0.12 and
// containers/storage 1.43, ../shared/interop) and the project's Go checker (vbatts/tar-split's archive/tar
// fork and asm, stargz's reader) — against what fixtures.json says each layer must become: zstd:chunked, or
// plain zstd with the reason (docs/format.md#fallback-to-plain-zstd).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { zstdDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tsconvert, type CliResult } from '../helpers/cli.js';
import { testContainerd } from '../helpers/containerd.js';
import {
  blob,
  expectComplete,
  expectNoLeftovers,
  imageDigest,
  importedImage,
  json,
  ingestsByRef,
  type ImportedImage,
} from '../helpers/e2e.js';
import type { ChunkedExpectation, FixtureLayer } from '../helpers/fixtures.js';
import {
  checkZstdChunked,
  ensureInteropTools,
  verifyWithSharedTools,
  type CheckOptions,
  type SharedVerifyResult,
} from '../helpers/interop.js';

const run = promisify(execFile);
const ZSTD_LAYER = 'application/vnd.oci.image.layer.v1.tar+zstd';

const LEGACY_KEYS = [
  'io.containers.zstd-chunked.manifest-checksum',
  'io.containers.zstd-chunked.manifest-position',
];
const STARGZ_KEYS = [
  'containerd.io/snapshot/stargz/toc.digest',
  'io.containers.estargz.uncompressed-size',
  ...LEGACY_KEYS,
];
const CONTAINERS_KEYS = [
  'io.github.containers.zstd-chunked.manifest-checksum',
  'io.github.containers.zstd-chunked.manifest-position',
  'io.github.containers.zstd-chunked.tarsplit-position',
];
const TOC_KEYS = [...STARGZ_KEYS, ...CONTAINERS_KEYS];

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string };
  annotations?: Record<string, string>;
}
interface Manifest {
  config: Desc;
  layers: Desc[];
}
interface LayerReport {
  Source: string;
  Result: string;
  MediaType: string;
  Format: string;
  Converted: boolean;
  Reason?: string;
}
interface JsonOutput {
  Image: string;
  Layers: LayerReport[];
}
interface TocEntry {
  type: string;
  name: string;
  linkName?: string;
  size?: number;
  digest?: string;
  offset?: number;
  endOffset?: number;
  chunkSize?: number;
  chunkDigest?: string;
}
interface TarSplitLine {
  type: number;
  name?: string;
  size?: number;
  payload: string | null;
}
interface Toc {
  version: number;
  entries: TocEntry[];
  tarSplitDigest: string;
}

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let work = '';
beforeAll(async () => {
  await ensureInteropTools();
  work = await mkdtemp(join(tmpdir(), 'tsc-zchunked-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** A layer blob from containerd, saved to a file for the CLIs. */
async function saveBlob(namespace: string, digest: string): Promise<{ path: string; bytes: Buffer }> {
  const bytes = await blob(namespace, digest);
  const path = join(work, `${digest.slice(7)}.zst`);
  await writeFile(path, bytes);
  return { path, bytes };
}

/** `zstd -dc` of a file: the uncompressed tar as the reference decoder sees it. */
async function zstdDecompress(path: string): Promise<Buffer> {
  const { stdout } = await run('zstd', ['-dc', path], { encoding: 'buffer', maxBuffer: 1 << 30 });
  return stdout;
}

/** zstdchunked-verify must say OK; its report. */
async function sharedVerify(
  what: string,
  path: string,
  opts: Parameters<typeof verifyWithSharedTools>[1],
): Promise<SharedVerifyResult> {
  const out = await verifyWithSharedTools(path, opts);
  expect(out.result, `${what} zstdchunked-verify ${opts.mode}: ${out.error ?? ''}`).toBe('OK');
  return out;
}

/** The source layer's uncompressed tar, decompressed by the gzip / zstd CLIs from the source blob. */
async function sourceTar(namespace: string, layer: FixtureLayer): Promise<string> {
  const path = join(work, `${layer.digest.slice(7)}.source`);
  await writeFile(path, await blob(namespace, layer.digest));
  if (layer.compression === 'none') return path;
  const tool = layer.compression === 'gzip' ? 'gzip' : 'zstd';
  const { stdout } = await run(tool, ['-dc', path], { encoding: 'buffer', maxBuffer: 1 << 30 });
  await writeFile(`${path}.tar`, stdout);
  return `${path}.tar`;
}

/** The project's Go checker must say OK, given the source tar the blob must decompress to. */
async function goCheck(
  what: string,
  namespace: string,
  l: { source: FixtureLayer },
  path: string,
  opts: CheckOptions,
): Promise<void> {
  const sourceTarPath = await sourceTar(namespace, l.source);
  const out = await checkZstdChunked(path, { chunkSize: 4 * 1024 * 1024, sourceTar: sourceTarPath, ...opts });
  expect(out.result, `${what} zstdchunked-check: ${out.error ?? ''}`).toBe('OK');
  expect(out.diffId).toBe(l.source.diffId);
}

/** The skippable frame whose payload starts at `offset` with `length` bytes: checks its header, returns the payload. */
function skippablePayload(bytes: Buffer, offset: number, length: number): Buffer {
  const magic = bytes.readUInt32LE(offset - 8);
  expect(magic >= 0x184d2a50 && magic <= 0x184d2a5f, `skippable magic before offset ${offset}`).toBe(true);
  expect(bytes.readUInt32LE(offset - 4), `skippable frame length at ${offset}`).toBe(length);
  return bytes.subarray(offset, offset + length);
}

/** `offset:length:uncompressedLength[:type]` */
function position(value: string | undefined): number[] {
  expect(value).toMatch(/^\d+:\d+:\d+(:1)?$/);
  return (value ?? '').split(':').map(Number);
}

/**
 * The TOC as the legacy 40-byte footer locates it (stargz's way), checked against the manifest-position
 * annotation (containers/storage's way) and the two checksums.
 */
function readToc(bytes: Buffer, positionValue: string | undefined, checksum: string | undefined): Toc {
  const footer = bytes.subarray(bytes.length - 40);
  expect(footer.subarray(32).toString('latin1'), 'footer magic').toBe('GnUlInUx');
  skippablePayload(bytes, bytes.length - 40, 40);
  const [offset, length, ulength, type] = [0, 8, 16, 24].map((o) => Number(footer.readBigUInt64LE(o)));
  expect(type, 'footer TOC type').toBe(1);
  expect(position(positionValue)).toEqual([offset, length, ulength, 1]);
  const compressed = skippablePayload(bytes, offset ?? 0, length ?? 0);
  expect(sha256(compressed), 'manifest-checksum = sha256 of the compressed TOC').toBe(checksum);
  const raw = zstdDecompressSync(compressed);
  expect(raw.length).toBe(ulength);
  return JSON.parse(raw.toString('utf8')) as Toc;
}

/** TOC entries that stand for a tar member (chunk entries continue the previous file). */
const members = (toc: Toc): TocEntry[] => toc.entries.filter((e) => e.type !== 'chunk');
/** containers/storage 1.43 stops parsing at names with these characters (docs/format.md#checking-a-blob). */
const HARD_NAME = /["\\\n]/;

/** CRC-64/ISO (Go's hash/crc64 ISO table) as tar-split stores it: 8 bytes big-endian. Two 32-bit halves. */
const CRC_TABLE = Array.from({ length: 256 }, (_, i) => {
  let [hi, lo] = [0, i];
  for (let k = 0; k < 8; k++) {
    const odd = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (odd) hi = (hi ^ 0xd8000000) >>> 0;
  }
  return [hi, lo] as const;
});
function crc64(data: Buffer): Buffer {
  let [hi, lo] = [0xffffffff, 0xffffffff];
  for (const byte of data) {
    const [th, tl] = CRC_TABLE[(lo ^ byte) & 0xff] as readonly [number, number];
    lo = (((lo >>> 8) | (hi << 24)) ^ tl) >>> 0;
    hi = ((hi >>> 8) ^ th) >>> 0;
  }
  const out = Buffer.alloc(8);
  out.writeUInt32BE(~hi >>> 0, 0);
  out.writeUInt32BE(~lo >>> 0, 4);
  return out;
}

/**
 * The contents of every non-empty regular file, read the way a partial pull reads them: each TOC chunk
 * entry's frame (from its offset to the next chunk's offset, or to the file's endOffset) decompressed on its
 * own and checked against chunkSize, chunkDigest and the file digest. In TOC order.
 */
function fileContents(bytes: Buffer, toc: Toc): Array<{ name: string; content: Buffer }> {
  const files: Array<{ name: string; content: Buffer }> = [];
  const entries = toc.entries;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as TocEntry;
    if (e.type !== 'reg' || (e.size ?? 0) === 0) continue;
    const parts: TocEntry[] = [e];
    while (entries[i + parts.length]?.type === 'chunk') parts.push(entries[i + parts.length] as TocEntry);
    const content = Buffer.concat(
      parts.map((c, k) => {
        const end = k + 1 < parts.length ? parts[k + 1]?.offset : c.endOffset;
        const frame = zstdDecompressSync(bytes.subarray(c.offset ?? 0, end ?? 0));
        expect(frame.length, `${e.name} chunk ${k} size`).toBe(c.chunkSize);
        expect(sha256(frame), `${e.name} chunk ${k} digest`).toBe(c.chunkDigest);
        return frame;
      }),
    );
    expect(parts.at(-1)?.endOffset, `${e.name}: the last chunk entry has endOffset`).toBeGreaterThan(0);
    expect(content.length, `${e.name} size`).toBe(e.size);
    expect(sha256(content), `${e.name} digest`).toBe(e.digest);
    files.push({ name: e.name, content });
    i += parts.length - 1;
  }
  return files;
}

/**
 * The tar rebuilt as containers/storage does from tar-split: segment lines give their bytes, file lines
 * take the member's content from the TOC's chunks (checked by fileContents).
 */
function rebuildTar(bytes: Buffer, toc: Toc, split: TarSplitLine[]): Buffer {
  const contents = fileContents(bytes, toc);
  const out: Buffer[] = [];
  split.forEach((line, position) => {
    expect((line as { position?: number }).position, 'tar-split positions count from 0').toBe(position);
    if (line.type === 2) {
      expect(line.payload, 'no empty segment').toBeTruthy();
      out.push(Buffer.from(line.payload ?? '', 'base64'));
      return;
    }
    expect(line.type).toBe(1);
    if ((line.size ?? 0) === 0) {
      expect(line.payload, `${line.name ?? ''}: no CRC without a payload`).toBeNull();
      return;
    }
    const next = contents.shift();
    expect(next?.name, 'tar-split file lines follow the TOC order').toBe(line.name);
    expect(next?.content.length).toBe(line.size);
    expect(line.payload, `${line.name ?? ''}: CRC-64/ISO`).toBe(
      crc64(next?.content ?? Buffer.alloc(0)).toString('base64'),
    );
    out.push(next?.content ?? Buffer.alloc(0));
  });
  expect(contents, 'every file of the TOC is in the tar-split').toEqual([]);
  return Buffer.concat(out);
}

interface ConvertedLayer {
  source: FixtureLayer;
  expect: ChunkedExpectation;
  out: Desc;
  report: LayerReport;
}

async function convert(img: ImportedImage, dst: string, extra: string[] = []): Promise<CliResult> {
  const r = await img.run([
    'image',
    'convert',
    '--zstdchunked',
    '--oci',
    '--all-platforms',
    '--format',
    'json',
    ...extra,
    img.name,
    dst,
  ]);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

/**
 * Image-level checks of a converted fixture (configs unchanged, duplicates kept, every blob present, nothing
 * left behind) and the list of converted layers, one per source digest, paired with the fixture's expectation.
 */
async function convertedLayers(img: ImportedImage, dst: string, r: CliResult): Promise<ConvertedLayer[]> {
  const out = JSON.parse(r.stdout) as JsonOutput;
  const target = out.Image.split('@')[1] ?? '';
  expect(out.Image).toBe(`${dst}@${target}`);
  expect(await imageDigest(img.namespace, dst)).toBe(target);
  const index = await json<{ manifests: Desc[] }>(img.namespace, target);
  const sources = img.fixture.manifests.filter((m) => m.platform.os === 'linux');
  const images = index.manifests.filter((m) => m.platform?.os === 'linux');
  expect(images.map((m) => m.platform?.architecture)).toEqual(sources.map((m) => m.platform.architecture));
  const layers = new Map<string, ConvertedLayer>();
  for (const entry of images) {
    const src = sources.find((m) => m.platform.architecture === entry.platform?.architecture);
    const manifest = await json<Manifest>(img.namespace, entry.digest);
    expect(manifest.config.digest, 'config digest unchanged').toBe(src?.config.digest);
    expect(manifest.layers).toHaveLength(src?.layers.length ?? -1);
    for (const [i, outLayer] of manifest.layers.entries()) {
      const source = src?.layers[i] as FixtureLayer;
      if (source.duplicateOf !== null) {
        expect(outLayer, `duplicate position ${i}`).toEqual(manifest.layers[source.duplicateOf]);
      }
      const known = layers.get(source.digest);
      if (known) {
        expect(outLayer, `layer shared across platforms ${source.digest}`).toEqual(known.out);
        continue;
      }
      const report = out.Layers.find((l) => l.Source === source.digest);
      expect(report, `Layers entry for ${source.digest}`).toBeDefined();
      expect(source.zstdchunked, `fixtures.json states the path of ${source.digest}`).not.toBeNull();
      layers.set(source.digest, {
        source,
        expect: source.zstdchunked as ChunkedExpectation,
        out: outLayer,
        report: report as LayerReport,
      });
    }
  }
  // Attestation statements (fixtures.json: zstdchunked null) are not tar layers and are never converted.
  const statements = new Set(
    img.fixture.manifests.flatMap((m) => m.layers.filter((l) => l.zstdchunked === null).map((l) => l.digest)),
  );
  for (const l of out.Layers.filter((x) => statements.has(x.Source))) expect(l.Converted).toBe(false);
  expect(
    out.Layers.map((l) => l.Source)
      .filter((d) => !statements.has(d))
      .sort(),
  ).toEqual([...layers.keys()].sort());
  await expectComplete(img.namespace, dst, true);
  await expectNoLeftovers(img.namespace);
  return [...layers.values()];
}

/** What the JSON report and stderr say about one layer, and that it decompresses to its source tar. */
async function checkLayer(img: ImportedImage, l: ConvertedLayer, stderr: string): Promise<Buffer> {
  const what = `${l.source.digest} (${l.source.made})`;
  expect(l.report, what).toMatchObject({
    Result: l.out.digest,
    MediaType: ZSTD_LAYER,
    Format: l.expect.format,
    Converted: true,
  });
  expect(l.out.mediaType, what).toBe(ZSTD_LAYER);
  const warnings = stderr
    .split('\n')
    .filter((line) => /warning/i.test(line) && line.includes(l.source.digest));
  if (l.expect.format === 'zstd') {
    expect(l.report.Reason, what).toMatch(/^not zstd:chunked: /);
    expect(l.report.Reason, what).toContain(l.expect.reason);
    expect(warnings, `a warning names ${what}`).toHaveLength(1);
    expect(warnings[0]).toContain(l.expect.reason);
  } else if (l.expect.oldReaderStopsAt !== undefined) {
    expect(l.report.Reason, what).toBeUndefined();
    // One line naming the first entry containers/storage 1.43 stops reading at, and the readers losing data.
    expect(warnings, `one warning names ${what}`).toHaveLength(1);
    expect(warnings[0]).toContain(`entry ${JSON.stringify(l.expect.oldReaderStopsAt)} has a`);
    expect(warnings[0]).toContain('containers/storage 1.43 (podman 4.3, skopeo 1.9)');
  } else {
    expect(l.report.Reason, what).toBeUndefined();
    expect(warnings, what).toEqual([]);
  }
  const { path, bytes } = await saveBlob(img.namespace, l.out.digest);
  expect(sha256(bytes)).toBe(l.out.digest);
  expect(bytes.length).toBe(l.out.size);
  const tar = await zstdDecompress(path);
  expect(tar.length, `${what} uncompressed size`).toBe(l.source.uncompressedSize);
  expect(sha256(tar), `${what} decompresses to its source tar (DiffID)`).toBe(l.source.diffId);
  if (l.expect.format === 'zstd') {
    const keys = Object.keys(l.out.annotations ?? {});
    expect(
      keys.filter((k) => TOC_KEYS.includes(k)),
      `${what}: no TOC annotations on a fallback`,
    ).toEqual([]);
    expect(bytes.subarray(bytes.length - 8).toString('latin1')).not.toBe('GnUlInUx');
  }
  return bytes;
}

/** A zstd:chunked layer with the stargz annotation set: exact keys, TOC, both shared readers, our checker. */
async function checkStargzLayer(namespace: string, l: ConvertedLayer, bytes: Buffer): Promise<Toc> {
  const what = `${l.source.digest} (${l.source.made})`;
  const a = l.out.annotations ?? {};
  expect(Object.keys(a).sort(), `${what}: exactly the stargz annotation set`).toEqual(
    [...STARGZ_KEYS].sort(),
  );
  expect(a['io.containers.estargz.uncompressed-size']).toBe(String(l.source.uncompressedSize));
  const toc = readToc(
    bytes,
    a['io.containers.zstd-chunked.manifest-position'],
    a['io.containers.zstd-chunked.manifest-checksum'],
  );
  const position = a['io.containers.zstd-chunked.manifest-position'] ?? '';
  const [offset = 0, length = 0] = position.split(':').map(Number);
  const tocJson = zstdDecompressSync(bytes.subarray(offset, offset + length));
  expect(sha256(tocJson), `${what}: toc.digest = sha256 of the TOC JSON`).toBe(
    a['containerd.io/snapshot/stargz/toc.digest'],
  );
  expect(toc.version).toBe(1);
  expect(toc.tarSplitDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
  checkTocEncoding(toc);

  const path = join(work, `${l.out.digest.slice(7)}.zst`);
  const tocDigest = a['containerd.io/snapshot/stargz/toc.digest'] ?? '';
  const manifestChecksum = a['io.containers.zstd-chunked.manifest-checksum'] ?? '';
  const stargz = await sharedVerify(what, path, { mode: 'stargz', tocDigest });
  expect(stargz.diff_id).toBe(l.source.diffId);
  expect(stargz.entries).toBe(toc.entries.length);
  const cstorage = await sharedVerify(what, path, { mode: 'cstorage', manifestChecksum });
  expect(cstorage.diff_id).toBe(l.source.diffId);
  const hard = toc.entries.some((e) => HARD_NAME.test(e.name) || HARD_NAME.test(e.linkName ?? ''));
  if (!hard) expect(cstorage.entries, `${what}: cstorage entries`).toBe(members(toc).length);
  await goCheck(what, namespace, l, path, {
    annotations: 'stargz',
    tocDigest,
    manifestChecksum,
    manifestPosition: a['io.containers.zstd-chunked.manifest-position'],
  });
  return toc;
}

/** The whole check of a `--zstdchunked` conversion of a fixture with the default (stargz) annotations. */
async function checkStargzImage(
  img: ImportedImage,
  dst: string,
  r: CliResult,
): Promise<{ layers: ConvertedLayer[]; tocs: Toc[] }> {
  const layers = await convertedLayers(img, dst, r);
  const tocs: Toc[] = [];
  for (const l of layers) {
    const bytes = await checkLayer(img, l, r.stderr);
    if (l.expect.format === 'zstd:chunked') tocs.push(await checkStargzLayer(img.namespace, l, bytes));
  }
  return { layers, tocs };
}

/** docs/format.md#toc-json-encoding: the key order of a TOC entry. */
const KEY_ORDER = [
  'type',
  'name',
  'linkName',
  'mode',
  'size',
  'uid',
  'gid',
  'userName',
  'groupName',
  'modtime',
  'accesstime',
  'changetime',
  'devMajor',
  'devMinor',
  'xattrs',
  'digest',
  'offset',
  'endOffset',
  'chunkSize',
  'chunkOffset',
  'chunkDigest',
];

/** Keys in docs/format.md's order, zero and empty values omitted (but type and name, and xattr values). */
function checkTocEncoding(toc: Toc): void {
  expect(Object.keys(toc)).toEqual(['version', 'entries', 'tarSplitDigest']);
  for (const e of toc.entries) {
    const keys = Object.keys(e);
    const order = keys.map((k) => KEY_ORDER.indexOf(k));
    expect(
      order.every((at, i) => at >= 0 && (i === 0 || at > (order[i - 1] ?? -1))),
      keys.join(','),
    ).toBe(true);
    for (const [k, v] of Object.entries(e)) {
      if (k !== 'type' && k !== 'name') expect([0, '', null], `${e.name} ${k}`).not.toContain(v);
    }
  }
}

const EMPTY_DIGEST = sha256(Buffer.alloc(0));
const b64 = (b: Buffer | string): string => Buffer.from(b).toString('base64');
const T0 = '2024-01-01T00:00:00Z';
const NO_PAYLOAD = ['size', 'offset', 'endOffset', 'chunkSize', 'chunkOffset', 'chunkDigest'];

/**
 * TOC fields of the chunked fixture's members as Go's archive/tar (the tar-split fork containers/storage
 * uses) reads them (docs/format.md#toc-metadata-fields), written from the tar bytes
 * fixtures/gen/chunked-layers.mjs builds:
 * PAX overrides, GNU L/K names, GNU atime/ctime, truncated and negative PAX times, base-256 and PAX ids.
 * `absent` lists keys the entry must not have; `xattrs` must match exactly.
 */
const TOC_FIELDS: Record<string, Record<string, unknown> & { absent?: string[] }> = {
  './': { type: 'dir', mode: 0o755, modtime: T0, userName: 'root', groupName: 'root' },
  './bin/tool-hardlink': { type: 'hardlink', linkName: './bin/tool', absent: NO_PAYLOAD },
  './bin/suid': { type: 'reg', mode: 0o4755, size: 700 },
  './bin/empty': { type: 'reg', digest: EMPTY_DIGEST, absent: NO_PAYLOAD },
  './dev/null': { type: 'char', mode: 0o666, devMajor: 1, devMinor: 3 },
  './dev/loop0': { type: 'block', gid: 6, groupName: 'disk', devMajor: 7, absent: ['devMinor'] },
  './run/initctl': { type: 'fifo', mode: 0o600 },
  './etc/.wh.removed': { type: 'reg', digest: EMPTY_DIGEST, absent: NO_PAYLOAD },
  './var/cache/.wh..wh..opq': { type: 'reg', digest: EMPTY_DIGEST },
  './etc/nul-typeflag': { type: 'reg', size: 1500 },
  './etc/v7-file': { type: 'reg', size: 100, absent: ['userName', 'groupName'] },
  './home/user/.profile': { modtime: '2024-01-01T23:59:59Z', uid: 1000, gid: 100, userName: 'user' },
  './home/user/owner-only-numbers': { uid: 1234, gid: 5678, absent: ['userName', 'groupName'] },
  'big/one-chunk.bin': { size: 4194304, chunkSize: 4194304, absent: ['chunkOffset'] },
  'big/many-chunks.bin': { size: 3 * 4194304 + 12345, chunkSize: 4194304, absent: ['chunkOffset'] },
  [`names/${'prefix-part-'.repeat(12)}dir/in-prefix.txt`]: { type: 'reg', size: 50 },
  [`names/${'long-directory-name/'.repeat(14)}file-with-a-long-path.txt`]: { type: 'reg', size: 400 },
  'names/long-hardlink': {
    type: 'hardlink',
    linkName: `names/${'long-directory-name/'.repeat(14)}file-with-a-long-path.txt`,
  },
  'names/long-symlink': { type: 'symlink', linkName: `../${'target/'.repeat(40)}end` },
  'names/whale-🐳.txt': { type: 'reg', size: 9 },
  'names/日本語/ファイル.txt': { type: 'reg', size: 60 },
  'names/html <b>&amp; x': { type: 'reg', size: 20 },
  'names/line\u2028separator': { type: 'reg', digest: EMPTY_DIGEST },
  'esc/hard\nlink': { type: 'hardlink', linkName: 'esc/new\nline.txt' },
  'esc/link"to\\quote': { type: 'symlink', linkName: 'quote"d.txt' },
  'pax/': { type: 'dir', modtime: '2024-01-01T00:00:00.25Z' },
  'pax/xattrs.bin': {
    modtime: '2024-01-01T00:00:00.123456789Z',
    accesstime: '2024-01-01T00:00:00.5Z',
    changetime: '2024-01-01T00:00:01.000000001Z',
    xattrs: {
      'security.capability': b64(Buffer.from([1, 0, 0, 2, 0, 0x20, ...Array<number>(14).fill(0)])),
      'user.binary': b64(Buffer.from([0, 1, 0, 0xff, 0, 0x7f, 0])),
      'user.empty': '',
      'user.text': b64('hello=world\n'),
    },
  },
  'pax/dir-with-xattr/': { type: 'dir', xattrs: { 'trusted.overlay.opaque': b64('y') } },
  'pax/long-fraction': { modtime: '2024-01-01T00:00:00.999999999Z' },
  'pax/before-1970': { modtime: '1969-12-31T23:59:58.75Z', accesstime: '1969-12-31T00:00:00Z' },
  'pax/big-ids': { uid: 4000000, gid: 4000001, userName: 'ユーザー', groupName: 'grüppe' },
  'pax/twice': { type: 'reg', size: 33, xattrs: { 'user.second': b64(Buffer.from([2, 0, 2])) } },
  'pax/symlink-xattr': {
    type: 'symlink',
    linkName: 'xattrs.bin',
    changetime: '2024-01-01T00:01:39.1Z',
    xattrs: { 'user.on-link': b64('v') },
  },
  'gnu/': { type: 'dir', accesstime: '2024-01-01T00:00:10Z', changetime: '2024-01-01T00:00:20Z' },
  'gnu/file': { accesstime: '2024-01-01T00:00:30Z', changetime: '2024-01-01T00:00:40Z' },
  'gnu/atime-only': { accesstime: '2024-01-01T00:00:50Z', absent: ['changetime'] },
  'gnu/no-times': { absent: ['accesstime', 'changetime'] },
  [`gnu/${'very-long-gnu-name-'.repeat(15)}end`]: { type: 'reg', size: 300, accesstime: T0 },
  'gnu/long-target': { type: 'symlink', linkName: `${'../'.repeat(10)}${'gnu-target-'.repeat(12)}` },
  [`gnu/${'hardlink-name-'.repeat(10)}`]: { type: 'hardlink', linkName: 'gnu/file' },
  'gnu/big-ids': { uid: 5000000, gid: 5000001 },
  'gnu/tty': { type: 'char', mode: 0o620, devMajor: 4, devMinor: 1 },
  'many/empty-1999': { type: 'reg', digest: EMPTY_DIGEST, absent: NO_PAYLOAD },
};

function checkTocFields(tocs: Toc[]): void {
  const byName = new Map<string, TocEntry>();
  for (const toc of tocs) for (const e of members(toc)) byName.set(e.name, e);
  for (const [name, { absent = [], xattrs, ...fields }] of Object.entries(TOC_FIELDS)) {
    const e = byName.get(name) as Record<string, unknown> | undefined;
    expect(e, `TOC entry ${JSON.stringify(name)}`).toBeDefined();
    expect(e, name).toMatchObject(fields);
    if (xattrs !== undefined) expect(e?.xattrs, `${name} xattrs`).toEqual(xattrs);
    for (const key of absent) expect(e, `${name} has no ${key}`).not.toHaveProperty(key);
  }
  expect(
    byName.has('pax/overridden-by-the-second-x-header'),
    'a later x header replaces an earlier one',
  ).toBe(false);
}

describe('image convert --zstdchunked', () => {
  it('writes every fixture layer as fixtures.json says, lossless, accepted by both shared readers', async () => {
    const img = await importedImage('chunked');
    const dst = 'docker.io/tsconvert-test/chunked:zstdchunked';
    const r = await convert(img, dst);
    const { layers, tocs } = await checkStargzImage(img, dst, r);
    checkTocFields(tocs);
    // The fixture's coverage, so a generator change cannot quietly drop a case.
    const made = (f: string): number => layers.filter((l) => l.expect.format === f).length;
    expect(made('zstd:chunked')).toBe(8);
    expect(layers.flatMap((l) => (l.expect.format === 'zstd' ? [l.expect.reason] : [])).sort()).toEqual([
      'end-of-archive',
      'global header',
      'no earlier entry',
      'not UTF-8',
      'outside the years',
      'sparse',
      'two entries',
      'unsupported tar type',
    ]);
    expect(new Set(layers.map((l) => l.source.compression))).toEqual(new Set(['none', 'gzip', 'zstd']));
    expect(img.fixture.manifests[0]?.duplicates).toEqual([[0, 3, 13]]);
    // Eight fallbacks, and the escapes layer's note about containers/storage 1.43.
    expect(r.stderr.split('\n').filter((line) => /warning/i.test(line))).toHaveLength(9);
  });

  it('converts pzstd, zstd --long and skippable-frame sources of the multi fixture to zstd:chunked', async () => {
    const img = await importedImage('multi');
    const dst = 'docker.io/tsconvert-test/multi:zstdchunked';
    const r = await convert(img, dst);
    expect(r.stderr).not.toMatch(/warning/i);
    const { layers } = await checkStargzImage(img, dst, r);
    expect(layers.every((l) => l.report.Format === 'zstd:chunked')).toBe(true);
    expect(new Set(layers.map((l) => l.source.made))).toEqual(
      new Set(['gzip', 'tar', 'zstd', 'pzstd', 'zstd-long', 'zstd-skippable']),
    );
  });

  it('gives the same digests for two names, for a re-conversion of its own output, and for --jobs 1 and 4', async () => {
    const img = await importedImage('chunked');
    const a = JSON.parse((await convert(img, 'chunked:a', ['--jobs', '4'])).stdout) as JsonOutput;
    // --no-reuse: otherwise the second run would reuse the first one's layers instead of converting them.
    const b = JSON.parse(
      (await convert(img, 'chunked:b', ['--jobs', '1', '--no-reuse'])).stdout,
    ) as JsonOutput;
    const digestOf = (o: JsonOutput): string => o.Image.split('@')[1] ?? '';
    expect(digestOf(b)).toBe(digestOf(a));
    const bySource = (o: JsonOutput): LayerReport[] =>
      [...o.Layers].sort((x, y) => x.Source.localeCompare(y.Source));
    expect(bySource(b)).toEqual(bySource(a));

    // Converting tsconvert's own output again with the same options reproduces every blob.
    const again = await img.run([
      'image',
      'convert',
      '--zstdchunked',
      '--oci',
      '--all-platforms',
      '--format',
      'json',
      'docker.io/library/chunked:a',
      'chunked:again',
    ]);
    expect(again.code, again.stderr).toBe(0);
    const c = JSON.parse(again.stdout) as JsonOutput;
    expect(digestOf(c)).toBe(digestOf(a));
    expect(new Set(c.Layers.map((l) => l.Result))).toEqual(new Set(a.Layers.map((l) => l.Result)));
    for (const l of c.Layers) {
      const first = a.Layers.find((x) => x.Result === l.Source);
      expect(l.Result, `${l.Source} converted again`).toBe(l.Source);
      expect(l.Format, l.Source).toBe(first?.Format);
      expect(l.Reason, l.Source).toBe(first?.Reason);
    }
    expect(new Set(c.Layers.map((l) => l.Format))).toEqual(new Set(['zstd', 'zstd:chunked']));
    await expectComplete(img.namespace, 'docker.io/library/chunked:again', true);
    await expectNoLeftovers(img.namespace);
  });

  it('with --zstdchunked-annotations=containers writes the same blobs with exactly the containers set (both prefixes) and a tar-split position', async () => {
    const img = await importedImage('chunked');
    const stargz = JSON.parse((await convert(img, 'chunked:stargz')).stdout) as JsonOutput;
    const dst = 'docker.io/tsconvert-test/chunked:containers';
    const r = await convert(img, dst, ['--zstdchunked-annotations', 'containers']);
    const layers = await convertedLayers(img, dst, r);
    const chunked = layers.filter((l) => l.expect.format === 'zstd:chunked');
    expect(chunked).toHaveLength(8);
    for (const l of layers) {
      const bytes = await checkLayer(img, l, r.stderr);
      expect(l.out.digest, 'the annotation set does not change the blob').toBe(
        stargz.Layers.find((s) => s.Source === l.source.digest)?.Result,
      );
      if (l.expect.format !== 'zstd:chunked') continue;
      const what = `${l.source.digest} (${l.source.made})`;
      const a = l.out.annotations ?? {};
      expect(Object.keys(a).sort(), `${what}: exactly the containers set`).toEqual(
        [...CONTAINERS_KEYS, ...LEGACY_KEYS].sort(),
      );
      // containers/storage 1.43 reads only the old prefix: the same TOC, under both names.
      expect(a['io.containers.zstd-chunked.manifest-checksum']).toBe(
        a['io.github.containers.zstd-chunked.manifest-checksum'],
      );
      expect(a['io.containers.zstd-chunked.manifest-position']).toBe(
        a['io.github.containers.zstd-chunked.manifest-position'],
      );
      const toc = readToc(
        bytes,
        a['io.github.containers.zstd-chunked.manifest-position'],
        a['io.github.containers.zstd-chunked.manifest-checksum'],
      );
      const [offset = 0, length = 0, ulength = 0, ...rest] = position(
        a['io.github.containers.zstd-chunked.tarsplit-position'],
      );
      expect(rest, 'tarsplit-position has three fields').toEqual([]);
      const payload = skippablePayload(bytes, offset, length);
      expect(sha256(payload), `${what}: tarSplitDigest = sha256 of the tar-split frame payload`).toBe(
        toc.tarSplitDigest,
      );
      const path = join(work, `${l.out.digest.slice(7)}.zst`);
      const tarSplitBytes = zstdDecompressSync(payload);
      expect(tarSplitBytes.length).toBe(ulength);
      const tarSplit = tarSplitBytes.toString('utf8');
      const lines = tarSplit.split('\n');
      expect(lines.pop(), 'tar-split ends with a newline').toBe('');
      const split = lines.map((line) => JSON.parse(line) as TarSplitLine);
      const files = split.filter((o) => o.type === 1);
      expect(files.length, `${what}: one tar-split file line per member`).toBe(members(toc).length);
      const rebuilt = rebuildTar(bytes, toc, split);
      expect(rebuilt.equals(await zstdDecompress(path)), `${what}: tar-split + TOC payloads = the tar`).toBe(
        true,
      );

      const manifestChecksum = a['io.github.containers.zstd-chunked.manifest-checksum'] ?? '';
      const manifestPosition = a['io.github.containers.zstd-chunked.manifest-position'];
      // containers/storage 1.43's reader, given the keys it reads (the old prefix), finds the TOC.
      const cstorage = await sharedVerify(what, path, {
        mode: 'cstorage',
        manifestChecksum: a['io.containers.zstd-chunked.manifest-checksum'] ?? '',
        manifestPosition: a['io.containers.zstd-chunked.manifest-position'],
      });
      expect(cstorage.diff_id).toBe(l.source.diffId);
      await goCheck(what, img.namespace, l, path, {
        annotations: 'containers',
        manifestChecksum,
        manifestPosition,
        tarSplitPosition: a['io.github.containers.zstd-chunked.tarsplit-position'],
      });
    }
  });

  it('converts a layer listed eight times once: no warning, one Write stream, no temporary files', async () => {
    const img = await importedImage('dup8');
    const { address } = testContainerd();
    const tmp = await mkdtemp(join(work, 'tmpdir-'));
    const r = await tsconvert(
      [
        '-a',
        address,
        '-n',
        img.namespace,
        '--debug',
        'image',
        'convert',
        '--zstdchunked',
        '--oci',
        '--jobs',
        '4',
        '--format',
        'json',
        img.name,
        'dup8:zstdchunked',
      ],
      { TMPDIR: tmp },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning|error|cancel/i);
    const dup = img.fixture.manifests[0]?.layers[0]?.digest ?? '';
    // One conversion: one ingest (written through its file; the stream count is in convert-safety's test).
    expect(ingestsByRef(r.stderr).get(`tsconvert-zstdchunked-from-${dup}`)).toBe(1);
    const out = JSON.parse(r.stdout) as JsonOutput;
    expect(out.Layers.map((l) => l.Format)).toEqual(['zstd:chunked', 'zstd:chunked']);
    const manifest = await json<Manifest>(img.namespace, out.Image.split('@')[1] ?? '');
    expect(manifest.layers).toHaveLength(9);
    expect(new Set(manifest.layers.slice(0, 8).map((l) => l.digest)).size).toBe(1);
    const layer = manifest.layers[0] as Desc;
    const { path, bytes } = await saveBlob(img.namespace, layer.digest);
    expect(sha256(await zstdDecompress(path))).toBe(img.fixture.manifests[0]?.layers[0]?.diffId);
    readToc(
      bytes,
      layer.annotations?.['io.containers.zstd-chunked.manifest-position'],
      layer.annotations?.['io.containers.zstd-chunked.manifest-checksum'],
    );
    const tocDigest = layer.annotations?.['containerd.io/snapshot/stargz/toc.digest'] ?? '';
    await sharedVerify('dup8 base', path, { mode: 'stargz', tocDigest });
    const source = img.fixture.manifests[0]?.layers[0] as FixtureLayer;
    await goCheck('dup8 base', img.namespace, { source }, path, { annotations: 'stargz', tocDigest });
    expect(await readdir(tmp), 'nothing left in $TMPDIR').toEqual([]);
    await expectComplete(img.namespace, 'docker.io/library/dup8:zstdchunked');
    await expectNoLeftovers(img.namespace);
  });
});
