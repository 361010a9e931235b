// A layer's media type names its compression, and the blob's first bytes say what it really is. They
// disagree more often than one would like (a gzip blob labelled as plain tar, issue 17 F12), and where
// that matters (a layer the format would keep because of its label) the bytes decide, and the user is told.

import { layerCompression, type Compression } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import { sniffCompression } from '../stream/decompress.js';
import type { ConvertContext } from './context.js';

/** Bytes of a blob's head that tell its compression (see stream/decompress.ts). */
const HEAD_BYTES = 4;

/** The compression of a layer blob by its content; reads its first few bytes only. */
export async function contentCompression(ctx: ConvertContext, desc: Descriptor): Promise<Compression> {
  const head: Uint8Array[] = [];
  for await (const chunk of ctx.src.content.read(desc.digest, { signal: ctx.signal, size: HEAD_BYTES }))
    head.push(chunk);
  return sniffCompression(Buffer.concat(head).subarray(0, HEAD_BYTES));
}

const describe = (c: Compression): string => (c === 'none' ? 'uncompressed tar' : c);

/** "", or what the label says against what the bytes are, for messages about the layer. */
export function labelMismatch(desc: Descriptor, actual: Compression): string {
  const label = layerCompression(desc.mediaType);
  if (label === actual) return '';
  return `labelled ${desc.mediaType} (${describe(label)}) but its content is ${describe(actual)}`;
}
