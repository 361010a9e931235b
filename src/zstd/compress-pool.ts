// One bounded pool of worker threads that compress independent zstd frames (and hash their input) off the
// main thread, shared by every layer of a run. Work comes as batches of frames laid out in a shared-memory
// slot (input and output areas), so nothing is allocated or copied per frame across threads, and memory
// stays what the slots hold. A pool thread also carries frames fed piece by piece (zstd:chunked's metadata,
// src/zstd/pool-frame.ts): their messages go between batches, so the main thread never compresses. Tasks are queued; none ever waits on another task or on the layer limiter,
// so the pool cannot deadlock. Its size is the run's memory budget's call, not the CPU count's (see
// src/cli/resources.ts): each worker is a V8 isolate.

import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type * as Binding from 'zstd-napi/binding.js';
import { TsconvertError } from '../errors.js';
import { FRAME_SUMS_BYTES, WORKER_SOURCE } from './pool-worker.js';

/** A frame to compress: `length` bytes at `offset` of the slot's input area. */
export interface FrameSpec {
  offset: number;
  length: number;
  /** Also return the sha256 and the CRC-64/ISO of the frame's input (a file chunk's checksums). */
  checksums: boolean;
}

/** Where the compressed frame landed in the slot's output area. */
export interface FrameOut {
  offset: number;
  length: number;
  sha256?: string;
  /** CRC-64/ISO of the input, big-endian, when asked for. */
  crc64?: Uint8Array;
}

/** Shared memory for one batch: the frames' input bytes and room for their compressed output. */
export interface Slot {
  readonly input: Uint8Array;
  readonly output: Uint8Array;
}

interface Task {
  slot: Slot;
  frames: FrameSpec[];
  level: number;
  resolve: (r: FrameOut[]) => void;
  reject: (e: unknown) => void;
}

/**
 * A batch as it crosses to a worker: the frame table packed as (offset, length, checksums) triples, since a
 * slot of small files holds thousands of frames and an array of objects took ~0.6 ms per message to clone.
 */
interface BatchMessage {
  input: SharedArrayBuffer;
  output: SharedArrayBuffer;
  frames: Int32Array;
  level: number;
}

interface WorkerReply {
  /** A batch's result: each frame's compressed length (frames lie back to back from offset 0)... */
  lengths?: Int32Array;
  /** ...and the checksums of the frames that asked for them, FRAME_SUMS_BYTES each, in frame order. */
  sums?: Uint8Array;
  error?: string;
  /** A reply about an incremental frame (PoolFrame) rather than a batch. */
  frame?: number;
  pieces?: Uint8Array[];
  /** The thread's CPU time so far, in ms. */
  cpu?: number;
}

/** Where a pool thread sends what it compressed of an incremental frame, and how a failure reaches it. */
export interface FrameReceiver {
  pieces(pieces: Uint8Array[]): void;
  fail(err: TsconvertError): void;
}

/** A message for an incremental frame: its next input (`end`: the last), or `drop` to abandon it. */
export interface FrameMessage {
  frame: number;
  level: number;
  bytes?: Uint8Array;
  end?: boolean;
  drop?: boolean;
}

