// Deterministic tar layers shaped like the layers of a real root file system, for the benchmark: trees of
// many small text files (configs, docs, scripts), medium binaries of low compressibility (shared libraries),
// a few files of tens of MB (some long-range repetitive, some not), per-directory symlinks and hardlinks.
// Streams with constant memory; reports what it wrote through a stats object. Separate from
// fixtures/gen/big-layer.mjs (which the multi-GB test pins byte for byte) so the benchmark's content can
// change under its own version number (GENERATOR_VERSION) without touching the tests.

import { Buffer } from 'node:buffer';
import { ustarHeader } from '../fixtures/gen/big-layer.mjs';
import { Prng } from '../fixtures/gen/prng.mjs';

/** Bump when the bytes any profile produces change: it keys the image cache. */
export const GENERATOR_VERSION = 2;

const BLOCK = 512;
const CHUNK = 1 << 20;
const END_OF_ARCHIVE = 2 * BLOCK;

/**
 * How one layer is shaped. Per directory: `small` text files, `medium` binaries, and every `largeEvery`-th
 * directory one large file; `root` names the top of the tree ("usr/lib", "opt/app", ...).
 * @typedef {{ root: string, bytes: number, small: number, medium: number, largeEvery: number,
 *   smallSize?: [number, number], mediumSize?: [number, number], largeSize?: [number, number] }} LayerProfile
 */

/** @typedef {{ files: number, emptyFiles: number, dirs: number, symlinks: number, hardlinks: number, bytes: number, payloadBytes: number }} LayerStats */

/** @returns {LayerStats} */
export function emptyStats() {
  return { files: 0, emptyFiles: 0, dirs: 0, symlinks: 0, hardlinks: 0, bytes: 0, payloadBytes: 0 };
}

/** Lines of words, paths and numbers, 512 KiB, that small files are cut from. @param {Prng} rng */
function textCorpus(rng) {
  const words = [
    'usr',
    'lib',
    'share',
    'etc',
    'bin',
    'export',
    'PATH',
    'config',
    'true',
    'false',
    'none',
    'include',
    'python3',
    'locale',
    'default',
    'server',
    'enable',
    'timeout',
    '#',
    '=',
    '{',
    '}',
    'return',
  ];
  const lines = [];
  let len = 0;
  while (len < 512 * 1024) {
    const n = rng.range(2, 9);
    const parts = [];
    for (let i = 0; i < n; i++) parts.push(rng.int(5) === 0 ? String(rng.int(100000)) : rng.pick(words));
    const line = `${' '.repeat(rng.int(3) * 2)}${parts.join(rng.int(3) === 0 ? '/' : ' ')}\n`;
    lines.push(line);
    len += line.length;
  }
  return Buffer.from(lines.join(''), 'latin1');
}

/** 8-byte "instructions" machine code is made of: a fixed table, the same on every run. */
const OPS = (() => {
  const rng = new Prng('bench/ops');
  const t = new Uint32Array(512);
  for (let i = 0; i < t.length; i++) t[i] = rng.next();
  return t;
})();

/**
 * Machine-code-like bytes: pairs of words from a 256-entry instruction table with a random 16-bit operand,
 * and the last quarter of every 16 KiB zero (section padding). gzip -6 and zstd -3 both keep about 37%, as
 * they do for real shared libraries.
 */
function binary(/** @type {Prng} */ rng, /** @type {number} */ size) {
  const buf = rng.fill(Buffer.allocUnsafe(size));
  const words = new Uint32Array(buf.buffer, buf.byteOffset, Math.floor(size / 4));
  for (let j = 0; j + 1 < words.length; j += 2) {
    const r = /** @type {number} */ (words[j]);
    const k = (r >>> 24) * 2;
    words[j] = /** @type {number} */ (OPS[k] ^ (r & 0xffff)) >>> 0;
    words[j + 1] = /** @type {number} */ (OPS[k + 1]);
  }
  for (let i = 3072; i < words.length; i += 4096) words.fill(0, i, Math.min(i + 1024, words.length));
  return buf;
}

/**
 * One layer's tar as buffers (headers, data of at most 1 MiB, padding), pulled lazily.
 * @param {LayerProfile} p
 * @param {string} seed
 * @param {LayerStats} stats filled in as the tar is pulled
 * @returns {Generator<Buffer>}
 */
