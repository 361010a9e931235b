// `--zstd`: the layer's tar compressed as one zstd stream at the requested level, the way the `zstd` CLI
// does, so the DiffID (and hence the config) does not change. zstd sources are re-encoded too: a
// multi-frame zstd:chunked blob becomes one plain zstd stream at the requested level.

import { through } from '../stream/through.js';
import { createZstdEncoder } from '../zstd/zstd.js';
import type { LayerFormat } from './layer-format.js';

export const DEFAULT_ZSTD_LEVEL = 3;

/** `threads`: libzstd's own compression threads (0 = on the calling thread); the bytes do not depend on it when ≥ 1. */
export function zstdFormat(level: number = DEFAULT_ZSTD_LEVEL, threads = 0): LayerFormat {
  return {
    name: 'zstd',
    compression: 'zstd',
    resultLabel: 'zstd',
    skipReason: () => undefined,
    encode: (tar) => ({
      output: through(tar, createZstdEncoder(level, threads)),
      annotations: () => ({}),
    }),
  };
}
