// Small descriptor helpers shared by the index and manifest converters.

import { dockerToOci, isDockerType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import type { ConvertContext } from './context.js';

/** The descriptor with its media type mapped to OCI when `--oci` (or a zstd output) asks for it. */
export function withOciType(ctx: ConvertContext, desc: Descriptor): Descriptor {
  if (!ctx.options.oci || !isDockerType(desc.mediaType)) return desc;
  return { ...desc, mediaType: dockerToOci(desc.mediaType) };
}

/** Replaces what identifies the blob (type, digest, size), keeping platform, annotations and the rest. */
export function pointAt(entry: Descriptor, blob: Descriptor): Descriptor {
  return { ...entry, mediaType: blob.mediaType, digest: blob.digest, size: blob.size };
}

export function sameBlob(a: Descriptor, b: Descriptor): boolean {
  return a.digest === b.digest && a.mediaType === b.mediaType && a.size === b.size;
}

/** The media type a rewritten manifest or index declares (and its `mediaType` field, when present). */
export function jsonMediaType(ctx: ConvertContext, declared: string): string {
  return ctx.options.oci ? dockerToOci(declared) : declared;
}
