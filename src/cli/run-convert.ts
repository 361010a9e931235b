// The composition root of `image convert`: opens the source and destination backends, picks the layer
// format, calls the converter core once, prints the result, and closes everything.

import { connectContainerd } from '../containerd/connection.js';
import { convertImage } from '../convert/convert-image.js';
import type { LayerFormat } from '../layers/layer-format.js';
import { uncompressFormat } from '../layers/uncompress.js';
import { zstdFormat } from '../layers/zstd.js';
import { normalizeImageName } from '../oci/reference.js';
import type { ImageBackend } from '../store/image-store.js';
import type { Logger } from '../util/log.js';
import type { ConvertFlags } from './convert-flags.js';
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
  const sourceName = normalizeImageName(src);
  const destinationName = normalizeImageName(dst);
  if (flags.ociImplied) {
    logger.warn(
      '--zstd implies --oci: Docker schema 2 has no standard zstd layer type, so the image gets OCI media types',
    );
  }
  const backend: ImageBackend = await connectContainerd({
    address: globals.address,
    namespace: globals.namespace,
    logger,
    signal,
  });
  try {
    const result = await convertImage({
      source: { backend, name: sourceName },
      destination: { backend, name: destinationName },
      layerFormat: layerFormatFor(flags),
      oci: flags.oci,
      platforms: flags.platforms,
      jobs: flags.jobs,
      logger,
      signal,
    });
    if (result.droppedPlatforms.length > 0) {
      logger.warn(
        `not converted (platform filter ${flags.platforms.description}): ${result.droppedPlatforms.join(', ')}; use --all-platforms or --platform to keep them`,
      );
    }
    io.stdout.write(renderResult(result, flags.format));
  } finally {
    await backend.close();
  }
}
