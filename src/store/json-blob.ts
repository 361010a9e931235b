// Reading a manifest, index or config from a content store: size-limited (the descriptor's size is
// untrusted), digest-checked, parsed into an object, with errors naming the blob.

import { Buffer } from 'node:buffer';
import { malformed } from '../errors.js';
import { sha256Digest } from '../oci/digest.js';
import { MAX_JSON_BLOB_BYTES, parseJsonObject } from '../oci/json.js';
import type { Descriptor } from '../oci/types.js';
import type { ContentStore } from './content-store.js';

export async function readJsonObject(
  content: ContentStore,
  desc: Descriptor,
  what: string,
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  if (desc.size > MAX_JSON_BLOB_BYTES) {
    throw malformed(
      `${what} ${desc.digest} is ${desc.size} bytes, more than the ${MAX_JSON_BLOB_BYTES}-byte limit`,
    );
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of content.read(desc.digest, { signal })) {
    total += chunk.byteLength;
    if (total > MAX_JSON_BLOB_BYTES)
      throw malformed(`${what} ${desc.digest} is larger than its descriptor says`);
    parts.push(chunk);
  }
  const bytes = Buffer.concat(parts);
  const actual = sha256Digest(bytes);
  if (actual !== desc.digest || bytes.byteLength !== desc.size) {
    throw malformed(
      `${what} ${desc.digest} is corrupt: content has digest ${actual} and ${bytes.byteLength} bytes`,
      {
        hint: 'the local copy is damaged; pull the image again',
      },
    );
  }
  return parseJsonObject(bytes, `${what} ${desc.digest}`);
}
