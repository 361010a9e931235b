// Reads the .cpuprofile files node's --cpu-prof wrote (one per thread: the main thread and each worker) and
// sums self time per function, so the report can say where tsconvert's time goes.

import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** @typedef {{ name: string, where: string, selfMs: number }} Hot */
/** @typedef {{ file: string, main: boolean, totalMs: number, idleMs: number, top: Hot[], categories: Record<string, number> }} ThreadProfile */

/** Rough buckets for self time, by function name and script. */
const CATEGORIES = /** @type {const} */ ([
  ['garbage collector', (/** @type {string} */ n) => n === '(garbage collector)'],
  ['zstd compression (zstd-napi calls)', (n, w) => w.includes('zstd-napi') || w.startsWith('dist/zstd/')],
  ['worker pool task code ([worker eval]: compression, hashing)', (_n, w) => w.startsWith('[worker eval]')],
  ['sha256 (node:crypto)', (_n, w) => w.startsWith('node:internal/crypto')],
  ['CRC-64', (_n, w) => w.includes('crc64')],
  [
    'gunzip glue (node:zlib JS side; inflate itself runs on libuv threads, not profiled)',
    (_n, w) => w.startsWith('node:zlib'),
  ],
  [
    'gRPC / protobuf / http2',
    (_n, w) =>
      w.includes('@grpc') ||
      w.includes('protobufjs') ||
      w.includes('http2') ||
      w.includes('node:internal/stream_base'),
  ],
  ['tar scanning', (_n, w) => w.startsWith('dist/tar/') || w.includes('tar-stream')],
  ['tsconvert (other dist/ code)', (_n, w) => w.startsWith('dist/')],
  [
    'streams, buffers, events',
    (_n, w) => /node:(internal\/streams|buffer|events|internal\/buffer|internal\/worker)/.test(w),
  ],
  [
    'start-up and module loading',
    (n, w) => /loader|bootstrap|modules/.test(w) || n === 'compileFunction' || n === 'wrapSafe',
  ],
  ['VM / native (program, postMessage, ...)', (_n, w) => w === ''],
]);

/** @param {string} name @param {string} where */
export function categorise(name, where) {
  for (const [label, test] of CATEGORIES) if (test(name, where)) return label;
  return 'other';
}

/** @param {string} url @param {string} root */
function shortUrl(url, root) {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '');
  return path.startsWith(root) ? path.slice(root.length + 1) : url.startsWith('node:') ? url : basename(path);
}

/**
 * @param {string} dir where --cpu-prof-dir pointed @param {string} root repo root, stripped from paths
 * @param {number} topN
 * @returns {Promise<ThreadProfile[]>} main thread first, then workers by total time
 */
export async function summariseProfiles(dir, root, topN = 12) {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  /** @type {ThreadProfile[]} */
  const threads = [];
  for (const f of files) {
    const prof = JSON.parse(await readFile(join(dir, f), 'utf8'));
    /** @type {Map<number, any>} */
    const nodes = new Map(prof.nodes.map((/** @type {any} */ n) => [n.id, n]));
    /** @type {Map<string, Hot>} */
    const self = new Map();
    let totalMs = 0;
    let idleMs = 0;
    for (let i = 0; i < prof.samples.length; i++) {
      const node = nodes.get(prof.samples[i]);
      const ms = (prof.timeDeltas[i + 1] ?? 0) / 1000;
      if (!node) continue;
      const cf = node.callFrame;
      const name = cf.functionName || '(anonymous)';
      totalMs += ms;
      if (name === '(idle)') idleMs += ms;
      const where = cf.url ? `${shortUrl(cf.url, root)}:${cf.lineNumber + 1}` : '';
      const key = `${name}@${where}`;
      const hot = self.get(key) ?? { name, where, selfMs: 0 };
      hot.selfMs += ms;
      self.set(key, hot);
    }
    const busy = [...self.values()].filter((h) => h.name !== '(idle)');
    /** @type {Record<string, number>} */
    const categories = {};
    for (const h of busy) {
      const c = categorise(h.name, h.where);
      categories[c] = (categories[c] ?? 0) + h.selfMs;
    }
    const top = busy.sort((a, b) => b.selfMs - a.selfMs).slice(0, topN);
    // File names are CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main thread.
    threads.push({ file: f, main: /\.0\.\d+\.cpuprofile$/.test(f), totalMs, idleMs, top, categories });
  }
  return threads.sort((a, b) => Number(b.main) - Number(a.main) || b.totalMs - a.totalMs);
}
