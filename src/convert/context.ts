// Per-run state of one conversion: the two stores (already bound to the run's lease), the options, the
// single-flight maps for layers, blob copies and JSON reads, the one concurrency limiter, and what the run
// reports at the end.

import pLimit, { type LimitFunction } from 'p-limit';
import type { Descriptor } from '../oci/types.js';
import type { ImageBackend } from '../store/image-store.js';
import type { Logger } from '../util/log.js';
import { currentOwner, formatOwner } from '../util/run-owner.js';
import type { ConvertOptions, LayerReport } from './options.js';
import { ProgressTracker } from './progress.js';
import { SingleFlight } from './single-flight.js';

export interface ConvertContext {
  readonly options: ConvertOptions;
  readonly src: ImageBackend;
  readonly dst: ImageBackend;
  /** True when source and destination are one store (containerd → same containerd). */
  readonly sameStore: boolean;
  readonly leaseId: string | undefined;
  /** This run's owner token (src/util/run-owner.ts): ends every ingest ref, so no two runs share one. */
  readonly runToken: string;
  readonly logger: Logger;
  /** Aborted by the user's signal or by the first failure, so siblings stop early. */
  readonly signal: AbortSignal;
  /** The only limiter: wraps leaf layer work, never a task that waits on other limited tasks. */
  readonly limit: LimitFunction;
  readonly layers: SingleFlight<Descriptor>;
  readonly copies: SingleFlight<void>;
  /** Rewritten JSON blobs, keyed by their new digest. */
  readonly writes: SingleFlight<Descriptor>;
  readonly json: SingleFlight<Record<string, unknown>>;
  readonly reports: Map<string, LayerReport>;
  readonly droppedPlatforms: Set<string>;
  /** Per-layer states and byte counts for options.onLayerEvent. */
  readonly progress: ProgressTracker;
}

export function createContext(
  options: ConvertOptions,
  src: ImageBackend,
  dst: ImageBackend,
  leaseId: string | undefined,
  signal: AbortSignal,
): ConvertContext {
  return {
    options,
    src,
    dst,
    sameStore: options.source.backend === options.destination.backend,
    leaseId,
    runToken: formatOwner(currentOwner()),
    logger: options.logger,
    signal,
    limit: pLimit(Math.max(1, options.jobs)),
    layers: new SingleFlight(),
    copies: new SingleFlight(),
    writes: new SingleFlight(),
    json: new SingleFlight(),
    reports: new Map(),
    droppedPlatforms: new Set(),
    progress: new ProgressTracker(options.onLayerEvent),
  };
}
