// Metadata text (a zstd:chunked layer's TOC and tar-split) compressed into single zstd frames by the
// compression pool's workers, so the main thread only builds the text. On a layer of 200 000 small files,
// compressing and hashing that text took ~13% of the main thread, which is what limits such layers. Each
// frame is pinned to one worker, which handles its messages in order, next to its slot batches; the
// compressed frame comes back at the end, with the sha256 of the text and of the frame. Text reaches a
// worker as UTF-8 that the main thread encodes straight into a shared ring of that worker's, so no batch is
// copied or allocated on either side, and the ring bounds the text in flight: when it is full, write()
// blocks until the worker catches up (a worker never waits for the main thread, so this cannot deadlock).
// A worker keeps nothing of a finished frame: its output pieces are transferred, not copied, and its zstd
// context is reset and reused (an idle worker's GC seldom runs, so garbage there would stay resident).

import { Buffer } from 'node:buffer';
import { TsconvertError } from '../errors.js';

/** A finished frame: the compressed bytes, in pieces, and the digests a zstd:chunked blob needs. */
export interface TextFrame {
  pieces: Uint8Array[];
  /** Bytes in all pieces. */
  length: number;
  /** UTF-8 bytes of text compressed. */
  size: number;
  /** sha256 (hex) of the UTF-8 text, when asked for at open. */
  textSha256?: string;
  /** sha256 (hex) of the compressed frame. */
  payloadSha256: string;
}

/** A worker's answer to `end`; `text` tells it apart from a slot batch's reply. */
export interface TextReply {
  text: number;
  error?: string;
  pieces?: Uint8Array[];
  length?: number;
  size?: number;
  textSha256?: string;
  payloadSha256?: string;
}

/** Bytes of each worker's ring: UTF-8 text written and not yet compressed. A larger batch is posted as is. */
export const TEXT_RING_BYTES = 1024 * 1024;
/**
 * A blocked write() stops waiting when the workers make no progress for this long: a blocked main thread
 * cannot see a worker's 'error' event, and that error still reaches end(). The bound is for memory only.
 */
const MAX_STALL_MS = 10_000;
const WAIT_SLICE_MS = 200;

/**
 * The worker side, spliced into the pool's worker source: handles messages with a `text` field. Expects
 * `zstd`, `createHash`, `ring` (a Uint8Array over the worker's ring) and `ringUsed` (an Int32Array over its
 * bytes-in-use counter) in scope.
 */
export const TEXT_WORKER_SOURCE = `
const textScratch = new Uint8Array(128 * 1024);
const textEncoder = new TextEncoder();
const textFrames = new Map();
const textContexts = [];
function textRun(s, input, op) {
  let src = input;
  for (;;) {
    const [remaining, produced, consumed] = s.cctx.compressStream2(textScratch, src, op);
    if (produced > 0) { s.out.push(textScratch.slice(0, produced)); s.outLength += produced; }
    src = src.subarray(consumed);
    if (op === zstd.EndDirective.end ? remaining === 0 : src.length === 0) return;
  }
}
function onText(m) {
  if (m.op === 'open') {
    const cctx = textContexts.pop() ?? new zstd.CCtx();
    cctx.setParameter(zstd.CParameter.compressionLevel, m.level);
    cctx.setParameter(zstd.CParameter.checksumFlag, 1);
    textFrames.set(m.text, { cctx, out: [], outLength: 0, size: 0, hash: m.hash ? createHash('sha256') : undefined, error: undefined });
    return;
  }
  const s = textFrames.get(m.text);
  const release = () => {
    s.cctx.reset(zstd.ResetDirective.sessionAndParameters);
    textContexts.push(s.cctx);
  };
  if (m.op === 'write') {
    try {
      if (s !== undefined && s.error === undefined) {
        const bytes = m.data !== undefined ? textEncoder.encode(m.data) : ring.subarray(m.at, m.at + m.length);
        s.size += bytes.length;
        s.hash?.update(bytes);
        textRun(s, bytes, zstd.EndDirective.continue);
      }
    } catch (err) {
      s.error = String((err && err.message) || err);
    } finally {
      if (m.used > 0) {
        Atomics.sub(ringUsed, 0, m.used);
        Atomics.notify(ringUsed, 0);
      }
    }
    return;
  }
  textFrames.delete(m.text);
  if (s !== undefined && m.op !== 'end') release();
  if (m.op !== 'end') return;
  try {
    if (s === undefined) throw new Error('no such text frame');
    if (s.error !== undefined) throw new Error(s.error);
    textRun(s, new Uint8Array(0), zstd.EndDirective.end);
    release();
    const payloadHash = createHash('sha256');
    for (const p of s.out) payloadHash.update(p);
    parentPort.postMessage({
      text: m.text,
      pieces: s.out,
      length: s.outLength,
      size: s.size,
      textSha256: s.hash?.digest('hex'),
      payloadSha256: payloadHash.digest('hex'),
    }, s.out.map((p) => p.buffer));
  } catch (err) {
    if (s !== undefined && s.error === undefined) release();
    parentPort.postMessage({ text: m.text, error: String((err && err.message) || err) });
  }
}
`;

