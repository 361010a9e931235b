// A gzip layer decoded on the digest thread (its code: digest-worker-source.ts). The main thread copies the
// compressed pieces into a shared input ring and hands the tar out as views of a shared output ring; the
// thread hashes the source and the tar (source digest and DiffID) and inflates in between. On the bench
// image at 16 CPUs this took gunzip's stream machinery and the copy of every tar byte into a digest ring
// off the main thread, the one that sets the pace on a large host (issue 18).

import { abortError, InvalidDataError, TsconvertError, type BlobFacts } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { GUNZIP } from './digest-worker-source.js';
import { checkContent, type StreamDigest } from './digest-tap.js';

/** Each ring: 512 KiB, so the thread inflates into one part while the scanner reads another. */
export const GUNZIP_RING_BYTES = 512 << 10;
/** Largest tar piece handed out: a quarter of the ring, the rest stays free for the thread to fill. */
const PIECE_BYTES = 128 << 10;

export type GunzipReply =
  | { op: 'gunzip-source'; id: number; hex: string }
  | { op: 'gunzip-end'; id: number; hex: string; size: number }
  | { op: 'gunzip-error'; id: number; message: string };

export interface GunzipJob {
  op: 'gunzip';
  id: number;
  control: SharedArrayBuffer;
  input: SharedArrayBuffer;
  output: SharedArrayBuffer;
  piece: number;
}

/** A digest whose value the thread reports; `size` is counted where the bytes pass. */
class ReportedDigest implements StreamDigest {
  size = 0;
  private value: Digest | undefined;
  private readonly result: Promise<Digest>;
  private settle: { resolve: (d: Digest) => void; reject: (err: unknown) => void } | undefined;

  /** Stops the whole pass: its layer failed, and the thread must let go of the job. */
  readonly drop: () => void;

  constructor(drop: () => void) {
    this.drop = drop;
    this.result = new Promise<Digest>((resolve, reject) => (this.settle = { resolve, reject }));
    // A failed pass rejects it; whoever asks sees that, and nobody asking is no unhandled rejection.
    this.result.catch(() => undefined);
  }

  update(): void {
    throw new TsconvertError('INTERNAL', 'an offloaded gunzip digest is fed by its thread');
  }

  finish(): Promise<Digest> {
    return this.result;
  }

  digest(): Digest {
    if (this.value === undefined) throw new TsconvertError('INTERNAL', 'digest read before it was finished');
    return this.value;
  }

  resolve(hex: string): void {
    this.value = `sha256:${hex}`;
    this.settle?.resolve(this.value);
  }

  reject(err: unknown): void {
    this.settle?.reject(err);
  }
}

/**
 * One pass of a gzip blob through the thread. `tar` must be iterated (once); each piece is valid until
 * the next is asked for. `source` is checked against `expected` once the thread has hashed the last
 * source byte, and a mismatch ends the tar, so a damaged source is reported as such rather than as the
 * gzip error it also causes.
 */
export class OffloadedGunzip {
  readonly source = new ReportedDigest(() => this.stop());
  readonly diff = new ReportedDigest(() => this.stop());
  readonly job: GunzipJob;
  private readonly control: Int32Array;
  private readonly input: Uint8Array;
  private readonly output: Uint8Array;
  private failure: unknown;
  /** The source is not what its descriptor says: the pass fails with this once its tar has ended. */
  private mismatch: unknown;
  private tarEnded = false;
  private stopped = false;
  /** The copy of the source into the input ring, started by the tar's first pull. */
  private feeding: Promise<void> | undefined;

  constructor(
    id: number,
    private readonly compressed: AsyncIterable<Uint8Array>,
    private readonly expected: BlobFacts,
    private readonly signal: AbortSignal,
    private readonly onStop: () => void,
  ) {
    this.job = {
      op: 'gunzip',
      id,
      control: new SharedArrayBuffer(GUNZIP.WORDS * 4),
      input: new SharedArrayBuffer(GUNZIP_RING_BYTES),
      output: new SharedArrayBuffer(GUNZIP_RING_BYTES),
      piece: PIECE_BYTES,
    };
    this.control = new Int32Array(this.job.control);
    this.input = new Uint8Array(this.job.input);
    this.output = new Uint8Array(this.job.output);
  }

