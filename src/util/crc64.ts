// CRC-64/ISO as Go's hash/crc64 computes it with crc64.MakeTable(crc64.ISO) (reflected polynomial
// 0xD800000000000000, initial value and final xor all ones). tar-split stores it, big-endian, for every
// member's payload; the compression pool computes it for every chunk, where it was ~11 % of those threads'
// CPU. Slice-by-8: in JavaScript over two 32-bit halves read as aligned words, and, for runs of 2 KiB and
// more, in a small WebAssembly module that hashes four stretches at once (a lookup waits for the one
// before it in the same stretch, not in the others) and joins them with the zero-append operator used by
// combineCrc64 below: 1.9 against 1.1 GiB/s here.

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

  update(input: Uint8Array): void {
    let data = input;
    if (data.length >= WASM_MIN_BYTES && LITTLE_ENDIAN && HAS_WASM) {
      const wasm = (WASM ??= new WasmCrc());
      let register = (BigInt(this.h) << 32n) | BigInt(this.l);
      const done = wasm.update(register, data, (r) => (register = r));
      this.h = Number(register >> 32n);
      this.l = Number(register & 0xffffffffn);
      data = data.subarray(done);
    }
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

// The WebAssembly path. Memory: the eight tables as little-endian i64 (16 KiB), then the zero-append
// operators of the stretch lengths (64 rows of i64 each), then the input, copied in one block at a time.
// Exports `block(h, zeros, r) -> r`: the register r advanced over the 4·h bytes at DATA, as four stretches
// of h bytes (the first from r, the others from 0, each joined to the ones before it with the operator at
// `zeros`, which appends h zero bytes).

/** Stretches hashed side by side in one block. */
const LANES = 4;
/** Stretch lengths, longest first; inputs shorter than LANES · the last are left to the JavaScript path. */
const STRETCHES = [32 << 10, 4 << 10, 512];
const WASM_MIN_BYTES = LANES * (STRETCHES.at(-1) as number);
const TABLES_AT = 0;
const ZEROS_AT = 8 * 2048;
const DATA_AT = ZEROS_AT + STRETCHES.length * 64 * 8;

let WASM: WasmCrc | undefined;

// The WebAssembly API as far as this file uses it (the project's TypeScript libraries do not declare it).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: object };
};

/** Node run with --jitless has no WebAssembly: the JavaScript path then does it all. */
const HAS_WASM = typeof WebAssembly === 'object';

class WasmCrc {
  private readonly block: (h: number, zeros: number, r: bigint) => bigint;
  private readonly memory: Uint8Array;

  constructor() {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(crcModule()));
    const exports = instance.exports as { memory: { buffer: ArrayBuffer }; block: WasmCrc['block'] };
    this.block = exports.block;
    this.memory = new Uint8Array(exports.memory.buffer);
    const words = new Uint32Array(exports.memory.buffer, TABLES_AT, 2 * 2048);
    for (let i = 0; i < 2048; i++) {
      words[2 * i] = T_LO[i] as number;
      words[2 * i + 1] = T_HI[i] as number;
    }
    const view = new DataView(exports.memory.buffer);
    STRETCHES.forEach((h, s) =>
      zeroAppender(h).forEach((row, i) => view.setBigUint64(ZEROS_AT + (s * 64 + i) * 8, row, true)),
    );
  }

  /** Advances the register over whole blocks of `data`; returns how many bytes that took. */
  update(register: bigint, data: Uint8Array, set: (r: bigint) => void): number {
    let at = 0;
    let r = register;
    STRETCHES.forEach((h, s) => {
      for (const block = LANES * h; data.length - at >= block; at += block) {
        this.memory.set(data.subarray(at, at + block), DATA_AT);
        r = this.block(h, ZEROS_AT + s * 64 * 8, r);
      }
    });
    set(BigInt.asUintN(64, r));
    return at;
  }
}

/** The operator that appends `bytes` (> 0) zero bytes to a register, as its 64 rows. */
function zeroAppender(bytes: number): Matrix {
  let result: Matrix | undefined;
  for (let k = 0, n = bytes; n > 0; k++, n = Math.floor(n / 2)) {
    if (n % 2 === 0) continue;
    const step = appendZeroBytesPow2(k);
    result = result === undefined ? step : result.map((row) => times(step, row));
  }
  return result as Matrix;
}

