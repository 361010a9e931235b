// What the converter core is asked to do. The CLI builds this once from flags; nothing below reads
// process state.

import type { LayerFormat } from '../layers/layer-format.js';
import type { DigestWorker } from '../stream/digest-worker.js';
import type { PlatformMatcher } from '../oci/platform.js';
import type { Descriptor } from '../oci/types.js';
import type { ContentStore } from '../store/content-store.js';
import type { ImageBackend } from '../store/image-store.js';
import type { Leftovers } from '../util/leftovers.js';
import type { Logger } from '../util/log.js';
import type { MemoryBudget } from '../util/memory-budget.js';
import type { LayerEventSink } from './progress.js';

export interface ImageLocation {
  backend: ImageBackend;
  /** Image name in that backend (a normalised reference for containerd, the ref name for a layout). */
  name: string;
  /** How messages name it (defaults to `name`). */
  display?: string;
}

export interface ConvertOptions {
  source: ImageLocation;
  destination: ImageLocation;
  /** Layer format to produce; undefined = keep layers (only media types and platform filtering). */
  layerFormat: LayerFormat | undefined;
  /** Map Docker media types to OCI ones, in descriptors and inside the JSON. */
  oci: boolean;
  platforms: PlatformMatcher;
  /** How many layers convert, or unchanged blobs copy, at once, at most (the memory budget may let fewer run). */
  jobs: number;
  /** The run's memory budget, which every layer job draws from; none means unlimited. */
  budget?: MemoryBudget;
  /** Where layers' source digests and DiffIDs are computed; none means on the calling thread. */
  digests?: DigestWorker;
  logger: Logger;
  signal: AbortSignal;
  /**
   * Use results earlier runs recorded in the destination (src/convert/reuse.ts) instead of converting a
   * layer again (the default); false (`--no-reuse`) converts every layer, and still records the results.
   */
  reuse?: boolean;
  /** Lease expiry: content written is protected this long if tsconvert dies before cleaning up. */
  leaseTtlMs?: number;
  /**
   * Who holds the run's lease: a run-owner token (src/util/run-owner.ts formatOwner), the value of its
   * OWNER_LABEL, by which a later run tells whether the lease's run is dead.
   */
  leaseOwner?: string;
  /** Where the run records its lease and open ingests until they are gone (see util/leftovers.ts). */
  leftovers?: Leftovers;
  /** How long clean-up (ingest aborts, lease deletion) may take once the run is over; default 10 s. */
  cleanupTimeoutMs?: number;
  /**
   * Called with the converted tree's root and the destination's content store (under the run's lease)
   * just before the image record is written; a rejection fails the run and nothing is recorded
   * (`image convert --verify`).
   */
  beforeRecord?: (target: Descriptor, content: ContentStore, signal: AbortSignal) => Promise<void>;
  /**
   * Told each layer's state as it changes (waiting, converting, shared, reused, done, kept; see
   * progress.ts), synchronously on the run's thread: keep it cheap (a display throttles its own drawing).
   */
  onLayerEvent?: LayerEventSink;
}

export type LayerOutcome = 'converted' | 'unchanged';

export interface LayerReport {
  source: string;
  result: string;
  mediaType: string;
  /** "zstd", "uncompressed", or the source's own format when unchanged. */
  format: string;
  outcome: LayerOutcome;
  /** The result is an earlier run's, recorded for reuse, rather than converted by this run. */
  reused?: boolean;
  /** Why the layer was not converted as asked (e.g. "already uncompressed"). */
  reason?: string;
}

export interface ConvertResult {
  name: string;
  digest: string;
  mediaType: string;
  size: number;
  layers: LayerReport[];
  /** Platforms the filter dropped (for the warning the CLI prints). */
  droppedPlatforms: string[];
}