const bindingPath = createRequire(import.meta.url).resolve('zstd-napi/binding.js');
// The CRC module next to this one's: compiled JavaScript in dist/, TypeScript (run by Node's type
// stripping) when the tests run the sources.
const crcUrl = new URL(`../util/crc64.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url)
  .href;
const binding = createRequire(import.meta.url)(bindingPath) as typeof Binding;

/** Output room for frames of `inputBytes` in total, `frames` of them: zstd's bound plus per-frame slack. */
export function outputCapacity(inputBytes: number, frames: number): number {
  return binding.compressBound(inputBytes) + frames * 128;
}

/** A slot with room for `inputBytes` of frame input in at most `frames` frames. */
export function createSlot(inputBytes: number, frames: number): Slot {
  return {
    input: new Uint8Array(new SharedArrayBuffer(inputBytes)),
    output: new Uint8Array(new SharedArrayBuffer(outputCapacity(inputBytes, frames))),
  };
}

interface Thread {
  worker: Worker;
  task: Task | undefined;
  /**
   * CPU time (ms) the thread reported with its last reply: the next batch goes to the idle thread that has
   * used the least. Bytes given were a poorer measure (some compress much faster than others, and metadata
   * frames share the threads): at 16 CPUs one thread ended with 15 % more CPU than another.
   */
  cpu: number;
  /** Incremental-frame messages sent to this thread and not yet answered (they keep the process alive). */
  frameMessages: number;
  /** Incremental frames open on this thread: each holds a zstd context there. */
  openFrames: number;
}

/**
 * Memory one busy worker adds to the process, its frame slot aside: a V8 isolate (~9 MiB idle) and a zstd
 * context at the levels used (measured: 16 workers with a 4 MiB slot each add 19.5 MiB per worker).
 */
export const WORKER_BYTES = 12 << 20;

export class CompressPool {
  private readonly threads: Thread[] = [];
  /** Batches being compressed now, and the most there ever were at once (for --debug and the bench). */
  private busy = 0;
  peakBusy = 0;
  private readonly queue: Task[] = [];
  private closed = false;
  /** Set once a worker failed: the pool takes no more work. */
  private broken: TsconvertError | undefined;
  /** Incremental frames by id: the thread that holds each one's context, and who gets its output. */
  private readonly frames = new Map<number, { thread: Thread; receiver: FrameReceiver; open: boolean }>();
  private nextFrame = 1;
  /**
   * Frame slots finished layers gave back, for the next layers. A SharedArrayBuffer is freed only once the
   * main isolate and every worker that was sent it have collected it, and idle workers hardly ever collect:
   * with a fresh pair of buffers per layer, dead slots piled up outside any budget (a 16-layer image at
   * --jobs 2 peaked at 325 MB; reusing them, 197 MB).
   */
  private readonly idleSlots: Slot[] = [];

  /** A slot of this shape: one a finished layer gave back, else a new one. */
  takeSlot(inputBytes: number, frames: number): Slot {
    const capacity = outputCapacity(inputBytes, frames);
    const i = this.idleSlots.findIndex((s) => s.input.length === inputBytes && s.output.length === capacity);
    return i < 0 ? createSlot(inputBytes, frames) : (this.idleSlots.splice(i, 1)[0] as Slot);
  }

  /**
   * Takes back a slot that no batch in flight uses, for a later layer. At most one layer's worth (`size + 2`)
   * is kept: idle slots are memory the run's budget no longer counts.
   */
  giveBackSlot(slot: Slot): void {
    if (this.idleSlots.length < this.size + 2) this.idleSlots.push(slot);
  }

  /**
   * The threads start with the first batch, not here: a run whose layers are all kept or reused (issue 21)
   * never pays for them (each took 0.2–0.35 s of CPU to start, a 2-CPU host's budget for a whole rerun).
   */
  constructor(readonly size: number) {}

  private start(): void {
    for (let i = 0; i < Math.max(1, this.size); i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bindingPath, crcUrl } });
      worker.unref();
      const thread: Thread = { worker, task: undefined, cpu: 0, frameMessages: 0, openFrames: 0 };
      worker.on('message', (m: WorkerReply) =>
        m.frame === undefined ? this.finish(thread, m) : this.frameReply(thread, m),
      );
      worker.on('error', (err) => this.fail(thread, err));
      // A worker that ends without an 'error' event (killed, or a crash Node reports only as an exit) would
      // otherwise leave its batch, and every batch queued behind it, waiting for ever.
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(thread, `it exited with code ${code}`);
      });
      this.threads.push(thread);
    }
  }

  /** Compresses each frame of the slot into its own zstd frame at `level`, in order, into the output area. */
  compress(slot: Slot, frames: FrameSpec[], level: number): Promise<FrameOut[]> {
    if (this.closed) return Promise.reject(new TsconvertError('INTERNAL', 'compression pool is closed'));
    if (this.broken !== undefined) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queue.push({ slot, frames, level, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Opens an incremental frame on the thread with the fewest open ones (then the least used); its
   * context stays on that thread, so its pieces are compressed in order. Spreading them keeps the contexts
   * a thread holds (~3 MiB each, kept for reuse) to its share of the frames open at once. Returns the
   * frame's id for `sendFrame`.
   */
  openFrame(receiver: FrameReceiver): number {
    if (this.closed) throw new TsconvertError('INTERNAL', 'compression pool is closed');
    if (this.broken !== undefined) throw this.broken;
    if (this.threads.length === 0) this.start();
    const thread = [...this.threads].sort(
      (a, b) => a.openFrames - b.openFrames || a.cpu - b.cpu,
    )[0] as Thread;
    thread.openFrames += 1;
    const id = this.nextFrame++;
    this.frames.set(id, { thread, receiver, open: true });
    return id;
  }

  /** Sends an incremental frame its next message; every message but `drop` gets one reply of pieces. */
  sendFrame(m: FrameMessage): void {
    const frame = this.frames.get(m.frame);
    if (frame === undefined) return;
    const { thread } = frame;
    if ((m.end === true || m.drop === true) && frame.open) {
      frame.open = false;
      thread.openFrames -= 1;
    }
    if (m.drop === true) this.frames.delete(m.frame);
    else if (thread.frameMessages++ === 0 && thread.task === undefined) thread.worker.ref();
    if (this.broken === undefined && !this.closed) {
      const transfer = m.bytes === undefined ? [] : [m.bytes.buffer as ArrayBuffer];
      thread.worker.postMessage(m, transfer);
    }
  }

  private frameReply(thread: Thread, m: WorkerReply): void {
    thread.cpu = m.cpu ?? thread.cpu;
    if (--thread.frameMessages === 0 && thread.task === undefined) thread.worker.unref();
    const frame = this.frames.get(m.frame as number);
    if (frame === undefined) return;
    if (m.pieces !== undefined) frame.receiver.pieces(m.pieces);
    else {
      this.frames.delete(m.frame as number);
      if (frame.open) thread.openFrames -= 1;
      frame.receiver.fail(new TsconvertError('INTERNAL', `zstd compression failed: ${m.error}`));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const closed = new TsconvertError('CANCELLED', 'compression pool closed');
    for (const t of this.queue.splice(0)) t.reject(closed);
    for (const { receiver } of this.frames.values()) receiver.fail(closed);
    this.frames.clear();
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }

  private dispatch(): void {
    if (this.broken !== undefined) return;
    if (this.threads.length === 0) this.start();
    // The least-used idle thread first: taking the first idle one loaded thread 1 with most of the work when
    // fewer batches than threads were in flight, so it, not the pool, set how far one thread caps the speed.
    const idle = this.threads.filter((t) => t.task === undefined).sort((a, b) => a.cpu - b.cpu);
    for (const thread of idle) {
      const task = this.queue.shift();
      if (task === undefined) return;
      thread.task = task;
      this.busy += 1;
      this.peakBusy = Math.max(this.peakBusy, this.busy);
      if (thread.frameMessages === 0) thread.worker.ref();
      const { slot, frames, level } = task;
      const table = new Int32Array(3 * frames.length);
      frames.forEach((f, i) => table.set([f.offset, f.length, f.checksums ? 1 : 0], 3 * i));
      const message: BatchMessage = {
        input: slot.input.buffer as SharedArrayBuffer,
        output: slot.output.buffer as SharedArrayBuffer,
        frames: table,
        level,
      };
      thread.worker.postMessage(message);
    }
  }

  private finish(thread: Thread, m: WorkerReply): void {
    thread.cpu = m.cpu ?? thread.cpu;
    const task = thread.task;
    thread.task = undefined;
    if (thread.frameMessages === 0) thread.worker.unref();
    if (task !== undefined) {
      this.busy -= 1;
      if (m.lengths === undefined || m.sums === undefined)
        task.reject(new TsconvertError('INTERNAL', `zstd compression failed: ${m.error}`));
      else task.resolve(frameResults(task.frames, m.lengths, m.sums));
    }
    this.dispatch();
  }

  /** A worker died: its batch, every queued batch and all later work fail with that cause. */
  private fail(thread: Thread, err: unknown): void {
    const failure = new TsconvertError('INTERNAL', `compression worker failed: ${String(err)}`, {
      cause: err,
    });
    this.broken ??= failure;
    if (thread.task !== undefined) this.busy -= 1;
    thread.task?.reject(failure);
    thread.task = undefined;
    thread.frameMessages = 0;
    thread.openFrames = 0;
    thread.worker.unref();
    for (const t of this.queue.splice(0)) t.reject(failure);
    for (const { receiver } of this.frames.values()) receiver.fail(failure);
    this.frames.clear();
  }
}

/** A batch's reply unpacked into one FrameOut per frame. */
function frameResults(frames: readonly FrameSpec[], lengths: Int32Array, sums: Uint8Array): FrameOut[] {
  const out: FrameOut[] = [];
  let offset = 0;
  let sum = 0;
  frames.forEach((f, i) => {
    const length = lengths[i] as number;
    const r: FrameOut = { offset, length };
    if (f.checksums) {
      r.sha256 = Buffer.from(sums.buffer, sums.byteOffset + sum, 32).toString('hex');
      r.crc64 = sums.subarray(sum + 32, sum + FRAME_SUMS_BYTES);
      sum += FRAME_SUMS_BYTES;
    }
    out.push(r);
    offset += length;
  });
  return out;
}