/** The module's bytes, assembled here (a few hundred bytes: no build step, nothing to load). */
function crcModule(): Uint8Array {
  const u = (n: number): number[] => {
    const out: number[] = [];
    do {
      const b = n & 0x7f;
      n >>>= 7;
      out.push(n === 0 ? b : b | 0x80);
    } while (n !== 0);
    return out;
  };
  const sl = (value: number): number[] => {
    let n = BigInt(value);
    const out: number[] = [];
    for (;;) {
      const b = Number(n & 0x7fn);
      n >>= 7n;
      if ((n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0)) return [...out, b];
      out.push(b | 0x80);
    }
  };
  const vec = (items: number[][]): number[] => [...u(items.length), ...items.flat()];
  const section = (id: number, body: number[]): number[] => [id, ...u(body.length), ...body];
  const name = (s: string): number[] => [...u(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  // prettier-ignore
  const op = {
    block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brIf: 0x0d, call: 0x10, void: 0x40,
    get: 0x20, set: 0x21, i32Const: 0x41, i64Const: 0x42, i64Load: 0x29, i64Eqz: 0x50, i32GeU: 0x4f,
    i32Add: 0x6a, i32Mul: 0x6c, i32Shl: 0x74, i64And: 0x83, i64Xor: 0x85, i64ShrU: 0x88, i32WrapI64: 0xa7,
  };
  const get = (i: number): number[] => [op.get, i];
  const set = (i: number): number[] => [op.set, i];
  const i32 = (n: number): number[] => [op.i32Const, ...sl(n)];
  const i64 = (n: number): number[] => [op.i64Const, ...sl(n)];
  const load = (offset: number): number[] => [op.i64Load, 3, ...u(offset)];
  // block(h, zeros, r): locals j, then a register and a word per lane (lane 0's register is r).
  const [H, ZEROS, R, J] = [0, 1, 2, 3];
  const reg = (k: number): number => (k === 0 ? R : 3 + k);
  const word = (k: number): number => 3 + LANES + k;
  // T[7 - i][byte i of v]: byte i of the word is the one (7 - i) places from the end of the 8.
  // prettier-ignore
  const lookup = (v: number, i: number): number[] => [
    ...get(v), ...i64(8 * i), op.i64ShrU, ...i64(255), op.i64And, op.i32WrapI64, ...i32(3), op.i32Shl,
    ...load(TABLES_AT + (7 - i) * 2048),
  ];
  const lanes = [...Array(LANES).keys()];
  // prettier-ignore
  const block = [
    ...lanes.slice(1).flatMap((k) => [...i64(0), ...set(reg(k))]),
    ...i32(0), ...set(J),
    op.block, op.void, op.loop, op.void,
    ...get(J), ...get(H), op.i32GeU, op.brIf, 1,
    ...lanes.flatMap((k) => [
      ...get(reg(k)), ...get(H), ...i32(k), op.i32Mul, ...get(J), op.i32Add, ...load(DATA_AT), op.i64Xor,
      ...set(word(k)),
    ]),
    ...lanes.flatMap((k) => [
      ...lookup(word(k), 0), ...[1, 2, 3, 4, 5, 6, 7].flatMap((i) => [...lookup(word(k), i), op.i64Xor]),
      ...set(reg(k)),
    ]),
    ...get(J), ...i32(8), op.i32Add, ...set(J),
    op.br, 0, op.end, op.end,
    ...lanes.slice(1).flatMap((k) => [...get(R), ...get(ZEROS), op.call, 1, ...get(reg(k)), op.i64Xor, ...set(R)]),
    ...get(R), op.end,
  ];
  // apply(v, rows) -> the xor of the rows at `rows` whose bit is set in v.
  const [V, ROWS, SUM] = [0, 1, 2];
  // prettier-ignore
  const apply = [
    op.block, op.void, op.loop, op.void,
    ...get(V), op.i64Eqz, op.brIf, 1,
    ...get(V), ...i64(1), op.i64And, op.i32WrapI64, op.if, op.void,
    ...get(SUM), ...get(ROWS), ...load(0), op.i64Xor, ...set(SUM), op.end,
    ...get(V), ...i64(1), op.i64ShrU, ...set(V),
    ...get(ROWS), ...i32(8), op.i32Add, ...set(ROWS),
    op.br, 0, op.end, op.end,
    ...get(SUM), op.end,
  ];
  const [I32, I64, FUNC] = [0x7f, 0x7e, 0x60];
  // prettier-ignore
  const bodies = [
    [...vec([[1, I32], [2 * LANES - 1, I64]]), ...block],
    [...vec([[1, I64]]), ...apply],
  ];
  const pages = Math.ceil((DATA_AT + LANES * (STRETCHES[0] as number)) / 65536);
  // prettier-ignore
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[FUNC, 3, I32, I32, I64, 1, I64], [FUNC, 2, I64, I32, 1, I64]])),
    ...section(3, vec([[0], [1]])),
    ...section(5, vec([[0x00, ...u(pages)]])),
    ...section(7, vec([[...name('memory'), 0x02, 0], [...name('block'), 0x00, 0]])),
    ...section(10, vec(bodies.map((b) => [...u(b.length), ...b]))),
  ]);
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
