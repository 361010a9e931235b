// One zstd frame fed piece by piece (zstd:chunked's TOC and tar-split text), compressed either on a
// compression pool thread (PoolFrame: the main thread only copies each piece and posts it) or, without a
// pool, on the calling thread. Both give the same bytes: one context, the same level and the same pieces in
// the same order. Output pieces reach `onPieces` in order. A pool frame bounds what it has sent and not yet
// had back (`backlog`); its producer waits on `caughtUp()` when that grows, so memory stays bounded even
// when the pool is busier than the producer.

import { TsconvertError } from '../errors.js';
import type { CompressPool } from './compress-pool.js';
import { FrameCompressor } from './frame-compressor.js';

export interface IncrementalFrame {
  /** Adds `bytes` to the frame; the caller may reuse `bytes` once this returns. */
  write(bytes: Uint8Array): void;
  /** Ends the frame: resolves once every output piece has been handed to `onPieces`. */
  end(): Promise<void>;
  /** Abandons the frame (a failed or cancelled layer); safe to call more than once, and after `end`. */
  drop(): void;
  /** Input bytes sent and not yet compressed. */
  readonly backlog: number;
  /** Resolves once everything sent so far is compressed; rejects if the pool failed. */
  caughtUp(): Promise<void>;
}

type OnPieces = (pieces: Uint8Array[]) => void;

/** A frame compressed on the pool when there is one, else on this thread. */
export function openIncrementalFrame(
  pool: CompressPool | undefined,
  level: number,
  onPieces: OnPieces,
): IncrementalFrame {
  return pool === undefined ? new LocalFrame(level, onPieces) : new PoolFrame(pool, level, onPieces);
}

class LocalFrame implements IncrementalFrame {
  private readonly frame: FrameCompressor;
  readonly backlog = 0;

  constructor(
    level: number,
    private readonly onPieces: OnPieces,
  ) {
    this.frame = new FrameCompressor(level);
  }

  write(bytes: Uint8Array): void {
    this.onPieces(this.frame.write(bytes));
  }

  end(): Promise<void> {
    this.onPieces(this.frame.end());
    return Promise.resolve();
  }

  drop(): void {}

  caughtUp(): Promise<void> {
    return Promise.resolve();
  }
}

class PoolFrame implements IncrementalFrame {
  private readonly id: number;
  /** Input bytes of each message not yet answered, oldest first (replies come in order). */
  private readonly sent: number[] = [];
  backlog = 0;
  /** The pool's failure, or what `onPieces` threw (a spill file that could not be written). */
  private failure: unknown;
  private dropped = false;
  /** Waiting for every sent message to be answered. */
  private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];

  constructor(
    private readonly pool: CompressPool,
    private readonly level: number,
    private readonly onPieces: OnPieces,
  ) {
    this.id = pool.openFrame({
      pieces: (pieces) => this.answered(pieces),
      fail: (err) => this.failed(err),
    });
  }

  write(bytes: Uint8Array): void {
    if (this.failure !== undefined) throw this.failure as Error;
    // A copy the pool thread owns (the caller refills its buffer at once); not bytes.slice(), which on a
    // Buffer is a view of the same memory.
    this.send(new Uint8Array(bytes), false);
  }

  end(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.send(undefined, true);
    return this.caughtUp();
  }

  drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    this.pool.sendFrame({ frame: this.id, level: this.level, drop: true });
    this.settle();
  }

  caughtUp(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.sent.length === 0 || this.dropped) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private send(bytes: Uint8Array | undefined, end: boolean): void {
    if (this.dropped) throw new TsconvertError('INTERNAL', 'write to a dropped compression frame');
    const n = bytes?.length ?? 0;
    this.sent.push(n);
    this.backlog += n;
    this.pool.sendFrame({
      frame: this.id,
      level: this.level,
      ...(bytes ? { bytes } : {}),
      ...(end ? { end } : {}),
    });
  }

  private answered(pieces: Uint8Array[]): void {
    this.backlog -= this.sent.shift() ?? 0;
    if (this.dropped || this.failure !== undefined) return;
    try {
      this.onPieces(pieces);
    } catch (err) {
      // Thrown in a worker's message event, it would be uncaught: the producer gets it instead.
      this.failed(err);
      return;
    }
    if (this.sent.length === 0) this.settle();
  }

  private failed(err: unknown): void {
    this.failure = err;
    this.sent.length = 0;
    this.backlog = 0;
    this.settle();
  }

  /** Wakes every waiter: with the failure, or because nothing is outstanding (or the frame was dropped). */
  private settle(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (this.failure !== undefined && !this.dropped) w.reject(this.failure);
      else w.resolve();
    }
  }
}
