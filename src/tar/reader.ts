// Pull-style reading over an async iterable of chunks of any size. The source may reuse a chunk's memory
// once the next is asked for (a decoder's ring, a file read into reused buffers), so the views handed out
// (payload, and the `…Buffered` reads) are valid only until the reader waits for more input; read(), which
// may wait, returns memory of its own for what its callers keep across waits (header blocks, extension
// data). Tracks the absolute offset for events and error messages. Reads the current chunk can serve are
// offered synchronously, so the scanner needs no promise for the many small steps of a member whose bytes
// have already arrived.

import { throwIfAborted, TsconvertError } from '../errors.js';

const EMPTY = new Uint8Array(0);

export class ChunkReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = EMPTY;
  private pos = 0;
  private ended = false;
  /** Absolute offset of the next unread byte. */
  offset = 0;

  private readonly signal: AbortSignal | undefined;

  constructor(source: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined) {
    this.iterator = source[Symbol.asyncIterator]();
    this.signal = signal;
  }

  /** Makes sure unread bytes are buffered; false at the end of the input. */
  private async fill(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      if (this.ended) return false;
      if (this.signal) throwIfAborted(this.signal);
      const next = await this.iterator.next();
      if (next.done === true) {
        this.ended = true;
        this.chunk = EMPTY;
        this.pos = 0;
        return false;
      }
      const value: unknown = next.value;
      if (!(value instanceof Uint8Array)) {
        throw new TsconvertError('INVALID_ARGUMENT', 'tar scanner input must yield Uint8Array chunks');
      }
      this.chunk = value;
      this.pos = 0;
    }
    return true;
  }

  /** Up to `max` bytes (max > 0) of the current chunk without waiting; undefined when none is buffered. */
  nextBuffered(max: number): Uint8Array | undefined {
    const left = this.chunk.length - this.pos;
    if (left <= 0) return undefined;
    const n = Math.min(max, left);
    const out = this.chunk.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    return out;
  }

  /** The next `n` bytes (n > 0) when the current chunk holds them all, without consuming them. */
  peekBuffered(n: number): Uint8Array | undefined {
    return this.chunk.length - this.pos >= n ? this.chunk.subarray(this.pos, this.pos + n) : undefined;
  }

  /** Consumes `n` bytes that {@link peekBuffered} showed. */
  skip(n: number): void {
    this.pos += n;
    this.offset += n;
  }

  /** Up to `max` bytes (max > 0) as a view of the current chunk, or undefined at the end of the input. */
  async next(max: number): Promise<Uint8Array | undefined> {
    return this.nextBuffered(max) ?? ((await this.fill()) ? this.nextBuffered(max) : undefined);
  }

  /** Exactly `n` bytes when the current chunk holds them, without waiting; undefined otherwise. */
  readBuffered(n: number): Uint8Array | undefined {
    if (n === 0) return EMPTY;
    const out = this.peekBuffered(n);
    if (out !== undefined) this.skip(n);
    return out;
  }

  /**
   * Exactly `n` bytes, or fewer only when the input ends first, in memory of their own: they stay valid
   * after further reads (a copy per call; only the scanner's rarer paths wait for input this way).
   */
  async read(n: number): Promise<Uint8Array> {
    if (n === 0) return EMPTY;
    const first = await this.next(n);
    if (first === undefined) return EMPTY;
    // The constructor copies (a Buffer's slice() would not).
    if (first.length === n) return new Uint8Array(first);
    const out = new Uint8Array(n);
    out.set(first, 0);
    let have = first.length;
    while (have < n) {
      const more = await this.next(n - have);
      if (more === undefined) return out.subarray(0, have);
      out.set(more, have);
      have += more.length;
    }
    return out;
  }

  /** Stops the source (e.g. closes a file stream) when scanning ends early. */
  async close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.iterator.return?.();
    }
  }
}
