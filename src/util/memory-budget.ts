// One memory budget for the whole run. Everything that grows with parallelism draws from it: the pool's
// worker threads (fixed for the run), each layer job's buffers, the frame slots a layer compresses in,
// libzstd's threads for --zstd, and TOC/tar-split bytes held before they spill to disk. When the budget is
// spent, work waits for memory (FIFO, abortable); it never fails for want of it. So that waiting can never
// deadlock, a request is granted, even beyond the budget, when nothing but fixed reservations is held:
// every holder makes progress on what it has and releases it when its layer ends.

interface Waiter {
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class MemoryBudget {
  /** Bytes reserved for the whole run (the pool's workers); not released. */
  private fixed = 0;
  /** Bytes held by work in progress (layers, slots, threads, metadata). */
  private held = 0;
  private readonly waiters: Waiter[] = [];
  /** The most ever held at once, fixed reservations included. */
  peak = 0;

  /** @param total bytes this run may use for what grows with parallelism */
  constructor(readonly total: number) {}

  /** Bytes in use now, fixed reservations included. */
  get used(): number {
    return this.fixed + this.held;
  }

  /** Reserves bytes for the rest of the run (granted at once; the sizing keeps it within the total). */
  reserveFixed(bytes: number): void {
    this.fixed += bytes;
    this.track();
  }

  /**
   * Takes `bytes` if they fit now and nobody waits before us; never waits. With `running`, for work that has
   * started (a layer's further frame slots or libzstd threads), it goes ahead of the waiters, which are
   * layers waiting to start: they would otherwise take the memory a running layer needs to use more than one
   * thread, and every layer would run one batch at a time. A running layer gives it back when it ends, so the
   * waiters' turn still comes.
   */
  tryAcquire(bytes: number, running = false): boolean {
    if ((!running && this.waiters.length > 0) || !this.fits(bytes)) return false;
    this.held += bytes;
    this.track();
    return true;
  }

  /** Takes `bytes`, waiting (first come, first served) until they fit or `signal` aborts. */
  acquire(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire(bytes)) return Promise.resolve();
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        resolve,
        reject,
        signal,
        onAbort: () => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(signal?.reason);
          this.wake();
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Takes `bytes` at once whatever the budget says (a one-off allocation that cannot wait). */
  overdraw(bytes: number): void {
    this.held += bytes;
    this.track();
  }

  release(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
    this.wake();
  }

  private fits(bytes: number): boolean {
    return this.held === 0 || this.used + bytes <= this.total;
  }

  private wake(): void {
    for (let w = this.waiters[0]; w !== undefined && this.fits(w.bytes); w = this.waiters[0]) {
      this.waiters.shift();
      w.signal?.removeEventListener('abort', w.onAbort);
      this.held += w.bytes;
      this.track();
      w.resolve();
    }
  }

  private track(): void {
    this.peak = Math.max(this.peak, this.used);
  }
}
