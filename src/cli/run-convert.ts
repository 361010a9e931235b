// The composition root of `image convert`: opens the source and destination backends, picks the layer
// format, calls the converter core once, prints the result, and closes everything.

import { availableParallelism } from 'node:os';
import { convertImage } from '../convert/convert-image.js';
import type { LayerFormat } from '../layers/layer-format.js';
import { parseDigest } from '../oci/digest.js';
import { uncompressFormat } from '../layers/uncompress.js';
import { zstdFormat } from '../layers/zstd.js';
import { zstdChunkedFormat } from '../layers/zstdchunked/format.js';
import { CompressPool, WORKER_BYTES } from '../zstd/compress-pool.js';
import { DigestWorker } from '../stream/digest-worker.js';
import { Leftovers } from '../util/leftovers.js';
import { ownerToken } from '../util/run-tags.js';
import type { Logger } from '../util/log.js';
import type { ConvertFlags } from './convert-flags.js';
import { processHostLimits } from './host-limits.js';
import { leftoversText, withLeftovers } from './leftovers-report.js';
import { openLocations, type LocationOptions } from './locations.js';
import type { Progress } from './progress.js';
import { renderResult } from './render.js';
import { formatMiB, planResources, type ResourcePlan } from './resources.js';
import { cleanupDestination } from './run-cleanup.js';
import { verifyBeforeRecord } from './verify-failure.js';

export interface GlobalFlags {
  address: string;
  namespace: string;
  debug: boolean;
  logFormat: 'text' | 'json';
  /** "auto": blob files when readable (src/containerd/blob-files.ts); "grpc": always the content service. */
  contentReads: 'auto' | 'grpc';
  /** "auto": large blobs into ingest files when writable (src/containerd/ingest-files.ts); "grpc": never. */
  contentWrites: 'auto' | 'grpc';
  /** How long any one answer from containerd may take (`--timeout`). */
  timeoutMs: number;
}

export interface RunIo {
  stdout: NodeJS.WritableStream;
  logger: Logger;
  signal: AbortSignal;
  /** Where the run records what it has not cleaned up yet (the entry point reads it on a second signal). */
  leftovers?: Leftovers;
  /** The progress view the converter reports its layers to; stopped before the result is printed. */
  progress?: Progress;
}

/** How the global flags open backends (everything of LocationOptions but the logger and the signal). */
export function backendOptions(globals: GlobalFlags): Omit<LocationOptions, 'logger' | 'signal'> {
  return {
    address: globals.address,
    namespace: globals.namespace,
    readBlobFiles: globals.contentReads === 'auto',
    writeIngestFiles: globals.contentWrites === 'auto',
    timeoutMs: globals.timeoutMs,
  };
}

/**
 * The layer format the flags ask for, with as many compression threads as the plan's budget holds: a pool
 * of workers shared by every zstd:chunked layer (their memory reserved for the run), or libzstd's threads,
 * which each --zstd layer takes from the budget as it starts (so one big layer gets them all).
 */
function layerFormatFor(
  flags: ConvertFlags,
  plan: ResourcePlan,
  digests: DigestWorker | undefined,
): { format: LayerFormat | undefined; pool?: CompressPool } {
  if (flags.layer === 'uncompress') return { format: uncompressFormat() };
  if (flags.layer === 'zstd')
    return { format: zstdFormat(flags.zstdLevel, { budget: plan.budget, max: plan.threads }) };
  if (flags.layer !== 'zstdchunked') return { format: undefined };
  plan.budget.reserveFixed(plan.threads * WORKER_BYTES);
  const pool = new CompressPool(plan.threads);
  return {
    format: zstdChunkedFormat({
      pool,
      budget: plan.budget,
      ...(digests === undefined ? {} : { digests }),
      ...flags.chunked,
    }),
    pool,
  };
}

export async function runConvert(
  src: string,
  dst: string,
  flags: ConvertFlags,
  globals: GlobalFlags,
  io: RunIo,
): Promise<void> {
  const { logger, signal } = io;
  const plan = planResources({
    maxMemory: flags.maxMemory,
    cpus: availableParallelism(),
    limits: processHostLimits(),
    layer: flags.layer,
    chunkSize: flags.chunked.chunkSize,
  });
  const locations = await openLocations(src, dst, {
    ...backendOptions(globals),
    registry: flags.registry,
    budget: plan.budget,
    logger,
    signal,
  });
  if (flags.ociImpliedBy !== undefined) {
    logger.warn(
      `${flags.ociImpliedBy} implies --oci: Docker schema 2 has no standard zstd layer type, so the image gets OCI media types`,
    );
  }
  logger.debug(
    `memory: ${formatMiB(plan.maxMemory)} (${plan.origin}), budget ${formatMiB(plan.budget.total)} beyond the runtime; ${plan.cpus} CPUs usable, ${plan.threads} compression threads${plan.digestThread ? ', a digest thread' : ''}`,
  );
  const digests = plan.digestThread ? new DigestWorker() : undefined;
  const { format, pool } = layerFormatFor(flags, plan, digests);
  const leftovers = io.leftovers ?? new Leftovers();
  try {
    const { source, destination } = locations;
    await cleanupDestination(destination.backend, destination.display, logger, signal, 'start');
    const result = await convertImage({
      source,
      destination,
      layerFormat: format,
      oci: flags.oci,
      platforms: flags.platforms,
      jobs: flags.jobs,
      reuse: flags.reuse,
      budget: plan.budget,
      ...(digests === undefined ? {} : { digests }),
      logger,
      signal,
      leaseOwner: ownerToken(),
      leftovers,
      beforeRecord: flags.verify ? verifyBeforeRecord(destination.display, flags.platforms) : undefined,
      ...(io.progress === undefined ? {} : { onLayerEvent: io.progress.sink }),
    });
    const chunked = result.layers
      .filter((l) => l.format === 'zstd:chunked')
      .map((l) => parseDigest(l.result));
    await locations.finish(signal, chunked);
    await cleanupDestination(destination.backend, destination.display, logger, signal, 'end');
    io.progress?.stop();
    if (result.droppedPlatforms.length > 0) {
      logger.warn(
        `not converted (platform filter ${flags.platforms.description}): ${result.droppedPlatforms.join(', ')}; use --all-platforms or --platform to keep them`,
      );
    }
    result.name = destination.display;
    io.stdout.write(renderResult(result, flags.format));
    const left = leftoversText(leftovers.list(), dst);
    if (left !== undefined) logger.warn(left);
  } catch (err) {
    throw withLeftovers(err, leftovers.list(), dst);
  } finally {
    io.progress?.stop();
    if (pool !== undefined) {
      logger.debug(
        `compression pool: ${pool.size} threads, at most ${pool.peakBusy} busy at once; budget peak ${formatMiB(plan.budget.peak)} of ${formatMiB(plan.budget.total)}`,
      );
    }
    await pool?.close();
    await digests?.close();
    await locations.close();
  }
}
