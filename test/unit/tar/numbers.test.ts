// Numeric header fields and PAX record parsing, case by case (the external and property tests compare
// whole archives with tar-split; these pin the individual rules).

import { describe, expect, it } from 'vitest';
import { parseDecimalInt64, parseNumeric, parseOctal } from '../../../src/tar/numbers.js';
import { parsePaxRecords } from '../../../src/tar/pax.js';
import { base256, paxData } from './helpers/build.js';

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
