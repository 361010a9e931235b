import { describe, expect, it } from 'vitest';
import { TsconvertError } from '../../src/errors.js';
import { normalizeImageName } from '../../src/oci/reference.js';
import { allPlatforms, onlyPlatforms, parsePlatform } from '../../src/oci/platform.js';

describe('normalizeImageName', () => {
  it.each([
    ['alpine', 'docker.io/library/alpine:latest'],
    ['alpine:3.20', 'docker.io/library/alpine:3.20'],
    ['foo/bar', 'docker.io/foo/bar:latest'],
    ['docker.io/alpine', 'docker.io/library/alpine:latest'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['ghcr.io/o/r:v1', 'ghcr.io/o/r:v1'],
    [`alpine@sha256:${'a'.repeat(64)}`, `docker.io/library/alpine@sha256:${'a'.repeat(64)}`],
  ])('%s → %s', (input, want) => {
    expect(normalizeImageName(input)).toBe(want);
  });

  it.each(['', 'Upper', 'a b', 'x:bad tag', 'docker.io/Up/per'])('rejects %j with a usage error', (input) => {
    expect(() => normalizeImageName(input)).toThrow(TsconvertError);
  });
});

describe('platforms', () => {
  const host = { os: 'linux', architecture: 'amd64' };
  it('parses and normalises like containerd', () => {
    expect(parsePlatform('linux/aarch64', host)).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm64/v8', host)).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('arm64', host)).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm', host)).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(() => parsePlatform('linux/a/b/c', host)).toThrow(/invalid platform/);
  });
  it('matches exactly, without compatible variants', () => {
    const m = onlyPlatforms([{ os: 'linux', architecture: 'amd64' }]);
    expect(m.match({ os: 'linux', architecture: 'amd64' })).toBe(true);
    expect(m.match({ os: 'linux', architecture: '386' })).toBe(false);
    expect(m.match({ os: 'unknown', architecture: 'unknown' })).toBe(false);
    expect(allPlatforms().match({ os: 'unknown', architecture: 'unknown' })).toBe(true);
  });
});
