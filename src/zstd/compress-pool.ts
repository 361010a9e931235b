// One bounded pool of worker threads that compress independent zstd frames (and hash their input) off the
// main thread, shared by every layer of a run. Tasks are queued; none ever waits on another task or on the
// layer limiter, so the pool cannot deadlock. Results are per task; callers keep their own order.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { TsconvertError } from '../errors.js';

export interface FrameResult {
  /** The compressed frame. */
  frame: Uint8Array;
  /** sha256 hex of the input, when asked for. */
  sha256?: string;
}

interface Task {
  data: Uint8Array;
  level: number;
  hash: boolean;
  resolve: (r: FrameResult) => void;
  reject: (e: unknown) => void;
}

// The worker runs as CommonJS source so it needs no build step (tests run the TypeScript sources).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const zstd = require(workerData.zstdPath);
const byLevel = new Map();
parentPort.on('message', (m) => {
  try {
    let c = byLevel.get(m.level);
    if (c === undefined) {
      c = new zstd.Compressor();
      c.setParameters({ compressionLevel: m.level, checksumFlag: true });
      byLevel.set(m.level, c);
    }
    const out = c.compress(m.data);
    const frame = new Uint8Array(out.length);
    frame.set(out);
    const sha256 = m.hash ? createHash('sha256').update(m.data).digest('hex') : undefined;
    parentPort.postMessage({ frame, sha256 }, [frame.buffer]);
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
});
`;

interface Slot {
  worker: Worker;
  task: Task | undefined;
}

export class CompressPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private closed = false;

  constructor(readonly size: number) {
    const zstdPath = createRequire(import.meta.url).resolve('zstd-napi');
    for (let i = 0; i < Math.max(1, size); i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { zstdPath } });
      worker.unref();
      const slot: Slot = { worker, task: undefined };
      worker.on('message', (m: { frame?: Uint8Array; sha256?: string; error?: string }) =>
        this.finish(slot, m),
      );
      worker.on('error', (err) => this.fail(slot, err));
      this.slots.push(slot);
    }
  }

  /**
   * Compresses `data` into one frame at `level`. `data` must own its whole ArrayBuffer: it is transferred
   * to the worker and unusable afterwards.
   */
  compress(data: Uint8Array, level: number, hash: boolean): Promise<FrameResult> {
    if (this.closed) return Promise.reject(new TsconvertError('INTERNAL', 'compression pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ data, level, hash, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0))
      t.reject(new TsconvertError('CANCELLED', 'compression pool closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.task !== undefined) continue;
      const task = this.queue.shift();
      if (task === undefined) return;
      slot.task = task;
      slot.worker.ref();
      const { data } = task;
      const transferable = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
      slot.worker.postMessage(
        { data, level: task.level, hash: task.hash },
        transferable ? [data.buffer as ArrayBuffer] : [],
      );
    }
  }

  private finish(slot: Slot, m: { frame?: Uint8Array; sha256?: string; error?: string }): void {
    const task = slot.task;
    slot.task = undefined;
    slot.worker.unref();
    if (task !== undefined) {
      if (m.error !== undefined || m.frame === undefined)
        task.reject(new TsconvertError('INTERNAL', `zstd compression failed: ${m.error}`));
      else task.resolve(m.sha256 === undefined ? { frame: m.frame } : { frame: m.frame, sha256: m.sha256 });
    }
    this.dispatch();
  }

  private fail(slot: Slot, err: unknown): void {
    slot.task?.reject(
      new TsconvertError('INTERNAL', `compression worker failed: ${String(err)}`, { cause: err }),
    );
    slot.task = undefined;
  }
}
