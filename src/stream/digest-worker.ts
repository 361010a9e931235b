// Whole-stream sha256 (a layer's source digest and DiffID, a large file's digest) on a thread of its own.
// On the main thread these hashes were nearly half of its CPU (perf on the bench image: 13 % of the run's
// samples, of 29 % on the main thread), and that thread sets the pace on a large host (issue 18). The main
// thread copies pieces into a small shared ring and posts each 256 KiB stretch; the worker, which holds the
// hash state, hashes it in order and adds its length to a shared counter, which frees that part of the
// ring without a reply message (a reply per piece cost ~1 s of CPU on the bench image: thread wake-ups).
// One worker serves every stream of the run: sha256 runs at ~1.7 GB/s, above what the pipelines feed it.
// It also decodes gzip layers whole, both digests included (offloaded-gunzip.ts).

import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { TsconvertError, type BlobFacts } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { DigestCounter, type StreamDigest } from './digest-tap.js';
import { DIGEST_WORKER_SOURCE } from './digest-worker-source.js';
import { OffloadedGunzip, type GunzipJob, type GunzipReply } from './offloaded-gunzip.js';

/** Bytes of one stream's ring: pieces wait here until the worker has hashed them. */
export const DIGEST_RING_BYTES = 512 << 10;
/** Bytes gathered in the ring before they are posted: fewer, larger messages. */
const POST_BYTES = 256 << 10;
/** Rings of finished streams kept for the next ones (a large file's stream is opened per file). */
const SPARE_RINGS = 4;
/** How often a writer waiting for room looks again even without a wake-up (a dead worker sends none). */
const RECHECK_MS = 1000;

/** Memory the worker adds to the process: an isolate doing little but hashing (measured ~4 MiB), rounded up. */
export const DIGEST_WORKER_BYTES = 8 << 20;

type Request =
  | GunzipJob
  | { op: 'file'; id: number; path: string; size: number }
  | { op: 'open'; id: number; ring: SharedArrayBuffer; hashed: SharedArrayBuffer }
  | { op: 'update'; id: number; offset: number; length: number }
  | { op: 'finish'; id: number }
  | { op: 'drop'; id: number };

type Reply =
  | { op: 'digest'; id: number; hex: string }
  | { op: 'file-digest'; id: number; hex: string }
  | { op: 'file-error'; id: number; message: string }
  | GunzipReply;

/** A stream's sha256: on `worker` when the run has one, else on the calling thread. */
export function openDigest(worker: DigestWorker | undefined): StreamDigest {
  return worker?.open() ?? new DigestCounter();
}

export class DigestWorker {
  private worker: Worker | undefined;
  private readonly streams = new Map<number, OffloadedDigest>();
  private readonly gunzips = new Map<number, OffloadedGunzip>();
  private readonly files = new Map<
    number,
    { path: string; resolve: (d: Digest) => void; reject: (err: unknown) => void }
  >();
  private nextId = 1;
  private failure: TsconvertError | undefined;
  private closed = false;
  private readonly spareRings: Uint8Array[] = [];

  /** A new stream to hash. Call finish() or drop() when done with it. */
  open(): OffloadedDigest {
    const ring = this.spareRings.pop() ?? new Uint8Array(new SharedArrayBuffer(DIGEST_RING_BYTES));
    const stream = new OffloadedDigest(this, this.nextId++, ring);
    this.streams.set(stream.id, stream);
    this.post({
      op: 'open',
      id: stream.id,
      ring: stream.ring.buffer as SharedArrayBuffer,
      hashed: stream.hashed.buffer as SharedArrayBuffer,
    });
    return stream;
  }

  /**
   * A gzip blob decoded on this thread: the tar, and the source digest and DiffID computed on the way
   * (offloaded-gunzip.ts). The source is checked against `expected` as soon as it has been read.
   */
  gunzip(compressed: AsyncIterable<Uint8Array>, expected: BlobFacts, signal: AbortSignal): OffloadedGunzip {
    const id = this.nextId++;
    const pass = new OffloadedGunzip(id, compressed, expected, signal, () => this.forgetGunzip(id));
    this.post(pass.job);
    this.gunzips.set(id, pass);
    return pass;
  }

