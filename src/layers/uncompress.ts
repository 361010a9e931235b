// `--uncompress`: the new blob is the layer's tar itself. Already-uncompressed layers are kept as they are.

import type { LayerFormat } from './layer-format.js';

export function uncompressFormat(): LayerFormat {
  return {
    name: 'uncompress',
    compression: 'none',
    resultLabel: 'uncompressed',
    // The tar itself: nothing but the format decides the bytes.
    reuseKey: 'uncompress/1',
    skipReason: (source) => (source === 'none' ? 'already uncompressed' : undefined),
    encode: (tar) => ({ output: tar, annotations: () => ({}) }),
  };
}
