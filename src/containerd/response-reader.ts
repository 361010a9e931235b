// Pull-style reading of a gRPC server stream's messages: `next()` resolves with the next message, with
// `undefined` once the server ended the stream, or rejects with the stream's error. The content Write
// protocol is strictly one response per request, so the writer asks for exactly the responses it expects
// and simply never reads the duplicates the daemon sends at the end (see content-writer.ts).
import type { EventEmitter } from 'node:events';

export class ResponseReader<T> {
  private readonly queue: T[] = [];
  private waiter: { resolve: (value: T | undefined) => void; reject: (err: unknown) => void } | undefined;
  private failure: { err: unknown } | undefined;
  private ended = false;

  constructor(stream: EventEmitter) {
    stream.on('data', (message: T) => {
      const waiter = this.take();
      if (waiter === undefined) this.queue.push(message);
      else waiter.resolve(message);
    });
    stream.on('error', (err: unknown) => {
      this.failure ??= { err };
      this.take()?.reject(err);
    });
    stream.on('end', () => {
      this.ended = true;
      this.take()?.resolve(undefined);
    });
  }

  /** The next message, `undefined` at the end of the stream; rejects with the stream's error. */
  next(): Promise<T | undefined> {
    const message = this.queue.shift();
    if (message !== undefined) return Promise.resolve(message);
    if (this.failure !== undefined) return Promise.reject(this.failure.err);
    if (this.ended) return Promise.resolve(undefined);
    if (this.waiter !== undefined) return Promise.reject(new Error('ResponseReader.next() called twice'));
    return new Promise<T | undefined>((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Reads and discards messages until the stream ends or fails; never rejects. Returns how many. */
  async drain(): Promise<number> {
    let discarded = 0;
    try {
      // The daemon repeats its last response when the client half-closes.
      while ((await this.next()) !== undefined) discarded += 1;
    } catch {
      // the stream's end state does not matter once we are done with it
    }
    return discarded;
  }

  private take(): typeof this.waiter {
    const waiter = this.waiter;
    this.waiter = undefined;
    return waiter;
  }
}
