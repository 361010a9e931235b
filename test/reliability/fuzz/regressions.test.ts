// Crashes and wrong values the fuzzers found, each pinned by the smallest input that showed it.

import { describe, expect, it } from 'vitest';
import { parsePaxTime } from '../../../src/tar/time.js';

describe('fuzz findings', () => {
  it('a PAX time of "-0.0" has zero nanoseconds, not minus zero (tar fuzzer, seed 170017)', () => {
    const t = parsePaxTime(Buffer.from('-0.0'));
    expect(t).toEqual({ sec: 0n, nsec: 0 });
    expect(Object.is(t?.nsec, 0)).toBe(true);
  });
});
