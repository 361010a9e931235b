// The per-kind JSON limits (src/oci/json-limits.ts): a document at its limit is written, one byte more is
// refused with a message naming it, the size and the limit.
import { describe, expect, it } from 'vitest';
import { checkJsonWrite, formatLimit, JSON_LIMITS, jsonTooLarge } from '../../src/oci/json-limits.js';

describe('JSON limits', () => {
  it('has the documented limits', () => {
    expect(Object.fromEntries(Object.entries(JSON_LIMITS).map(([k, v]) => [k, formatLimit(v)]))).toEqual({
      manifest: '4 MiB',
      index: '4 MiB',
      config: '16 MiB',
      'index.json': '16 MiB',
      'oci-layout': '64 KiB',
      'reuse record': '64 KiB',
    });
  });

  it('writes a document at its limit and refuses one byte more', () => {
    expect(() => checkJsonWrite('manifest', 'm', JSON_LIMITS.manifest, 'h')).not.toThrow();
    expect(() => checkJsonWrite('manifest', 'm', JSON_LIMITS.manifest + 1, 'h')).toThrow(
      'm would be 4194305 bytes, more than the 4 MiB limit for manifests, so it was not written',
    );
  });

  it('names the document read past its limit', () => {
    expect(jsonTooLarge('config', 'config sha256:x', 20 << 20).message).toBe(
      'config sha256:x is 20971520 bytes, more than the 16 MiB limit for configs',
    );
    expect(jsonTooLarge('index.json', '/l/index.json').message).toBe(
      "/l/index.json is larger than the 16 MiB limit for a layout's index.json",
    );
  });
});
