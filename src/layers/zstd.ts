// `--zstd`: the layer's tar compressed as one zstd stream at the requested level, the way the `zstd` CLI
// does, so the DiffID (and hence the config) does not change. zstd sources are re-encoded too: a
// multi-frame zstd:chunked blob becomes one plain zstd stream at the requested level.

// Each layer takes as many of libzstd's threads as the run's memory budget has room for when it starts, up
// to `max`: the first is paid for by the layer job (startMemory), the others only if they fit at once. The
// bytes are the same for any count of one or more.

import { through } from '../stream/through.js';
import type { MemoryBudget } from '../util/memory-budget.js';
import { createZstdEncoder, ZSTD_MT_BASE_BYTES, ZSTD_MT_THREAD_BYTES, zstdVersion } from '../zstd/zstd.js';
import type { LayerFormat } from './layer-format.js';

export const DEFAULT_ZSTD_LEVEL = 3;

/** libzstd's compression threads for a layer: drawn from `budget`, at most `max`. */
export interface ZstdThreads {
  budget: MemoryBudget;
  max: number;
}

async function* threaded(
  tar: AsyncIterable<Uint8Array>,
  level: number,
  t: ZstdThreads,
): AsyncGenerator<Uint8Array> {
  let n = 1;
  while (n < t.max && t.budget.tryAcquire(ZSTD_MT_THREAD_BYTES, true)) n += 1;
  try {
    yield* through(tar, createZstdEncoder(level, n));
  } finally {
    t.budget.release((n - 1) * ZSTD_MT_THREAD_BYTES);
  }
}

/** With `threads`, libzstd compresses on threads of its own; without, on the calling thread. */
export function zstdFormat(level: number = DEFAULT_ZSTD_LEVEL, threads?: ZstdThreads): LayerFormat {
  return {
    name: 'zstd',
    compression: 'zstd',
    resultLabel: 'zstd',
    // libzstd's threaded mode writes other bytes than its single-threaded one (but the same for any count).
    reuseKey: `zstd/1 level=${level} threads=${threads === undefined ? 'none' : 'some'} libzstd=${zstdVersion()}`,
    skipReason: () => undefined,
    startMemory: threads === undefined ? 0 : ZSTD_MT_BASE_BYTES + ZSTD_MT_THREAD_BYTES,
    encode: (tar) => ({
      output: threads === undefined ? through(tar, createZstdEncoder(level)) : threaded(tar, level, threads),
      annotations: () => ({}),
    }),
  };
}