  /**
   * The sha256 of the first `size` bytes of the file at `path`, read and hashed on this thread: for a blob
   * a store has just written, whose bytes the main thread would otherwise copy to it as they pass.
   */
  hashFile(path: string, size: number): Promise<Digest> {
    const id = this.nextId++;
    return new Promise<Digest>((resolve, reject) => {
      this.post({ op: 'file', id, path, size });
      this.files.set(id, { path, resolve, reject });
    }).finally(() => {
      this.files.delete(id);
      this.unrefWhenIdle();
    });
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

  private forgetGunzip(id: number): void {
    this.gunzips.delete(id);
    this.unrefWhenIdle();
  }

  private unrefWhenIdle(): void {
    if (this.streams.size === 0 && this.gunzips.size === 0 && this.files.size === 0) this.worker?.unref();
  }

  /**
   * @internal The stream is finished or dropped: nothing more will come back for it. A finished stream's
   * ring is reused: the worker has read all of it before it sent the digest.
   */
  forget(id: number, spare?: Uint8Array): void {
    this.streams.delete(id);
    if (spare !== undefined && this.spareRings.length < SPARE_RINGS) this.spareRings.push(spare);
    this.unrefWhenIdle();
  }

  private start(): Worker {
    // zlib hands out a fresh buffer per piece it inflates. V8 collects such memory only after some tens of
    // MB of it (measured: 311-344 MB peak RSS at 16 CPUs on the bench image, against 267-301 MB with this),
    // so the thread collects its young generation itself every few MB of tar: gc() must be exposed to it,
    // which a flag set before its isolate starts does (the main thread's, already running, is unchanged).
    setFlagsFromString('--expose-gc');
    const worker = new Worker(DIGEST_WORKER_SOURCE, { eval: true });
    // Referenced only while some stream waits on it, so an idle worker never keeps the process alive.
    worker.unref();
    worker.on('message', (m: Reply) => {
      if (m.op === 'digest') this.streams.get(m.id)?.finished(m.hex);
      else if (m.op === 'file-digest') this.files.get(m.id)?.resolve(`sha256:${m.hex}`);
      else if (m.op === 'file-error') {
        const file = this.files.get(m.id);
        file?.reject(new TsconvertError('INTERNAL', `could not read ${file.path} to hash it: ${m.message}`));
      } else this.gunzips.get(m.id)?.reply(m);
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
    for (const pass of this.gunzips.values()) pass.fail(err);
    this.gunzips.clear();
    for (const file of this.files.values()) file.reject(err);
  }
}

/** One stream's sha256, computed by the DigestWorker; update() waits only while its ring is full. */
export class OffloadedDigest implements StreamDigest {
  /** Bytes the worker has hashed, modulo 2^32: it adds, this side reads. */
  readonly hashed = new Int32Array(new SharedArrayBuffer(4));
  size = 0;
  /** Bytes put in the ring and bytes posted, modulo 2^32; where the next byte and the next post start. */
  private written = 0;
  private posted = 0;
  private head = 0;
  private postStart = 0;
  private result: Promise<Digest> | undefined;
  private resolveResult: ((d: Digest) => void) | undefined;
  private rejectResult: ((err: unknown) => void) | undefined;
  private failure: unknown;
  private value: Digest | undefined;

  constructor(
    private readonly owner: DigestWorker,
    readonly id: number,
    readonly ring: Uint8Array,
  ) {}

  async update(chunk: Uint8Array): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.size += chunk.byteLength;
    for (let at = 0; at < chunk.byteLength;) {
      let free = DIGEST_RING_BYTES - this.inRing();
      while (free === 0) {
        this.postWritten();
        await this.roomInRing();
        free = DIGEST_RING_BYTES - this.inRing();
      }
      const n = Math.min(chunk.byteLength - at, free, DIGEST_RING_BYTES - this.head);
      this.ring.set(chunk.subarray(at, at + n), this.head);
      this.head = (this.head + n) % DIGEST_RING_BYTES;
      this.written = (this.written + n) | 0;
      at += n;
      // A posted stretch is contiguous: it ends where the ring wraps.
      if (this.head === 0 || ((this.written - this.posted) | 0) >= POST_BYTES) this.postWritten();
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
      this.postWritten();
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
  finished(hex: string): void {
    this.value = `sha256:${hex}`;
    this.owner.forget(this.id, this.ring);
    this.resolveResult?.(this.value);
  }

  /** @internal */
  failed(err: TsconvertError): void {
    this.failure = err;
    // Wakes a writer waiting for room, which then sees the failure.
    Atomics.notify(this.hashed, 0);
    this.rejectResult?.(err);
  }

  /** Bytes in the ring not yet hashed (posted or not). */
  private inRing(): number {
    return (this.written - Atomics.load(this.hashed, 0)) | 0;
  }

  private postWritten(): void {
    const length = (this.written - this.posted) | 0;
    if (length === 0) return;
    this.owner.post({ op: 'update', id: this.id, offset: this.postStart, length });
    this.posted = this.written;
    this.postStart = this.head;
  }

  private async roomInRing(): Promise<void> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      const seen = Atomics.load(this.hashed, 0);
      if (((this.written - seen) | 0) < DIGEST_RING_BYTES) return;
      const wait = Atomics.waitAsync(this.hashed, 0, seen, RECHECK_MS);
      if (wait.async) await wait.value;
    }
  }
}