  /** The tar, as views of the output ring; ending it early (return()) stops the thread's job and the input. */
  async *tar(): AsyncGenerator<Uint8Array> {
    const c = this.control;
    const onAbort = (): void => void Atomics.notify(c, GUNZIP.OUT_WRITTEN);
    this.signal.addEventListener('abort', onAbort);
    this.feeding ??= this.feed();
    let read = 0;
    let at = 0;
    try {
      for (;;) {
        const written = Atomics.load(c, GUNZIP.OUT_WRITTEN);
        const n = Math.min((written - read) | 0, this.output.length - at, PIECE_BYTES);
        if (n > 0) {
          yield this.output.subarray(at, at + n);
          read = (read + n) | 0;
          at = (at + n) % this.output.length;
          Atomics.store(c, GUNZIP.OUT_READ, read);
          Atomics.notify(c, GUNZIP.OUT_READ);
          continue;
        }
        if (this.failure !== undefined) throw this.failure;
        if (this.signal.aborted) throw abortError(this.signal);
        if (this.tarEnded) return;
        // No timeout: each one was a task posted to this thread's loop, a wake-up per wait. The thread's
        // replies, its failure and the signal all notify this word.
        const wait = Atomics.waitAsync(c, GUNZIP.OUT_WRITTEN, written);
        if (wait.async) await wait.value;
      }
    } finally {
      this.signal.removeEventListener('abort', onAbort);
      this.stop();
    }
  }

  /** @internal A reply of the thread about this job. */
  reply(m: GunzipReply): void {
    if (m.op === 'gunzip-source') {
      this.source.resolve(m.hex);
      try {
        checkContent(this.source, this.expected);
      } catch (err) {
        // Raised where the tar ends, as when gzip is decoded on the main thread (verifyInto checks at the
        // source's end, which the consumer meets after the tar decoded before it): the thread hashes the
        // source ahead of the scan, and a damaged tar found by the scanner on the way is reported first
        // either way. It still comes before the gzip error the damage also causes.
        this.mismatch = err;
      }
    } else if (m.op === 'gunzip-end') {
      if (this.mismatch !== undefined) this.fail(this.mismatch);
      else {
        this.diff.size = m.size;
        this.diff.resolve(m.hex);
        this.tarEnded = true;
        this.onStop();
      }
    } else {
      this.fail(this.mismatch ?? new InvalidDataError('compression', `not valid gzip: ${m.message}`));
    }
    Atomics.notify(this.control, GUNZIP.OUT_WRITTEN);
  }

  /** @internal The thread failed or the pass is abandoned: every wait ends with `err`. */
  fail(err: unknown): void {
    this.failure ??= err;
    this.source.reject(this.failure);
    this.diff.reject(this.failure);
    Atomics.notify(this.control, GUNZIP.OUT_WRITTEN);
    Atomics.notify(this.control, GUNZIP.IN_READ);
  }

  /** Tells the thread to drop the job (unless it is done); the input stops at its next piece. */
  private stop(): void {
    if (this.stopped || (this.tarEnded && this.failure === undefined)) return;
    this.stopped = true;
    this.fail(new TsconvertError('CANCELLED', 'gunzip stopped'));
    Atomics.store(this.control, GUNZIP.IN_STATE, 2);
    Atomics.add(this.control, GUNZIP.IN_SEQ, 1);
    Atomics.notify(this.control, GUNZIP.IN_SEQ);
    Atomics.notify(this.control, GUNZIP.OUT_READ);
    // Dropped before its tar was read: the source (an open file, a gRPC stream) is ended here.
    if (this.feeding === undefined) {
      this.compressed[Symbol.asyncIterator]()
        .return?.()
        .catch(() => undefined);
    }
    this.onStop();
  }

  /** Copies the compressed pieces into the input ring; a read error fails the pass as it is. */
  private async feed(): Promise<void> {
    const c = this.control;
    let written = 0;
    let at = 0;
    try {
      for await (const piece of this.compressed) {
        for (let i = 0; i < piece.length;) {
          if (this.stopped || this.failure !== undefined) return;
          const taken = Atomics.load(c, GUNZIP.IN_READ);
          const n = Math.min(
            piece.length - i,
            this.input.length - ((written - taken) | 0),
            this.input.length - at,
          );
          if (n === 0) {
            const wait = Atomics.waitAsync(c, GUNZIP.IN_READ, taken);
            if (wait.async) await wait.value;
            continue;
          }
          this.input.set(piece.subarray(i, i + n), at);
          i += n;
          written = (written + n) | 0;
          at = (at + n) % this.input.length;
          this.source.size += n;
          Atomics.store(c, GUNZIP.IN_WRITTEN, written);
          Atomics.add(c, GUNZIP.IN_SEQ, 1);
          Atomics.notify(c, GUNZIP.IN_SEQ);
        }
      }
      Atomics.store(c, GUNZIP.IN_STATE, 1);
      Atomics.add(c, GUNZIP.IN_SEQ, 1);
      Atomics.notify(c, GUNZIP.IN_SEQ);
    } catch (err) {
      this.fail(err);
    }
  }
}
