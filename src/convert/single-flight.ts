// Per-key single flight: the first caller for a key runs the work; every later caller (a duplicate layer in
// the same manifest, the same layer in another platform) waits for and shares that result. Temporary
// resources the work owns are registered with `defer` and released exactly once, after the work has settled
// AND the last waiter has left — on success, failure and abort alike. Results stay cached for the whole
// conversion, so a duplicate that arrives late reuses the result instead of converting again.
//
// The upstream bug this prevents: stargz-snapshotter #1842 / nerdctl #3623, where concurrent conversions of
// the same digest deleted each other's temporary uncompressed layer.

export interface Flight {
  /** Registers a clean-up to run once, after the last waiter. Runs in reverse order of registration. */
  defer(cleanup: () => Promise<void> | void): void;
}

interface Entry<T> {
  promise: Promise<T>;
  waiters: number;
  settled: boolean;
  cleanups: Array<() => Promise<void> | void>;
  cleaned: boolean;
}

export class SingleFlight<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly pendingCleanups = new Set<Promise<void>>();

  /** How many distinct keys have been started (for tests and logs). */
  get size(): number {
    return this.entries.size;
  }

  async join(key: string, work: (flight: Flight) => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      const created: Entry<T> = {
        promise: Promise.resolve() as Promise<T>,
        waiters: 0,
        settled: false,
        cleanups: [],
        cleaned: false,
      };
      created.promise = Promise.resolve()
        .then(() => work({ defer: (fn) => void created.cleanups.push(fn) }))
        .finally(() => {
          created.settled = true;
        });
      this.entries.set(key, created);
      entry = created;
    }
    entry.waiters += 1;
    try {
      return await entry.promise;
    } finally {
      entry.waiters -= 1;
      this.maybeCleanUp(entry);
    }
  }

  /** Resolves once every started flight has settled and its clean-ups have run. Never rejects. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.entries.values()].map((e) => e.promise));
    await Promise.allSettled([...this.pendingCleanups]);
  }

  private maybeCleanUp(entry: Entry<T>): void {
    if (!entry.settled || entry.waiters > 0 || entry.cleaned) return;
    entry.cleaned = true;
    const run = (async () => {
      for (const fn of entry.cleanups.reverse()) {
        try {
          await fn();
        } catch {
          // A failed clean-up must not hide the conversion's own result; backends log their own failures.
        }
      }
    })();
    this.pendingCleanups.add(run);
    void run.finally(() => this.pendingCleanups.delete(run));
  }
}
