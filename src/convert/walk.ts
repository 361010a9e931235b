// Dispatch by media type, like containerd's default converter: indexes and manifests are converted, any
// other blob reachable from the root is carried over unchanged.

import { malformed } from '../errors.js';
import { isIndexType, isManifestType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import { ensureCopied } from './blobs.js';
import type { ConvertContext } from './context.js';
import { convertIndex } from './convert-index.js';
import { convertManifest } from './convert-manifest.js';

/** Nested indexes deeper than this are refused as hostile. */
export const MAX_INDEX_DEPTH = 8;

/** Returns the converted blob's descriptor, or undefined when the blob is kept as it is. */
export async function convertDescriptor(
  ctx: ConvertContext,
  desc: Descriptor,
  depth = 0,
): Promise<Descriptor | undefined> {
  if (depth > MAX_INDEX_DEPTH)
    throw malformed(`indexes nested more than ${MAX_INDEX_DEPTH} deep at ${desc.digest}`);
  if (isIndexType(desc.mediaType)) return convertIndex(ctx, desc, depth, convertDescriptor);
  if (isManifestType(desc.mediaType)) return convertManifest(ctx, desc);
  ctx.logger.warn(
    { blob: desc.digest },
    `${desc.digest} kept as it is: media type ${desc.mediaType} is not an image manifest or index`,
  );
  await ensureCopied(ctx, desc);
  return undefined;
}
