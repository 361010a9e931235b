import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { combineCrc64, Crc64 } from '../../../src/util/crc64.js';

/** Bit-at-a-time CRC-64/ISO with BigInt: slow, obviously right, independent of the table code. */
function reference(data: Uint8Array): bigint {
  const poly = 0xd800000000000000n;
  let crc = 0xffffffffffffffffn;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return crc ^ 0xffffffffffffffffn;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('CRC-64/ISO', () => {
  it('matches the catalogue check value of CRC-64/GO-ISO', () => {
    const c = new Crc64();
    c.update(Buffer.from('123456789'));
    expect(hex(c.sum())).toBe('b90956c775a41001');
  });

  it('matches a bitwise reference on random data, whatever the piece sizes', () => {
    for (const size of [0, 1, 7, 8, 9, 63, 1000, 4099]) {
      const data = randomBytes(size);
      const whole = new Crc64();
      whole.update(data);
      const pieces = new Crc64();
      for (let i = 0; i < size; i += 5) pieces.update(data.subarray(i, i + 5));
      const want = reference(data).toString(16).padStart(16, '0');
      expect(hex(whole.sum()), `size ${size}`).toBe(want);
      expect(hex(pieces.sum()), `size ${size} in pieces`).toBe(want);
    }
  });

  it('gives the same CRC on its WebAssembly path (runs of 2 KiB and more) as bit by bit and in small pieces', () => {
    // Lengths that use each stretch size, with remainders for the next size and for the JavaScript path.
    for (const size of [
      2048,
      2049,
      16384 + 2048 + 7,
      131072,
      131072 + 16384 + 2048 + 511,
      4 * 1024 * 1024 + 3,
    ]) {
      const data = randomBytes(size + 1).subarray(1); // an odd byte offset too
      const whole = new Crc64();
      whole.update(data);
      const small = new Crc64();
      for (let i = 0; i < size; i += 1000) small.update(data.subarray(i, i + 1000));
      expect(hex(whole.sum()), `size ${size}`).toBe(hex(small.sum()));
      if (size < 200_000)
        expect(hex(whole.sum()), `size ${size}`).toBe(reference(data).toString(16).padStart(16, '0'));
    }
  });

  it('gives the same CRC without WebAssembly (node --jitless has none)', async () => {
    const data = randomBytes(100_003);
    const withWasm = new Crc64();
    withWasm.update(data);
    vi.stubGlobal('WebAssembly', undefined);
    vi.resetModules();
    try {
      const { Crc64: JsOnly } = await import('../../../src/util/crc64.js');
      const c = new JsOnly();
      c.update(data);
      expect(hex(c.sum())).toBe(hex(withWasm.sum()));
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('combines the CRCs of pieces into the CRC of the whole', () => {
    const crc = (d: Uint8Array): Uint8Array => {
      const c = new Crc64();
      c.update(d);
      return c.sum();
    };
    for (const [a, b] of [
      [0, 5],
      [1, 1],
      [100, 4096],
      [4096, 13],
      [70000, 65536],
      [12345, 4 * 1024 * 1024 + 3],
    ] as const) {
      const data = randomBytes(a + b);
      const joined = combineCrc64(crc(data.subarray(0, a)), crc(data.subarray(a)), b);
      expect(hex(joined), `${a}+${b}`).toBe(hex(crc(data)));
    }
  });
});
