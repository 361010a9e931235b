import { describe, expect, it } from 'vitest';
import { dockerToOci, isLayerType, layerCompression, MediaType } from '../../src/oci/media-types.js';

describe('media types', () => {
  it('maps Docker types to OCI and leaves Docker zstd layers alone', () => {
    expect(dockerToOci(MediaType.dockerManifestList)).toBe(MediaType.ociIndex);
    expect(dockerToOci(MediaType.dockerLayerGzip)).toBe(MediaType.ociLayerGzip);
    expect(dockerToOci(MediaType.dockerForeignLayer)).toBe(MediaType.ociLayerNondist);
    expect(dockerToOci(MediaType.dockerLayerZstd)).toBe(MediaType.dockerLayerZstd);
  });
  it('classifies layers and their compression', () => {
    expect(isLayerType(MediaType.dockerLayerZstd)).toBe(true);
    expect(isLayerType(MediaType.ociConfig)).toBe(false);
    expect(layerCompression(MediaType.dockerLayerGzip)).toBe('gzip');
    expect(layerCompression(MediaType.ociLayerZstd)).toBe('zstd');
    expect(layerCompression(MediaType.ociLayer)).toBe('none');
  });
});