export function* rootfsLayerChunks(p, seed, stats) {
  const rng = new Prng(seed);
  const corpus = textCorpus(rng);
  const base = binary(rng, CHUNK);
  const [s0, s1] = p.smallSize ?? [60, 8000];
  const [m0, m1] = p.mediumSize ?? [24 << 10, 1536 << 10];
  const [l0, l1] = p.largeSize ?? [12 << 20, 48 << 20];
  const room = () => p.bytes - stats.bytes - END_OF_ARCHIVE - BLOCK;

  /** @param {Parameters<typeof ustarHeader>[0]} e */
  function* meta(e) {
    yield ustarHeader(e);
    stats.bytes += BLOCK;
  }
  /** @param {string} name @param {number} size @param {(n: number) => Buffer} chunk */
  function* file(name, size, chunk, mode = 0o644) {
    const n = Math.max(0, Math.min(size, room()));
    yield ustarHeader({ name, size: n, mode });
    for (let off = 0; off < n; off += CHUNK) yield chunk(Math.min(CHUNK, n - off));
    const pad = (BLOCK - (n % BLOCK)) % BLOCK;
    if (pad) yield Buffer.alloc(pad);
    stats.bytes += BLOCK + n + pad;
    stats.payloadBytes += n;
    stats.files++;
    if (n === 0) stats.emptyFiles++;
  }
  const text = (/** @type {number} */ n) => {
    const off = rng.int(corpus.length - n);
    return Buffer.from(corpus.subarray(off, off + n));
  };
  const repetitive = (/** @type {number} */ n) => {
    const buf = Buffer.from(base.subarray(0, n));
    for (let i = 0; i < 64; i++) buf.writeUInt32LE(rng.next(), rng.int(Math.max(1, n - 4)) & ~3);
    return buf;
  };

  for (let d = 0; room() > 0; d++) {
    const dir = `${p.root}/pkg${String(d).padStart(4, '0')}`;
    yield* meta({ name: `${dir}/`, type: '5', mode: 0o755 });
    stats.dirs++;
    for (let i = 0; i < p.small && room() > 0; i++) {
      const empty = i % 97 === 96;
      yield* file(`${dir}/f${i}.conf`, empty ? 0 : rng.range(s0, s1), text, i % 9 === 0 ? 0o755 : 0o644);
    }
    for (let i = 0; i < p.medium && room() > 0; i++)
      yield* file(`${dir}/lib${i}.so.1`, rng.range(m0, m1), (n) => binary(rng, n), 0o755);
    if (p.largeEvery > 0 && d % p.largeEvery === p.largeEvery - 1 && room() > 0)
      yield* file(
        `${dir}/blob.dat`,
        rng.range(l0, l1),
        d % (2 * p.largeEvery) === p.largeEvery - 1 ? repetitive : (n) => binary(rng, n),
      );
    if (p.medium > 0 && room() > 0) {
      yield* meta({ name: `${dir}/lib0.so`, type: '2', mode: 0o777, linkname: 'lib0.so.1' });
      stats.symlinks++;
    }
    if (p.small > 0 && room() > 0) {
      yield* meta({ name: `${dir}/f0.conf.orig`, type: '1', linkname: `${dir}/f0.conf` });
      stats.hardlinks++;
    }
  }
  yield Buffer.alloc(END_OF_ARCHIVE);
  stats.bytes += END_OF_ARCHIVE;
}

/**
 * A layer of `count` empty regular files in directories of 1000: the metadata-only extreme.
 * @param {number} count @param {LayerStats} stats @returns {Generator<Buffer>}
 */
export function* emptyFilesLayerChunks(count, stats) {
  const batch = [];
  for (let i = 0; i < count; i++) {
    if (i % 1000 === 0) {
      batch.push(
        ustarHeader({ name: `var/empty/d${String(i / 1000).padStart(4, '0')}/`, type: '5', mode: 0o755 }),
      );
      stats.dirs++;
    }
    batch.push(
      ustarHeader({ name: `var/empty/d${String(Math.floor(i / 1000)).padStart(4, '0')}/e${i}`, size: 0 }),
    );
    stats.files++;
    stats.emptyFiles++;
    if (batch.length >= 2048) {
      stats.bytes += batch.length * BLOCK;
      yield Buffer.concat(batch.splice(0));
    }
  }
  batch.push(Buffer.alloc(END_OF_ARCHIVE));
  stats.bytes += (batch.length - 1) * BLOCK + END_OF_ARCHIVE;
  yield Buffer.concat(batch);
}

const MiB = 1 << 20;

/** The four layers of the main image (about 1.36 GB uncompressed), scaled by `scale` for --quick. */
export function mainImageProfiles(scale = 1) {
  /** @type {LayerProfile[]} */
  const layers = [
    // A distribution base: /usr/share, /etc — mostly small text, some libraries.
    { root: 'usr/share', bytes: 300 * MiB, small: 600, medium: 10, largeEvery: 0 },
    // Shared libraries and toolchains: medium binaries, a large file now and then.
    { root: 'usr/lib', bytes: 420 * MiB, small: 120, medium: 40, largeEvery: 6 },
    // The application: a few tens-of-MB artefacts (models, bundles) plus its code.
    { root: 'opt/app', bytes: 450 * MiB, small: 200, medium: 12, largeEvery: 1 },
    // Site packages and locales: very many small files.
    { root: 'usr/local', bytes: 130 * MiB, small: 1200, medium: 1, largeEvery: 0, smallSize: [40, 3000] },
  ];
  return layers.map((l) => ({ ...l, bytes: Math.max(4 * MiB, Math.round(l.bytes * scale)) }));
}

/** The single mixed layer of the large scaling image. @param {number} bytes */
export function bigLayerProfile(bytes) {
  return { root: 'srv/data', bytes, small: 300, medium: 20, largeEvery: 2 };
}
