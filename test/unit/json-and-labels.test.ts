import { describe, expect, it } from 'vitest';
import { indexLabels, manifestLabels } from '../../src/convert/gc-labels.js';
import { marshalGoJson, parseJsonObject } from '../../src/oci/json.js';
import { parseManifest } from '../../src/oci/parse.js';

describe('Go-style JSON', () => {
  it('escapes HTML characters and line separators like encoding/json', () => {
    expect(marshalGoJson({ a: '<b>&\u2028' })).toBe('{"a":"\\u003cb\\u003e\\u0026\\u2028"}');
  });
  it('rejects non-objects and bad JSON with a MALFORMED error', () => {
    expect(() => parseJsonObject(Buffer.from('[1]'), 'manifest x')).toThrow(/not a JSON object/);
    expect(() => parseJsonObject(Buffer.from('{'), 'manifest x')).toThrow(/manifest x is not valid JSON/);
  });
  it('validates manifests and keeps unknown fields', () => {
    const m = parseManifest(
      {
        schemaVersion: 2,
        config: { mediaType: 'x', digest: `sha256:${'1'.repeat(64)}`, size: 1 },
        layers: [],
        extra: 1,
      },
      'm',
    );
    expect(m.extra).toBe(1);
    expect(() => parseManifest({ schemaVersion: 2, config: {}, layers: [] }, 'm')).toThrow(
      /m config: descriptor has no mediaType/,
    );
  });
});

describe('GC labels', () => {
  it('replaces content references and keeps other labels', () => {
    const labels = manifestLabels(
      {
        'containerd.io/gc.ref.content.l.7': 'old',
        'containerd.io/distribution.source.docker.io': 'library/x',
      },
      'sha256:c',
      ['sha256:a', 'sha256:a'],
    );
    expect(labels).toEqual({
      'containerd.io/distribution.source.docker.io': 'library/x',
      'containerd.io/gc.ref.content.config': 'sha256:c',
      'containerd.io/gc.ref.content.l.0': 'sha256:a',
      'containerd.io/gc.ref.content.l.1': 'sha256:a',
    });
    expect(indexLabels({ 'containerd.io/gc.ref.content.m.3': 'old' }, ['sha256:m'])).toEqual({
      'containerd.io/gc.ref.content.m.0': 'sha256:m',
    });
  });
});
