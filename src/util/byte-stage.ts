// A growable buffer that owns copies of what is appended: for bytes that must outlive the borrowed input
// they came from (a tar scanner's views of a decoder's ring are valid only until it reads on). Its memory is
// allocated on first use, grows by doubling and is kept for reuse until the stage is dropped.

export class ByteStage {
  private bytes = new Uint8Array(0);
  private used = 0;

  private readonly initial: number;

  constructor(initial = 64 << 10) {
    this.initial = initial;
  }

  get length(): number {
    return this.used;
  }

  append(data: Uint8Array): void {
    const need = this.used + data.length;
    if (need > this.bytes.length) {
      let size = Math.max(this.initial, this.bytes.length);
      while (size < need) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    this.bytes.set(data, this.used);
    this.used = need;
  }

  /** The bytes appended since the last clear(); valid until the next append() or clear(). */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.used);
  }

  clear(): void {
    this.used = 0;
  }
}
