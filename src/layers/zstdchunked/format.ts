// `--zstdchunked`: the layer format module. Wires the encoder to the LayerFormat contract, picks the
// annotation set (docs/format.md#annotations: one of two, because containers/storage refuses a layer that
// carries both the stargz TOC digest and its own checksum), passes on the encoder's warnings about readers
// that lose entries, and falls back to plain zstd for layers the format cannot carry.

import type { DigestWorker } from '../../stream/digest-worker.js';
import type { MemoryBudget } from '../../util/memory-budget.js';
import type { CompressPool } from '../../zstd/compress-pool.js';
import type { LayerFormat } from '../layer-format.js';
import { zstdVersion } from '../../zstd/zstd.js';
import { zstdFormat } from '../zstd.js';
import type { MetadataLayout } from './metadata.js';
import { escapedNameWarning } from './reader-losses.js';
import { ChunkedEncoder, layerSlotMemory } from './writer.js';

export type ChunkedAnnotations = 'stargz' | 'containers';

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;
const DEFAULT_ZSTDCHUNKED_LEVEL = 3;

export interface ZstdChunkedOptions {
  pool: CompressPool;
  /** Where multi-chunk files' whole-file sha256 runs (see ChunkedEncoderOptions). */
  digests?: DigestWorker;
  /** The run's memory budget: each layer's slots and held metadata draw from it. */
  budget: MemoryBudget;
  level?: number;
  chunkSize?: number;
  annotations?: ChunkedAnnotations;
}

/** The descriptor annotation keys of both sets (docs/format.md#annotations); readers look for these. */
export const TocAnnotation = {
  stargzTocDigest: 'containerd.io/snapshot/stargz/toc.digest',
  estargzUncompressedSize: 'io.containers.estargz.uncompressed-size',
  legacyChecksum: 'io.containers.zstd-chunked.manifest-checksum',
  legacyPosition: 'io.containers.zstd-chunked.manifest-position',
  checksum: 'io.github.containers.zstd-chunked.manifest-checksum',
  position: 'io.github.containers.zstd-chunked.manifest-position',
  tarSplitPosition: 'io.github.containers.zstd-chunked.tarsplit-position',
} as const;

export function chunkedAnnotations(
  set: ChunkedAnnotations,
  l: MetadataLayout,
  uncompressedSize: number,
): Record<string, string> {
  const position = `${l.tocOffset}:${l.tocLength}:${l.tocUncompressedLength}:1`;
  if (set === 'containers') {
    // Both prefixes: 1.43 reads only the old one, 1.44 and later only the io.github one
    // (docs/format.md#which-reader-reads-which).
    return {
      [TocAnnotation.checksum]: l.tocChecksum,
      [TocAnnotation.position]: position,
      [TocAnnotation.tarSplitPosition]: `${l.tarSplitOffset}:${l.tarSplitLength}:${l.tarSplitUncompressedLength}`,
      [TocAnnotation.legacyChecksum]: l.tocChecksum,
      [TocAnnotation.legacyPosition]: position,
    };
  }
  return {
    [TocAnnotation.stargzTocDigest]: l.tocDigest,
    [TocAnnotation.estargzUncompressedSize]: String(uncompressedSize),
    [TocAnnotation.legacyChecksum]: l.tocChecksum,
    [TocAnnotation.legacyPosition]: position,
  };
}

export function zstdChunkedFormat(options: ZstdChunkedOptions): LayerFormat {
  const level = options.level ?? DEFAULT_ZSTDCHUNKED_LEVEL;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const set = options.annotations ?? 'stargz';
  const fallback = zstdFormat(level, { budget: options.budget, max: options.pool.size });
  return {
    name: 'zstdchunked',
    compression: 'zstd',
    resultLabel: 'zstd:chunked',
    reuseKey: `zstdchunked/2 level=${level} chunk=${chunkSize} annotations=${set} libzstd=${zstdVersion()} fallback=(${fallback.reuseKey})`,
    skipReason: () => undefined,
    // A layer's first frame slot; more come from the budget when it has room.
    startMemory: layerSlotMemory(chunkSize),
    // The encoder copies what it keeps past a scanner batch (writer.ts): header frames, tar-split bytes.
    borrowsTar: true,
    fallback,
    encode(tar, scratch) {
      const encoder = new ChunkedEncoder({
        pool: options.pool,
        level,
        chunkSize,
        slots: options.pool.size + 2,
        budget: options.budget,
        scratch,
        ...(options.digests === undefined ? {} : { digests: options.digests }),
      });
      return {
        output: encoder.encode(tar),
        annotations: () => {
          if (encoder.layout === undefined) return {};
          return chunkedAnnotations(set, encoder.layout, encoder.uncompressedSize);
        },
        warnings: () => (encoder.escapedName === undefined ? [] : [escapedNameWarning(encoder.escapedName)]),
      };
    },
  };
}
