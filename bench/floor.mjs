// The floor estimate: CPU time of the work no zstd:chunked converter can skip, each step timed on its own
// with the fastest implementation the project has, then divided by the CPU count:
//   - gunzip: node:zlib, streaming with 1 MiB output pieces that are dropped as they come, as a streaming
//     converter drops them (the tar the other steps need is made by an untimed gunzipSync);
//   - zstd level 3 of exactly the frames zstd:chunked writes (docs/format.md#data-frames: header bytes of
//     payload-less members sharing frames up to 1 MiB, every file payload in 4 MiB chunks of one frame
//     each), one reused zstd context writing every frame back to back into one output area that is
//     already mapped, as the project's compression workers do (zstd-napi's Compressor.compress allocates
//     and often copies a compressBound-sized buffer per frame: ~25% more CPU on the bench image), no frame
//     checksum;
//   - sha256 of every byte the format makes us hash: the source (to check it), the tar (DiffID), the
//     output, every chunk (the TOC's chunkDigest) and every file of more than one chunk (its digest);
//   - CRC-64/ISO of every payload byte (tar-split), with the project's dist/util/crc64.js.
// Each step runs twice: once on one thread alone, and once on as many threads as there are CPUs, all
// doing the same step at the same moment. The second is what the machine really delivers with every core
// busy (two busy vCPUs here each ran zstd ~30% slower than one alone), so that is the floor the targets
// use; both are reported. Frame layout is computed with the project's tar scanner, untimed.
//
//   node bench/floor.mjs BLOB...     prints one JSON object

