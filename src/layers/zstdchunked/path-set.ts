// The set of cleaned entry paths a layer has had so far, for the duplicate-path and hardlink-target checks.
// A layer can have millions of entries, so the paths are not kept: each is reduced to a 64-bit hash (two
// independent 32-bit lanes over its UTF-16 code units) in an open-addressing table, 8 bytes a slot at
// most half full. A Set of the strings took ~174 MB per million typical paths; this takes 16-32 MB.
//
// Two different paths with equal hashes (about 3 in 100 million for a layer of a million entries) would
// make the writer report a duplicate path and write the layer as plain zstd: still lossless, only not
// chunked. A hardlink whose missing target collided with an earlier path would pass the check; such a
// layer cannot be extracted by any reader anyway.

const INITIAL_SLOTS = 1 << 12;

/** One 32-bit lane: FNV-1a over code units, then a murmur3 finaliser so nearby strings spread. */
function lane(text: string, seed: number, prime: number): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), prime);
  h ^= text.length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class PathSet {
  /** Pairs (high, low); (0, 0) marks a free slot, so a hash of (0, 0) is stored as (0, 1). */
  private table = new Uint32Array(2 * INITIAL_SLOTS);
  private mask = INITIAL_SLOTS - 1;
  size = 0;

  has(path: string): boolean {
    const [hi, lo] = hashOf(path);
    return this.find(hi, lo) >= 0;
  }

  add(path: string): void {
    const [hi, lo] = hashOf(path);
    if (this.find(hi, lo) >= 0) return;
    if (2 * (this.size + 1) > this.mask + 1) this.grow();
    this.insert(hi, lo);
    this.size += 1;
  }

  /** The slot holding (hi, lo), or -1. */
  private find(hi: number, lo: number): number {
    const t = this.table;
    for (let i = lo & this.mask; ; i = (i + 1) & this.mask) {
      const h = t[2 * i] as number;
      const l = t[2 * i + 1] as number;
      if (h === hi && l === lo) return i;
      if (h === 0 && l === 0) return -1;
    }
  }

  private insert(hi: number, lo: number): void {
    const t = this.table;
    let i = lo & this.mask;
    while (t[2 * i] !== 0 || t[2 * i + 1] !== 0) i = (i + 1) & this.mask;
    t[2 * i] = hi;
    t[2 * i + 1] = lo;
  }

  private grow(): void {
    const old = this.table;
    this.table = new Uint32Array(old.length * 2);
    this.mask = this.table.length / 2 - 1;
    for (let i = 0; i < old.length; i += 2) {
      const hi = old[i] as number;
      const lo = old[i + 1] as number;
      if (hi !== 0 || lo !== 0) this.insert(hi, lo);
    }
  }
}

function hashOf(path: string): [number, number] {
  const hi = lane(path, 0x811c9dc5, 0x01000193);
  const lo = lane(path, 0x9747b28c, 0x5bd1e995);
  return hi === 0 && lo === 0 ? [0, 1] : [hi, lo];
}
