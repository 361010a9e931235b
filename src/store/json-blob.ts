// Reading a manifest, index or config from a content store, shared by the converter and `image verify`:
// reading stops at the kind's limit (src/oci/json-limits.ts) or one byte past the descriptor's size,
// whichever comes first, whatever the store; the bytes are checked against the descriptor (a mismatch is a
// ContentMismatch, so callers can tell a damaged blob from a lying descriptor) and parsed into an object.

import { Buffer } from 'node:buffer';
import { ContentMismatch, malformed } from '../errors.js';
import { sha256Digest } from '../oci/digest.js';
import { parseJsonObject } from '../oci/json.js';
import { JSON_LIMITS, jsonTooLarge } from '../oci/json-limits.js';
import type { Descriptor } from '../oci/types.js';
import type { ContentStore } from './content-store.js';

/** The JSON documents of an image that are read from a content store. */
export type ImageJsonKind = 'manifest' | 'index' | 'config';

export async function readJsonObject(
  content: ContentStore,
  desc: Descriptor,
  kind: ImageJsonKind,
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  const what = `${kind} ${desc.digest}`;
  if (desc.size > JSON_LIMITS[kind]) throw jsonTooLarge(kind, what, desc.size);
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of content.read(desc.digest, { signal })) {
    total += chunk.byteLength;
    if (total > desc.size) throw malformed(`${what} is larger than its descriptor says (${desc.size} bytes)`);
    parts.push(chunk);
  }
  const bytes = Buffer.concat(parts);
  const actual = { digest: sha256Digest(bytes), size: bytes.byteLength };
  if (actual.digest !== desc.digest || actual.size !== desc.size) throw new ContentMismatch(desc, actual);
  return parseJsonObject(bytes, what);
}
