// The contract of a layer format module: bytes of the uncompressed tar in, bytes of the new blob out, plus
// the facts the descriptor needs. Format modules know nothing about stores, containerd or descriptors'
// provenance; src/convert/layer-job.ts is the glue that reads, runs and commits.

import type { Compression } from '../oci/media-types.js';

export type LayerFormatName = 'uncompress' | 'zstd' | 'zstdchunked';

/** Temporary files a layer's encoding may need; owned by the layer's flight, removed after its last waiter. */
export interface Scratch {
  /** A directory private to this layer, created on first call. */
  directory(): string;
}

export interface EncodedLayer {
  /**
   * The new blob's bytes, produced lazily as `output` is consumed. A piece is only valid until the next one
   * is asked for (a format may hand out views of memory it reuses): keep a copy, not the piece.
   */
  output: AsyncIterable<Uint8Array>;
  /** Annotations for the new descriptor; read after `output` has ended. */
  annotations(): Record<string, string>;
  /** Readers known to lose data from this layer although it is correct, one line each; after `output`. */
  warnings?(): string[];
}

export interface LayerFormat {
  readonly name: LayerFormatName;
  /** The compression the new blob has (decides the media type). */
  readonly compression: Compression;
  /** Short word for the `Layers` report and logs ("zstd", "uncompressed"). */
  readonly resultLabel: string;
  /**
   * Every option that affects the bytes this format (and its fallback) writes, as one string: the format
   * and its writer's version, level, chunk size, annotation set, the zstd library's version. Two runs with
   * equal keys write equal bytes for equal input, which is what lets a run reuse an earlier run's result
   * (src/convert/reuse.ts). Bump a format's version whenever its output changes.
   */
  readonly reuseKey: string;
  /**
   * Why a layer whose blob has `sourceCompression` is kept as it is, or undefined when it must be encoded.
   * Keeping a layer means no byte of it is rewritten (its descriptor may still get an OCI media type).
   */
  skipReason(sourceCompression: Compression): string | undefined;
  /**
   * Memory one layer's encoding needs before it can make any progress (a frame slot, libzstd's first
   * thread). The layer job draws it from the run's budget together with its streams, before it starts, and
   * `encode` only ever takes more without waiting: a job that held some memory while waiting for more could
   * deadlock with the others doing the same.
   */
  readonly startMemory?: number;
  /**
   * `encode` is done with each tar piece once it asks for the next (it copies what it keeps), so the tar
   * may be handed to it as views of memory that is then reused. Otherwise it gets pieces of its own.
   */
  readonly borrowsTar?: boolean;
  encode(tar: AsyncIterable<Uint8Array>, scratch: Scratch): EncodedLayer;
  /** What to write instead when `encode` gives up with a {@link LayerFallback}. */
  readonly fallback?: LayerFormat;
}

/**
 * Thrown from a format's output when the layer is one the format cannot carry; the glue then writes the
 * layer with the format's `fallback` and reports the reason.
 */
export class LayerFallback extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'LayerFallback';
  }
}
