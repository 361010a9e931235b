// The RFC 3339 formatter and PAX time parser against fixed cases and against Go's own time formatting
// (time.Unix(sec, nsec).UTC().Format(time.RFC3339Nano)) on thousands of seeded random instants.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatRfc3339, isRfc3339Representable, parsePaxTime, unixTime } from '../../../src/tar/time.js';
import { prng } from '../../helpers/tar/collect.js';
import { tempDir } from './helpers/tools.js';

const t = (sec: bigint, nsec = 0): string => formatRfc3339(unixTime(sec, nsec));
const pax = (s: string): unknown => parsePaxTime(Buffer.from(s));

describe('formatRfc3339', () => {
  it('prints UTC with the fraction truncated and trailing zeros trimmed', () => {
    expect(t(0n)).toBe('1970-01-01T00:00:00Z');
    expect(t(1_700_000_000n, 500_000_000)).toBe('2023-11-14T22:13:20.5Z');
    expect(t(1_700_000_000n, 123_456_789)).toBe('2023-11-14T22:13:20.123456789Z');
    expect(t(1_700_000_000n, 1)).toBe('2023-11-14T22:13:20.000000001Z');
    expect(t(-1n, 999_999_999)).toBe('1969-12-31T23:59:59.999999999Z');
    expect(t(951_782_400n)).toBe('2000-02-29T00:00:00Z');
    expect(t(253_402_300_799n, 999_999_999)).toBe('9999-12-31T23:59:59.999999999Z');
    expect(t(-62_167_219_200n)).toBe('0000-01-01T00:00:00Z');
    expect(t(-62_135_596_800n)).toBe('0001-01-01T00:00:00Z');
  });
  it('knows the representable range', () => {
    expect(isRfc3339Representable(unixTime(253_402_300_799n))).toBe(true);
    expect(isRfc3339Representable(unixTime(253_402_300_800n))).toBe(false);
    expect(isRfc3339Representable(unixTime(-62_167_219_200n))).toBe(true);
    expect(isRfc3339Representable(unixTime(-62_167_219_201n))).toBe(false);
  });
  it("matches Go's RFC3339Nano on random instants, negative ones included", () => {
    const dir = tempDir('timefmt-');
    const bin = path.join(dir, 'timefmt');
    const src = path.join(path.dirname(fileURLToPath(import.meta.url)), 'oracle', 'timefmt', 'main.go');
    execFileSync('go', ['build', '-o', bin, src], {
      env: { ...process.env, GO111MODULE: 'off', GOFLAGS: '' },
    });
    const rand = prng(42);
    const cases: [bigint, number][] = [];
    for (let i = 0; i < 3000; i++) {
      const span = [1e3, 1e9, 2.5e11][i % 3] ?? 1;
      const sec = BigInt(Math.floor((rand() * 2 - 1) * span));
      const nsec = [0, Math.floor(rand() * 1e9), Math.floor(rand() * 1000) * 1e6][i % 3] ?? 0;
      cases.push([sec, nsec]);
    }
    const go = execFileSync(bin, [], { input: cases.map(([s, n]) => `${s} ${n}`).join('\n') + '\n' })
      .toString()
      .trim()
      .split('\n');
    const ours = cases.map(([s, n]) => t(s, n));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(ours.filter((v, i) => v !== go[i])).toEqual([]);
  });
});

describe('parsePaxTime (Go archive/tar rules)', () => {
  it('keeps nanoseconds and truncates beyond 9 digits', () => {
    expect(pax('1.5')).toEqual({ sec: 1n, nsec: 500_000_000 });
    expect(pax('1.1234567899')).toEqual({ sec: 1n, nsec: 123_456_789 });
    expect(pax('1.')).toEqual({ sec: 1n, nsec: 0 });
    expect(pax('+5')).toEqual({ sec: 5n, nsec: 0 });
  });
  it('applies the fraction away from zero for negative seconds', () => {
    expect(pax('-1.5')).toEqual({ sec: -2n, nsec: 500_000_000 });
    expect(pax('-0.25')).toEqual({ sec: -1n, nsec: 750_000_000 });
  });
  it('rejects what Go rejects', () => {
    for (const s of ['', '.5', '1.a', '1.5.5', 'x', '9223372036854775808', '1 '])
      expect(pax(s)).toBeUndefined();
  });
});
