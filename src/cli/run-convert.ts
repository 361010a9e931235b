// The composition root of `image convert`: opens the source and destination backends, picks the layer
// format, calls the converter core once, prints the result, and closes everything.

import { availableParallelism, hostname } from 'node:os';
import { convertImage } from '../convert/convert-image.js';
import type { LayerFormat } from '../layers/layer-format.js';
import { uncompressFormat } from '../layers/uncompress.js';
import { zstdFormat } from '../layers/zstd.js';
import { zstdChunkedFormat } from '../layers/zstdchunked/format.js';
import { CompressPool } from '../zstd/compress-pool.js';
import type { Logger } from '../util/log.js';
import type { ConvertFlags } from './convert-flags.js';
import { openLocations } from './locations.js';
import { renderResult } from './render.js';
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
}

export interface RunIo {
  stdout: NodeJS.WritableStream;
  logger: Logger;
  signal: AbortSignal;
}

/** The layer format the flags ask for; zstd:chunked compresses in a worker pool of one thread per CPU. */
function layerFormatFor(flags: ConvertFlags): { format: LayerFormat | undefined; pool?: CompressPool } {
  if (flags.layer === 'uncompress') return { format: uncompressFormat() };
  // zstd's own threads, split between the layers that convert at once (at least one, so never the JS thread).
  if (flags.layer === 'zstd') {
    return {
      format: zstdFormat(flags.zstdLevel, Math.max(1, Math.floor(availableParallelism() / flags.jobs))),
    };
  }
  if (flags.layer !== 'zstdchunked') return { format: undefined };
  const pool = new CompressPool(availableParallelism());
  return { format: zstdChunkedFormat({ pool, ...flags.chunked }), pool };
}

export async function runConvert(
  src: string,
  dst: string,
  flags: ConvertFlags,
  globals: GlobalFlags,
  io: RunIo,
): Promise<void> {
  const { logger, signal } = io;
  const locations = await openLocations(src, dst, {
    address: globals.address,
    namespace: globals.namespace,
    readBlobFiles: globals.contentReads === 'auto',
    writeIngestFiles: globals.contentWrites === 'auto',
    logger,
    signal,
  });
  if (flags.ociImpliedBy !== undefined) {
    logger.warn(
      `${flags.ociImpliedBy} implies --oci: Docker schema 2 has no standard zstd layer type, so the image gets OCI media types`,
    );
  }
  const { format, pool } = layerFormatFor(flags);
  try {
    const { source, destination } = locations;
    const result = await convertImage({
      source,
      destination,
      layerFormat: format,
      oci: flags.oci,
      platforms: flags.platforms,
      jobs: flags.jobs,
      logger,
      signal,
      leaseOwner: `tsconvert pid ${process.pid} on ${hostname()}`,
      beforeRecord: flags.verify ? verifyBeforeRecord(destination.display, flags.platforms) : undefined,
    });
    await locations.finish(signal);
    if (result.droppedPlatforms.length > 0) {
      logger.warn(
        `not converted (platform filter ${flags.platforms.description}): ${result.droppedPlatforms.join(', ')}; use --all-platforms or --platform to keep them`,
      );
    }
    result.name = destination.display;
    io.stdout.write(renderResult(result, flags.format));
  } finally {
    await pool?.close();
    await locations.close();
  }
}
