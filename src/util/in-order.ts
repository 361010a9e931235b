// Items that become complete out of order, handed on in order: a position is reserved when an item is
// known to come, filled when it is complete, and the filled run at the front goes to the sink at once.
// Positions already handed on are dropped as the front advances, so memory follows the items still
// waiting (bounded by what is in flight), not everything since the start of a layer of millions.

/** Front positions handed on before the array is compacted (and at least half of it). */
const COMPACT_AFTER = 1024;

export class InOrder<T> {
  private items: Array<T | undefined> = [];
  /** Index in `items` of the oldest position not yet handed on. */
  private head = 0;
  /** Position of `items[0]`. */
  private base = 0;

  constructor(private readonly sink: (item: T) => void) {}

  /** The position the next reservation gets. */
  get length(): number {
    return this.base + this.items.length;
  }

  /** Positions reserved but not yet handed on (waiting, and those behind them). */
  get waiting(): number {
    return this.items.length - this.head;
  }

  /** Reserves the next position; fill it with `set`. */
  reserve(): number {
    this.items.push(undefined);
    return this.length - 1;
  }

  /** Adds a complete item at the next position. */
  push(item: T): void {
    this.set(this.reserve(), item);
  }

  /** Fills a reserved position; hands on every complete item at the front. */
  set(position: number, item: T): void {
    this.items[position - this.base] = item;
    for (let i = this.head; i < this.items.length; i++) {
      const ready = this.items[i];
      if (ready === undefined) break;
      this.sink(ready);
      this.items[i] = undefined;
      this.head = i + 1;
    }
    if (this.head >= COMPACT_AFTER && 2 * this.head >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
  }
}
