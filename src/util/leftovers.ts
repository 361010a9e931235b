// What a run has made and not yet removed or committed (its leases, its open ingests), so that a run that
// ends before its clean-up finished (a daemon that stopped answering, a second Ctrl-C) can say in its last
// line what it left behind. The converter core records and forgets; the CLI and the entry point report.

export class Leftovers {
  readonly #items = new Map<number, string>();
  #next = 0;

  /** Records `what` ("lease X (expires by itself at T)"); the returned function forgets it again. */
  add(what: string): () => void {
    const key = this.#next++;
    this.#items.set(key, what);
    return () => void this.#items.delete(key);
  }

  /** What is still recorded, oldest first. */
  list(): string[] {
    return [...this.#items.values()];
  }
}
