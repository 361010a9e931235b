// Numeric header fields and PAX record parsing, case by case (the external and property tests compare
// whole archives with tar-split; these pin the individual rules).

import { describe, expect, it } from 'vitest';
import { checksumMatches, parseDecimalInt64, parseNumeric, parseOctal } from '../../../src/tar/numbers.js';
import { parsePaxRecords } from '../../../src/tar/pax.js';
import { base256, paxData } from '../../helpers/tar/build.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('numeric fields', () => {
  it('reads octal trimmed of spaces and NULs, cut at the first NUL', () => {
    expect(parseOctal(b('0000644\0'))).toBe(0o644n);
    expect(parseOctal(b('  644 \0'))).toBe(0o644n);
    expect(parseOctal(b('12\x0034'))).toBe(0o12n);
    expect(parseOctal(b('\0\0\0\0'))).toBe(0n);
    expect(parseOctal(b('0008\0'))).toBeUndefined();
    expect(parseOctal(b('-1\0'))).toBeUndefined();
  });
  it('reads octal of every length the same as digit-by-digit bigint arithmetic, up to uint64 overflow', () => {
    for (let len = 1; len <= 23; len++) {
      for (const d of ['1', '7']) {
        const text = d.repeat(len);
        const want = BigInt(`0o${text}`);
        expect(parseOctal(b(text))).toBe(want >> 64n === 0n ? BigInt.asIntN(64, want) : undefined);
      }
    }
    expect(parseOctal(b('0000000000000000012'))).toBe(10n);
    expect(parseOctal(b('18'))).toBeUndefined();
  });

  it('matches a checksum stored as the unsigned or the signed byte sum, and nothing else', () => {
    const block = new Uint8Array(512);
    for (let i = 0; i < 512; i++) block[i] = (i * 37) % 256;
    const sums = (b: Uint8Array): [number, number] => {
      let u = 0;
      let s = 0;
      b.forEach((c, i) => {
        const v = i >= 148 && i < 156 ? 0x20 : c;
        u += v;
        s += v >= 0x80 ? v - 0x100 : v;
      });
      return [u, s];
    };
    const store = (n: number): void => {
      const text = (n < 0 ? 0 : n).toString(8).padStart(6, '0');
      block.set(new TextEncoder().encode(`${text}\0 `), 148);
    };
    const [unsigned] = sums(block);
    store(unsigned);
    expect(checksumMatches(block)).toBe(true);
    store(unsigned + 1);
    expect(checksumMatches(block)).toBe(false);
    // A signed sum is only representable in the octal field when it is not negative.
    for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) block[i] = i % 3 === 0 ? 0x81 : 0x41;
    const [u2, s2] = sums(block);
    expect(s2).toBeGreaterThan(0);
    expect(s2).not.toBe(u2);
    store(s2);
    expect(checksumMatches(block)).toBe(true);
    store(s2 - 1);
    expect(checksumMatches(block)).toBe(false);
  });

  it('reads base-256 two’s complement and rejects int64 overflow', () => {
    expect(parseNumeric(base256(1n << 40n, 8))).toBe(1n << 40n);
    expect(parseNumeric(base256(-1n, 8))).toBe(-1n);
    expect(parseNumeric(base256((1n << 63n) - 1n, 12))).toBe((1n << 63n) - 1n);
    expect(parseNumeric(Buffer.from([0x80, 0xff, ...Array<number>(10).fill(0xff)]))).toBeUndefined();
  });
  it('parses PAX decimals like strconv.ParseInt(s, 10, 64)', () => {
    expect(parseDecimalInt64(b('-9223372036854775808'))).toBe(-(1n << 63n));
    expect(parseDecimalInt64(b('9223372036854775808'))).toBeUndefined();
    expect(parseDecimalInt64(b('+1'))).toBe(1n);
    expect(parseDecimalInt64(b('1_0'))).toBeUndefined();
    expect(parseDecimalInt64(b(''))).toBeUndefined();
  });
});

describe('PAX records', () => {
  it('counts lengths in bytes, keeps binary values, lets a later record win', () => {
    const bad = paxData([
      ['SCHILY.xattr.k', '\0'],
      ['path', 'ab\0c'],
    ]);
    expect(() => parsePaxRecords(bad, 1000)).toThrow(/offset 1020: NUL/);
    const ok = paxData([
      ['SCHILY.xattr.k', Buffer.from('ü\0', 'utf8')],
      ['path', 'x'],
      ['path', 'y'],
    ]);
    expect(ok.subarray(0, 3).toString()).toBe('22 '); // 'ü' is two bytes
    const r = parsePaxRecords(ok, 100);
    expect(Buffer.from(r.get('path') ?? [])).toEqual(b('y'));
    expect(Buffer.from(r.get('SCHILY.xattr.k') ?? [])).toEqual(Buffer.from('ü\0', 'utf8'));
  });
  it('joins GNU sparse 0.0 offset/numbytes pairs into GNU.sparse.map', () => {
    const data = paxData([
      ['GNU.sparse.offset', '512'],
      ['GNU.sparse.numbytes', '10'],
    ]);
    expect(Buffer.from(parsePaxRecords(data, 0).get('GNU.sparse.map') ?? [])).toEqual(b('512,10'));
    expect(() => parsePaxRecords(paxData([['GNU.sparse.numbytes', '10']]), 7)).toThrow(/offset 7/);
  });
});