import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { URL, fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { createGunzip, gunzipSync } from 'node:zlib';

const CHUNK = 4 << 20;
const HEADER_FRAME = 1 << 20;
const STEPS = /** @type {const} */ (['gunzip', 'zstd', 'sha256', 'crc64']);
const DIST = join(fileURLToPath(new URL('..', import.meta.url)), 'dist');

/** @param {string} rel */
async function fromDist(rel) {
  const path = join(DIST, rel);
  if (!existsSync(path)) throw new Error(`${path} is missing: build the project first (npm run build)`);
  return import(path);
}

/**
 * The frames zstd:chunked cuts a tar into, as [start, end, isChunk] byte ranges, plus the payload ranges
 * (CRC-64) and the files of more than one chunk (whole-file sha256).
 * @param {Buffer} raw
 */
async function frameLayout(raw) {
  const { scanTar } = await fromDist('tar/index.js');
  /** @type {Array<[number, number, boolean]>} */
  const frames = [];
  /** @type {Array<[number, number]>} */
  const payloads = [];
  /** @type {Array<[number, number]>} */
  const multiChunk = [];
  let headerStart = 0;
  const headerFrames = (/** @type {number} */ end) => {
    for (let s = headerStart; s < end; s += HEADER_FRAME)
      frames.push([s, Math.min(end, s + HEADER_FRAME), false]);
  };
  async function* pieces() {
    for (let o = 0; o < raw.length; o += 1 << 20) yield raw.subarray(o, o + (1 << 20));
  }
  for await (const ev of scanTar(pieces())) {
    if (ev.kind !== 'member' || ev.member.payloadSize === 0) continue;
    const start = ev.member.payloadOffset;
    const end = start + ev.member.payloadSize;
    headerFrames(start);
    for (let s = start; s < end; s += CHUNK) frames.push([s, Math.min(end, s + CHUNK), true]);
    payloads.push([start, end]);
    if (end - start > CHUNK) multiChunk.push([start, end]);
    headerStart = end;
  }
  headerFrames(raw.length);
  return { frames, payloads, multiChunk };
}

/** One copy of the work, in a worker thread: runs the step the main thread names, when it names it. */
async function workerMain() {
  const { Crc64 } = await fromDist('util/crc64.js');
  const zstd = createRequire(import.meta.url)('zstd-napi/binding.js');
  const cctx = new zstd.CCtx();
  cctx.setParameter(zstd.CParameter.compressionLevel, 3);
  /** @type {any} */
  let layer;
  const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
  port.on('message', async (/** @type {{ step: string, path?: string }} */ m) => {
    const bytes = { source: 0, uncompressed: 0, output: 0, payload: 0, hashed: 0, frames: 0 };
    if (m.step === 'load') {
      layer = { src: await readFile(/** @type {string} */ (m.path)) };
    } else if (m.step === 'gunzip') {
      let size = 0;
      await pipeline(
        Readable.from([layer.src]),
        createGunzip({ chunkSize: 1 << 20 }),
        new Writable({
          write(c, _e, cb) {
            size += c.length;
            cb();
          },
        }),
      );
      layer.gunzipped = size;
    } else if (m.step === 'layout') {
      layer.raw = gunzipSync(layer.src);
      if (layer.raw.length !== layer.gunzipped) throw new Error('gunzip and gunzipSync disagree');
      Object.assign(layer, await frameLayout(layer.raw));
      // Written once here, so its pages are mapped before the timed step, like a reused slot's output area
      // (a fresh zero-filled buffer is mapped lazily, page by page, on first write).
      layer.outArea = Buffer.allocUnsafe(zstd.compressBound(layer.raw.length) + layer.frames.length * 128);
      layer.outArea.fill(0xa5);
    } else if (m.step === 'zstd') {
      let at = 0;
      for (const [s, e] of layer.frames)
        at += cctx.compress2(layer.outArea.subarray(at), layer.raw.subarray(s, e));
      layer.outLength = at;
    } else if (m.step === 'sha256') {
      const { src, raw, frames, multiChunk } = layer;
      createHash('sha256').update(src).digest();
      createHash('sha256').update(raw).digest();
      createHash('sha256').update(layer.outArea.subarray(0, layer.outLength)).digest();
      for (const [s, e, isChunk] of frames)
        if (isChunk) createHash('sha256').update(raw.subarray(s, e)).digest();
      for (const [s, e] of multiChunk) createHash('sha256').update(raw.subarray(s, e)).digest();
    } else if (m.step === 'crc64') {
      for (const [s, e] of layer.payloads) new Crc64().update(layer.raw.subarray(s, e));
    } else if (m.step === 'count') {
      const { src, raw, frames, multiChunk, payloads } = layer;
      const sum = (/** @type {Array<[number, number]>} */ rs) => rs.reduce((a, [s, e]) => a + e - s, 0);
      bytes.source = src.length;
      bytes.uncompressed = raw.length;
      bytes.output = layer.outLength;
      bytes.payload = sum(payloads);
      bytes.frames = frames.length;
      bytes.hashed =
        src.length + 2 * raw.length - sum(frames.filter((f) => !f[2])) + bytes.output + sum(multiChunk);
      layer = undefined;
    }
    port.postMessage({ step: m.step, bytes });
  });
}

/** Runs every step over every blob on `copies` threads at once; CPU per copy and step, in seconds. */
async function timed(copies, /** @type {string[]} */ blobs) {
  const src = fileURLToPath(import.meta.url);
  const workers = Array.from({ length: copies }, () => new Worker(src));
  /** @param {string} step @param {string} [path] */
  const all = (step, path) =>
    Promise.all(
      workers.map(
        (w) =>
          new Promise((resolve, reject) => {
            w.once('error', reject);
            w.once('message', (m) => {
              w.off('error', reject);
              resolve(m);
            });
            w.postMessage({ step, path });
          }),
      ),
    );
  /** @type {Record<string, number>} */
  const cpu = Object.fromEntries(STEPS.map((s) => [s, 0]));
  const bytes = { source: 0, uncompressed: 0, output: 0, payload: 0, hashed: 0, frames: 0 };
  try {
    for (const path of blobs) {
      await all('load', path);
      for (const step of ['gunzip', 'layout', 'zstd', 'sha256', 'crc64']) {
        const start = process.cpuUsage();
        await all(step);
        const d = process.cpuUsage(start);
        if (step !== 'layout') cpu[step] = (cpu[step] ?? 0) + (d.user + d.system) / 1e6 / copies;
      }
      const [counted] = /** @type {any[]} */ (await all('count'));
      for (const k of Object.keys(bytes)) bytes[k] += counted.bytes[k];
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const total = STEPS.reduce((a, s) => a + (cpu[s] ?? 0), 0);
  return { ...cpu, total, bytes };
}

async function main() {
  const blobs = process.argv.slice(2);
  const n = cpus().length;
  const alone = await timed(1, blobs);
  const busy = await timed(n, blobs);
  const { bytes: _, ...aloneSteps } = alone;
  // Top-level step times are the all-cores ones: that is the floor the targets use.
  process.stdout.write(`${JSON.stringify({ ...busy, copies: n, alone: aloneSteps })}\n`);
}

if (isMainThread) {
  main().catch((err) => {
    process.stderr.write(`floor: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
} else {
  workerMain().catch((err) => {
    throw err;
  });
}
