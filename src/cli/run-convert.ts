// The composition root of `image convert`: opens the source and destination backends, picks the layer
// format, calls the converter core once, prints the result, and closes everything.

import { hostname } from 'node:os';
import { convertImage } from '../convert/convert-image.js';
import type { LayerFormat } from '../layers/layer-format.js';
import { uncompressFormat } from '../layers/uncompress.js';
import { zstdFormat } from '../layers/zstd.js';
import type { Logger } from '../util/log.js';
import type { ConvertFlags } from './convert-flags.js';
import { openLocations } from './locations.js';
import { renderResult } from './render.js';

export interface GlobalFlags {
  address: string;
  namespace: string;
  debug: boolean;
  logFormat: 'text' | 'json';
}

export interface RunIo {
  stdout: NodeJS.WritableStream;
  logger: Logger;
  signal: AbortSignal;
}

function layerFormatFor(flags: ConvertFlags): LayerFormat | undefined {
  if (flags.uncompress) return uncompressFormat();
  if (flags.zstd) return zstdFormat(flags.zstdLevel);
  return undefined;
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
    logger,
    signal,
  });
  if (flags.ociImplied) {
    logger.warn(
      '--zstd implies --oci: Docker schema 2 has no standard zstd layer type, so the image gets OCI media types',
    );
  }
  try {
    const { source, destination } = locations;
    const result = await convertImage({
      source,
      destination,
      layerFormat: layerFormatFor(flags),
      oci: flags.oci,
      platforms: flags.platforms,
      jobs: flags.jobs,
      logger,
      signal,
      leaseOwner: `tsconvert pid ${process.pid} on ${hostname()}`,
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
    await locations.close();
  }
}
