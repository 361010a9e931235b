// The in-place base64 encoder against Buffer's: every length, split into pieces at every possible place.

import { describe, expect, it } from 'vitest';
import { base64Length, writeBase64 } from '../../../src/util/base64.js';

function encode(pieces: Uint8Array[]): string {
  const n = pieces.reduce((sum, p) => sum + p.length, 0);
  const out = new Uint8Array(base64Length(n) + 2).fill(0x21); // '!' marks bytes it must not touch
  const end = writeBase64(pieces, out, 1);
  expect(end).toBe(1 + base64Length(n));
  expect(out[0]).toBe(0x21);
  expect(out[end]).toBe(0x21);
  return Buffer.from(out.subarray(1, end)).toString('latin1');
}

describe('writeBase64', () => {
  const bytes = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 151 + 7) % 256));

  it('matches Buffer for every length, whole', () => {
    for (let n = 0; n <= bytes.length; n++)
      expect(encode([bytes.subarray(0, n)])).toBe(bytes.subarray(0, n).toString('base64'));
  });

  it('matches Buffer for pieces cut anywhere, empty pieces included', () => {
    for (let n = 0; n <= 11; n++) {
      const whole = bytes.subarray(0, n);
      for (let a = 0; a <= n; a++)
        for (let b = a; b <= n; b++) {
          const pieces = [
            whole.subarray(0, a),
            whole.subarray(a, a),
            whole.subarray(a, b),
            whole.subarray(b),
          ];
          expect(encode(pieces), `${n} cut at ${a},${b}`).toBe(whole.toString('base64'));
        }
    }
    const ones = Array.from(bytes.subarray(0, 10), (_, i) => bytes.subarray(i, i + 1));
    expect(encode(ones)).toBe(bytes.subarray(0, 10).toString('base64'));
  });
});
