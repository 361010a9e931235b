// parseTransportReference: skopeo's split (the path ends at the first ':'), prefixes always win, and bad input
// is a USAGE error rather than a silent containerd name.
import { describe, expect, it } from 'vitest';
import {
  formatTransportReference,
  isValidRefName,
  parseTransportReference,
} from '../../../src/oci-layout/index.js';

describe('parseTransportReference', () => {
  it('parses oci: and oci-archive: with and without REF', () => {
    expect(parseTransportReference('oci:out')).toEqual({ transport: 'oci', path: 'out', ref: undefined });
    expect(parseTransportReference('oci:/tmp/out:v1')).toEqual({
      transport: 'oci',
      path: '/tmp/out',
      ref: 'v1',
    });
    expect(parseTransportReference('oci-archive:examples/sample.tar:sample')).toEqual({
      transport: 'oci-archive',
      path: 'examples/sample.tar',
      ref: 'sample',
    });
  });
  it('ends the path at the first colon, as skopeo does, so REF may hold colons and slashes', () => {
    expect(parseTransportReference('oci:out:example.com/app:v1')).toEqual({
      transport: 'oci',
      path: 'out',
      ref: 'example.com/app:v1',
    });
    expect(parseTransportReference('oci:a:b:c')?.path).toBe('a');
  });
  it('returns null for containerd names, including ones that merely contain "oci"', () => {
    expect(parseTransportReference('docker.io/library/oci:tag')).toBeNull();
    expect(parseTransportReference('alpine:3')).toBeNull();
    expect(parseTransportReference('ocifoo:bar')).toBeNull();
    expect(parseTransportReference('OCI:dir')).toBeNull();
  });
  it('rejects an empty path or an invalid REF with a USAGE error', () => {
    expect(() => parseTransportReference('oci:')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => parseTransportReference('oci-archive::v1')).toThrow(
      expect.objectContaining({ code: 'USAGE' }),
    );
    expect(() => parseTransportReference('oci:out:')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => parseTransportReference('oci:out:bad ref')).toThrow(
      expect.objectContaining({ code: 'USAGE' }),
    );
  });
  it('validates ref names with the OCI grammar and formats references back', () => {
    expect(isValidRefName('v1.0')).toBe(true);
    expect(isValidRefName('example.com/app:v1')).toBe(true);
    expect(isValidRefName('a--b')).toBe(true);
    expect(isValidRefName('-a')).toBe(false);
    expect(isValidRefName('a//b')).toBe(false);
    expect(formatTransportReference({ transport: 'oci', path: 'x', ref: 'v1' })).toBe('oci:x:v1');
    expect(formatTransportReference({ transport: 'oci-archive', path: 'x.tar', ref: undefined })).toBe(
      'oci-archive:x.tar',
    );
  });
});
