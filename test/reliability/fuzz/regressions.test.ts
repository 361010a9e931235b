// Crashes and wrong values the fuzzers found, each pinned by the smallest input that showed it.

import { describe, expect, it } from 'vitest';
import { TsconvertError } from '../../../src/errors.js';
import { marshalGoJson, parseJsonObject } from '../../../src/oci/json.js';
import { parsePlatform } from '../../../src/oci/platform.js';
import { parsePaxTime } from '../../../src/tar/time.js';

describe('fuzz findings', () => {
  it('a PAX time of "-0.0" has zero nanoseconds, not minus zero (tar fuzzer, seed 170017)', () => {
    const t = parsePaxTime(Buffer.from('-0.0'));
    expect(t).toEqual({ sec: 0n, nsec: 0 });
    expect(Object.is(t?.nsec, 0)).toBe(true);
  });

  it('a JSON number beyond a double is refused, not rewritten as null (JSON fuzzer, seed 170017)', () => {
    const bytes = Buffer.from('{"schemaVersion":2,"config":{"StopTimeout":1e400},"n":-1E+999}');
    let err: unknown;
    try {
      marshalGoJson(parseJsonObject(bytes, 'config sha256:abc'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TsconvertError);
    expect((err as TsconvertError).code).toBe('MALFORMED');
    expect((err as Error).message).toMatch(/config sha256:abc holds a number too large/);
  });

  it('--platform __proto__ or constructor is a platform name, not an Object property (JSON fuzzer)', () => {
    const host = { os: 'linux', architecture: 'amd64' };
    expect(parsePlatform('__proto__', host)).toEqual({ os: 'linux', architecture: '__proto__' });
    expect(parsePlatform('linux/constructor', host)).toEqual({ os: 'linux', architecture: 'constructor' });
  });
});
