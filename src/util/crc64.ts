// CRC-64/ISO as Go's hash/crc64 computes it with crc64.MakeTable(crc64.ISO) (reflected polynomial
// 0xD800000000000000, initial value and final xor all ones). tar-split stores it, big-endian, for every
// member's payload. Slice-by-8 over two 32-bit halves read as aligned words, so the hot loop never touches
// BigInt or single bytes.

const POLY_HI = 0xd8000000;

function makeTables(): { hi: Uint32Array; lo: Uint32Array } {
  const hi = new Uint32Array(8 * 256);
  const lo = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let h = 0;
    let l = n;
    for (let k = 0; k < 8; k++) {
      const carry = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h = h >>> 1;
      if (carry) h = (h ^ POLY_HI) >>> 0;
    }
    hi[n] = h;
    lo[n] = l;
  }
  for (let t = 1; t < 8; t++) {
    for (let n = 0; n < 256; n++) {
      const ph = hi[(t - 1) * 256 + n] ?? 0;
      const pl = lo[(t - 1) * 256 + n] ?? 0;
      const idx = pl & 0xff;
      hi[t * 256 + n] = ((hi[idx] ?? 0) ^ (ph >>> 8)) >>> 0;
      lo[t * 256 + n] = ((lo[idx] ?? 0) ^ ((pl >>> 8) | ((ph & 0xff) << 24))) >>> 0;
    }
  }
  return { hi, lo };
}

const { hi: T_HI, lo: T_LO } = makeTables();

/** Typed-array word reads match the CRC's byte order only on little-endian hosts (all Node targets today). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Unaligned input is copied here in pieces, so the hot loop always reads aligned 32-bit words. */
const SCRATCH = new Uint32Array(16 * 1024);

/** Advances the register over whole 8-byte groups given as 32-bit little-endian words. */
function words(h: number, l: number, w: Uint32Array, count: number): [number, number] {
  const th = T_HI;
  const tl = T_LO;
  for (let j = 0; j < count; j += 2) {
    const a = (l ^ (w[j] as number)) >>> 0;
    const b = (h ^ (w[j + 1] as number)) >>> 0;
    const i7 = 1792 + (a & 0xff),
      i6 = 1536 + ((a >>> 8) & 0xff),
      i5 = 1280 + ((a >>> 16) & 0xff),
      i4 = 1024 + (a >>> 24);
    const i3 = 768 + (b & 0xff),
      i2 = 512 + ((b >>> 8) & 0xff),
      i1 = 256 + ((b >>> 16) & 0xff),
      i0 = b >>> 24;
    h =
      ((th[i7] as number) ^
        (th[i6] as number) ^
        (th[i5] as number) ^
        (th[i4] as number) ^
        (th[i3] as number) ^
        (th[i2] as number) ^
        (th[i1] as number) ^
        (th[i0] as number)) >>>
      0;
    l =
      ((tl[i7] as number) ^
        (tl[i6] as number) ^
        (tl[i5] as number) ^
        (tl[i4] as number) ^
        (tl[i3] as number) ^
        (tl[i2] as number) ^
        (tl[i1] as number) ^
        (tl[i0] as number)) >>>
      0;
  }
  return [h, l];
}

/** Incremental CRC-64/ISO. */
export class Crc64 {
  private h = 0xffffffff;
  private l = 0xffffffff;

  update(data: Uint8Array): void {
    let h = this.h;
    let l = this.l;
    const n = data.length;
    let done = n - (n % 8);
    if (!LITTLE_ENDIAN) done = 0;
    else if (data.byteOffset % 4 === 0) {
      [h, l] = words(h, l, new Uint32Array(data.buffer, data.byteOffset, done / 4), done / 4);
    } else {
      const bytes = new Uint8Array(SCRATCH.buffer);
      for (let at = 0; at < done; at += bytes.length) {
        const len = Math.min(bytes.length, done - at);
        bytes.set(data.subarray(at, at + len));
        [h, l] = words(h, l, SCRATCH, len / 4);
      }
    }
    const tl = T_LO;
    const th = T_HI;
    for (let i = done; i < n; i++) {
      const idx = (l ^ (data[i] as number)) & 0xff;
      l = ((tl[idx] as number) ^ ((l >>> 8) | ((h & 0xff) << 24))) >>> 0;
      h = ((th[idx] as number) ^ (h >>> 8)) >>> 0;
    }
    this.h = h;
    this.l = l;
  }

  /** The 8 bytes tar-split stores: the CRC, big-endian. */
  sum(): Uint8Array {
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint32(0, (this.h ^ 0xffffffff) >>> 0);
    view.setUint32(4, (this.l ^ 0xffffffff) >>> 0);
    return out;
  }
}

// Combining: the CRC of A‖B from crc(A), crc(B) and |B|, by applying the "append |B| zero bytes" operator
// to crc(A) — over GF(2) a 64×64 matrix. The operators for 2^k zero bytes are squared up once per process
// from the one-bit operator (the method zlib uses for crc32_combine) and applied one per set bit of |B|, so
// a combine costs at most 32 matrix-vector products and no matrix products. The initial value and final
// xor are both all ones, so they cancel.

const POLY = 0xd800000000000000n;
type Matrix = bigint[];

function times(mat: Matrix, vec: bigint): bigint {
  let sum = 0n;
  for (let i = 0; vec !== 0n; i++, vec >>= 1n) if (vec & 1n) sum ^= mat[i] as bigint;
  return sum;
}

function square(mat: Matrix): Matrix {
  return mat.map((row) => times(mat, row));
}

/** ZERO_BYTES_POW2[k] appends 2^k zero bytes; grown on demand. */
const ZERO_BYTES_POW2: Matrix[] = [];

function appendZeroBytesPow2(k: number): Matrix {
  if (ZERO_BYTES_POW2.length === 0) {
    const oneBit: Matrix = [POLY];
    for (let n = 1; n < 64; n++) oneBit.push(1n << BigInt(n - 1));
    ZERO_BYTES_POW2.push(square(square(square(oneBit)))); // 8 zero bits = 1 zero byte
  }
  while (ZERO_BYTES_POW2.length <= k) ZERO_BYTES_POW2.push(square(ZERO_BYTES_POW2.at(-1) as Matrix));
  return ZERO_BYTES_POW2[k] as Matrix;
}

const toBig = (crc: Uint8Array): bigint => new DataView(crc.buffer, crc.byteOffset, 8).getBigUint64(0);

function fromBig(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v);
  return out;
}

/** CRC-64 of A‖B, given crc(A), crc(B) (big-endian bytes) and |B|. */
export function combineCrc64(crcA: Uint8Array, crcB: Uint8Array, bytesOfB: number): Uint8Array {
  let register = toBig(crcA);
  for (let k = 0, n = bytesOfB; n > 0; k++, n = Math.floor(n / 2))
    if (n % 2 === 1) register = times(appendZeroBytesPow2(k), register);
  return fromBig(register ^ toBig(crcB));
}
