// Whole-stream sha256 (a layer's source digest and DiffID) on a thread of its own. On the main thread these
// hashes were nearly half of its CPU (perf on the bench image: 13 % of the run's samples, of 29 % on the main
// thread), and that thread sets the pace on a large host (issue 18). The main thread copies each piece into
// a small shared ring and posts where it lies; the worker, which holds the hash state, updates it in order
// and acknowledges, freeing that part of the ring. One worker serves every stream of the run: sha256 runs
// at ~1.7 GB/s, far above what one layer's pipeline feeds it.

import { Worker } from 'node:worker_threads';
import { TsconvertError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { StreamDigest } from './digest-tap.js';

/** Bytes of one stream's ring: pieces wait here until the worker has hashed them. */
export const DIGEST_RING_BYTES = 1 << 20;

/** Memory the worker adds to the process: an isolate doing little but hashing (measured ~4 MiB), rounded up. */
export const DIGEST_WORKER_BYTES = 8 << 20;

type Request =
  | { op: 'open'; id: number; ring: SharedArrayBuffer }
  | { op: 'update'; id: number; offset: number; length: number }
  | { op: 'finish'; id: number }
  | { op: 'drop'; id: number };

type Reply = { op: 'ack'; id: number; length: number } | { op: 'digest'; id: number; hex: string };

// Source text, like the compression pool's worker, so the tests (which run the TypeScript) need no build.
const WORKER_SOURCE = `
const { parentPort } = process.getBuiltinModule('node:worker_threads');
const { createHash } = process.getBuiltinModule('node:crypto');
const open = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'open') open.set(m.id, { hash: createHash('sha256'), ring: new Uint8Array(m.ring) });
  else if (m.op === 'update') {
    const s = open.get(m.id);
    s.hash.update(s.ring.subarray(m.offset, m.offset + m.length));
    parentPort.postMessage({ op: 'ack', id: m.id, length: m.length });
  } else if (m.op === 'finish') {
    const s = open.get(m.id);
    open.delete(m.id);
    parentPort.postMessage({ op: 'digest', id: m.id, hex: s.hash.digest('hex') });
  } else if (m.op === 'drop') open.delete(m.id);
});
`;

export class DigestWorker {
  private worker: Worker | undefined;
  private readonly streams = new Map<number, OffloadedDigest>();
  private nextId = 1;
  private failure: TsconvertError | undefined;
  private closed = false;

  /** A new stream to hash. Call finish() or drop() when done with it. */
  open(): OffloadedDigest {
    const stream = new OffloadedDigest(this, this.nextId++);
    this.streams.set(stream.id, stream);
    this.post({ op: 'open', id: stream.id, ring: stream.ring.buffer as SharedArrayBuffer });
    return stream;
  }

  /** Ends the worker; streams still open fail with CANCELLED rather than wait for it. */
  async close(): Promise<void> {
    this.closed = true;
    this.fail(new TsconvertError('CANCELLED', 'digest worker closed'), false);
    await this.worker?.terminate();
    this.worker = undefined;
  }

  /** @internal */
  post(request: Request): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw new TsconvertError('CANCELLED', 'digest worker closed');
    const worker = this.worker ?? this.start();
    worker.ref();
    worker.postMessage(request);
  }

  /** @internal The stream is finished or dropped: nothing more will come back for it. */
  forget(id: number): void {
    this.streams.delete(id);
    if (this.streams.size === 0) this.worker?.unref();
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    // Referenced only while some stream waits on it, so an idle worker never keeps the process alive.
    worker.unref();
    worker.on('message', (m: Reply) => {
      const stream = this.streams.get(m.id);
      if (m.op === 'ack') stream?.acked(m.length);
      else stream?.finished(m.hex);
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(`it exited with code ${code}`);
    });
    this.worker = worker;
    return worker;
  }

  private fail(cause: unknown, broken = true): void {
    const err =
      cause instanceof TsconvertError
        ? cause
        : new TsconvertError('INTERNAL', `digest worker failed: ${String(cause)}`, { cause });
    if (broken) this.failure ??= err;
    for (const stream of this.streams.values()) stream.failed(err);
    this.streams.clear();
  }
}

/** One stream's sha256, computed by the DigestWorker; update() waits only while its ring is full. */
export class OffloadedDigest implements StreamDigest {
  readonly ring = new Uint8Array(new SharedArrayBuffer(DIGEST_RING_BYTES));
  size = 0;
  /** Ring bytes posted and not yet acknowledged, and where the next piece goes. */
  private pending = 0;
  private head = 0;
  private waiting: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  private result: Promise<Digest> | undefined;
  private resolveResult: ((d: Digest) => void) | undefined;
  private rejectResult: ((err: unknown) => void) | undefined;
  private failure: unknown;
  private value: Digest | undefined;

  constructor(
    private readonly owner: DigestWorker,
    readonly id: number,
  ) {}

  async update(chunk: Uint8Array): Promise<void> {
    this.size += chunk.byteLength;
    for (let at = 0; at < chunk.byteLength;) {
      while (this.pending === DIGEST_RING_BYTES) await this.roomInRing();
      const n = Math.min(
        chunk.byteLength - at,
        DIGEST_RING_BYTES - this.pending,
        DIGEST_RING_BYTES - this.head,
      );
      this.ring.set(chunk.subarray(at, at + n), this.head);
      this.owner.post({ op: 'update', id: this.id, offset: this.head, length: n });
      this.pending += n;
      this.head = (this.head + n) % DIGEST_RING_BYTES;
      at += n;
    }
  }

  /** The digest of every byte given to update(); the stream takes no more after it. */
  finish(): Promise<Digest> {
    this.result ??= new Promise<Digest>((resolve, reject) => {
      if (this.failure !== undefined) {
        reject(this.failure);
        return;
      }
      this.resolveResult = resolve;
      this.rejectResult = reject;
      this.owner.post({ op: 'finish', id: this.id });
    });
    return this.result;
  }

  /** The digest, once finish() has resolved. */
  digest(): Digest {
    if (this.value === undefined) throw new TsconvertError('INTERNAL', 'digest read before it was finished');
    return this.value;
  }

  /** Abandons the stream (its layer failed): the worker forgets its state. */
  drop(): void {
    if (this.result !== undefined || this.failure !== undefined) return;
    this.failure = new TsconvertError('CANCELLED', 'digest dropped');
    this.owner.forget(this.id);
    try {
      this.owner.post({ op: 'drop', id: this.id });
    } catch {
      // A closed or failed worker holds nothing to forget.
    }
  }

  /** @internal */
  acked(length: number): void {
    this.pending -= length;
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve();
  }

  /** @internal */
  finished(hex: string): void {
    this.value = `sha256:${hex}`;
    this.owner.forget(this.id);
    this.resolveResult?.(this.value);
  }

  /** @internal */
  failed(err: TsconvertError): void {
    this.failure = err;
    this.waiting?.reject(err);
    this.waiting = undefined;
    this.rejectResult?.(err);
  }

  private roomInRing(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }
}