/** How the pool lets text frames reach its workers. */
export interface TextWorkers {
  readonly count: number;
  post(worker: number, message: object): void;
  /** Keeps the process alive while a worker owes an answer (`+1`), or stops doing so (`-1`). */
  hold(worker: number, delta: 1 | -1): void;
}

/** One worker's ring: the main thread writes at `at`; `used` (shared) counts bytes not yet compressed. */
export interface TextRing {
  readonly bytes: Uint8Array;
  readonly used: Int32Array;
  at: number;
}

export function createTextRing(): TextRing {
  return {
    bytes: new Uint8Array(new SharedArrayBuffer(TEXT_RING_BYTES)),
    used: new Int32Array(new SharedArrayBuffer(4)),
    at: 0,
  };
}

export class TextFrames {
  private readonly ends = new Map<
    number,
    { worker: number; resolve: (f: TextFrame) => void; reject: (e: unknown) => void }
  >();
  private nextId = 0;
  private failure: Error | undefined;

  /** One ring per worker, in the pool's worker order. */
  constructor(
    private readonly workers: TextWorkers,
    private readonly rings: readonly TextRing[],
  ) {}

  /** A new frame at `level`; `hashText` also hashes the uncompressed text. */
  open(level: number, hashText: boolean): TextFrameStream {
    const id = this.nextId++;
    const worker = id % this.workers.count;
    this.post(worker, { text: id, op: 'open', level, hash: hashText });
    return new TextFrameStream(this, id, worker);
  }

  /** @internal */
  write(id: number, worker: number, data: string): void {
    const ring = this.rings[worker];
    const length = Buffer.byteLength(data, 'utf8');
    if (ring === undefined || length > TEXT_RING_BYTES / 2) {
      this.post(worker, { text: id, op: 'write', data, used: 0 });
      return;
    }
    // A batch never wraps: when it does not fit before the end, the rest of the ring is skipped and
    // counted as used until the worker has read this batch.
    const skip = ring.at + length > TEXT_RING_BYTES ? TEXT_RING_BYTES - ring.at : 0;
    const used = skip + length;
    let stalledMs = 0;
    for (let v = Atomics.load(ring.used, 0); v + used > TEXT_RING_BYTES && stalledMs < MAX_STALL_MS;) {
      if (this.failure !== undefined) return;
      Atomics.wait(ring.used, 0, v, WAIT_SLICE_MS);
      const now = Atomics.load(ring.used, 0);
      stalledMs = now === v ? stalledMs + WAIT_SLICE_MS : 0;
      v = now;
    }
    if (this.failure !== undefined) return;
    if (stalledMs >= MAX_STALL_MS) {
      this.post(worker, { text: id, op: 'write', data, used: 0 });
      return;
    }
    const at = (ring.at + skip) % TEXT_RING_BYTES;
    textEncoder.encodeInto(data, ring.bytes.subarray(at, at + length));
    ring.at = (at + length) % TEXT_RING_BYTES;
    Atomics.add(ring.used, 0, used);
    this.post(worker, { text: id, op: 'write', at, length, used });
  }

  /** @internal */
  end(id: number, worker: number): Promise<TextFrame> {
    return new Promise((resolve, reject) => {
      if (this.failure !== undefined) {
        reject(this.failure);
        return;
      }
      this.ends.set(id, { worker, resolve, reject });
      this.workers.hold(worker, 1);
      this.post(worker, { text: id, op: 'end' });
    });
  }

  /** @internal */
  abandon(id: number, worker: number): void {
    this.post(worker, { text: id, op: 'abandon' });
  }

  /** A worker's answer to an `end`. */
  settle(m: TextReply): void {
    const waiter = this.ends.get(m.text);
    if (waiter === undefined) return;
    this.ends.delete(m.text);
    this.workers.hold(waiter.worker, -1);
    if (m.error !== undefined || m.pieces === undefined) {
      waiter.reject(new TsconvertError('INTERNAL', `metadata compression failed: ${m.error}`));
      return;
    }
    waiter.resolve({
      pieces: m.pieces,
      length: m.length ?? 0,
      size: m.size ?? 0,
      payloadSha256: m.payloadSha256 ?? '',
      ...(m.textSha256 === undefined ? {} : { textSha256: m.textSha256 }),
    });
  }

  /** Fails every frame still owed (a worker died, or the pool closed); later calls fail at once. */
  fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.ends.values()) {
      this.workers.hold(waiter.worker, -1);
      waiter.reject(err);
    }
    this.ends.clear();
  }

  private post(worker: number, message: object): void {
    if (this.failure === undefined) this.workers.post(worker, message);
  }
}

const textEncoder = new TextEncoder();

/** One frame being fed: write text in order, then end it once (or abandon it). */
export class TextFrameStream {
  constructor(
    private readonly frames: TextFrames,
    private readonly id: number,
    private readonly worker: number,
  ) {}

  write(text: string): void {
    this.frames.write(this.id, this.worker, text);
  }

  end(): Promise<TextFrame> {
    return this.frames.end(this.id, this.worker);
  }

  abandon(): void {
    this.frames.abandon(this.id, this.worker);
  }
}
