// What each compression pool thread runs (src/zstd/compress-pool.ts): batches of independent frames laid
// out in a shared-memory slot, compressed one by one with their input's sha256 and CRC-64 when asked; and
// incremental frames (src/zstd/pool-frame.ts), one zstd context per frame kept until the frame ends.

import { INCREMENTAL_WINDOW_LOG } from './frame-compressor.js';

/** Bytes a worker returns per checksummed frame of a batch: the sha256, then the CRC-64 (big-endian). */
export const FRAME_SUMS_BYTES = 40;

// The worker is source text, so it needs no build step (tests run the TypeScript sources). It loads what
// it needs through process.getBuiltinModule, which works whether Node evaluates it as CommonJS or as an
// ES module (a parent started with --input-type=module makes eval workers ES modules).
export const WORKER_SOURCE = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const { createHash } = process.getBuiltinModule('node:crypto');
const load = process.getBuiltinModule('node:module').createRequire(workerData.bindingPath);
const zstd = load(workerData.bindingPath);
const crcModule = import(workerData.crcUrl);
const byLevel = new Map();
// Incremental frames in progress by id, and contexts finished ones left (reset, reused: an idle worker
// hardly ever collects garbage, so contexts left to the collector would pile up).
const open = new Map();
const spare = [];
const piece = new Uint8Array(128 * 1024);
function frameMessage(m) {
  let c = open.get(m.frame);
  if (m.drop) {
    if (c !== undefined) release(m.frame, c);
    return;
  }
  if (c === undefined) {
    c = spare.pop() ?? new zstd.CCtx();
    c.setParameter(zstd.CParameter.compressionLevel, m.level);
    c.setParameter(zstd.CParameter.checksumFlag, 1);
    c.setParameter(zstd.CParameter.windowLog, ${INCREMENTAL_WINDOW_LOG});
    open.set(m.frame, c);
  }
  const op = m.end ? zstd.EndDirective.end : zstd.EndDirective.continue;
  let src = m.bytes ?? new Uint8Array(0);
  const pieces = [];
  for (;;) {
    const [remaining, produced, consumed] = c.compressStream2(piece, src, op);
    if (produced > 0) pieces.push(piece.slice(0, produced));
    src = src.subarray(consumed);
    if (m.end ? remaining === 0 : src.length === 0) break;
  }
  if (m.end) release(m.frame, c);
  parentPort.postMessage({ frame: m.frame, pieces, cpu: cpuMs() }, pieces.map((p) => p.buffer));
}
// CPU time this thread has used (ms), sent with every reply: the pool gives the next batch to the idle
// thread that has used the least. Wall time where process.threadCpuUsage is missing (Node before 22.19).
function cpuMs() {
  if (process.threadCpuUsage === undefined) return performance.now();
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}
function release(id, c) {
  open.delete(id);
  c.reset(zstd.ResetDirective.sessionAndParameters);
  if (spare.length < 2) spare.push(c);
}
parentPort.on('message', async (m) => {
  if (m.frame !== undefined) {
    try {
      frameMessage(m);
    } catch (err) {
      open.delete(m.frame);
      parentPort.postMessage({ frame: m.frame, error: String((err && err.message) || err) });
    }
    return;
  }
  try {
    const { Crc64 } = await crcModule;
    let c = byLevel.get(m.level);
    if (c === undefined) {
      c = new zstd.CCtx();
      c.setParameter(zstd.CParameter.compressionLevel, m.level);
      c.setParameter(zstd.CParameter.checksumFlag, 1);
      byLevel.set(m.level, c);
    }
    const input = new Uint8Array(m.input);
    const output = new Uint8Array(m.output);
    const count = m.frames.length / 3;
    const lengths = new Int32Array(count);
    let checksummed = 0;
    for (let i = 0; i < count; i++) checksummed += m.frames[3 * i + 2];
    const sums = new Uint8Array(${FRAME_SUMS_BYTES} * checksummed);
    let at = 0;
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const offset = m.frames[3 * i];
      const src = input.subarray(offset, offset + m.frames[3 * i + 1]);
      const n = c.compress2(output.subarray(at), src);
      lengths[i] = n;
      at += n;
      if (m.frames[3 * i + 2] === 1) {
        sums.set(createHash('sha256').update(src).digest(), sum);
        const crc = new Crc64();
        crc.update(src);
        sums.set(crc.sum(), sum + 32);
        sum += ${FRAME_SUMS_BYTES};
      }
    }
    parentPort.postMessage({ lengths, sums, cpu: cpuMs() }, [lengths.buffer, sums.buffer]);
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
});
`;
