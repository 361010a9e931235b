// zstd:chunked partial pulls (containers/storage) fetch the chunks they need with HTTP range requests that
// name several ranges at once; a registry that refuses those (GHCR answers 501, zot 416, as users of
// containers/storage report) serves such images only in full. After pushing, the destination is probed on
// one zstd:chunked layer it now holds: two one-byte ranges, which must come back as 206
// multipart/byteranges. Anything else is a warning (the image works; its pulls are whole).

import { TocAnnotation } from '../layers/zstdchunked/format.js';
import type { Descriptor } from '../oci/types.js';
import { discard } from './client.js';
import type { Repository } from './repository.js';

const CHUNKED_KEYS: readonly string[] = [
  TocAnnotation.checksum,
  TocAnnotation.legacyChecksum,
  TocAnnotation.stargzTocDigest,
];

/** The first layer of `layers` written as zstd:chunked (by its TOC annotations), if any. */
export function chunkedLayer(layers: readonly Descriptor[]): Descriptor | undefined {
  return layers.find((l) => l.size >= 2 && CHUNKED_KEYS.some((k) => l.annotations?.[k] !== undefined));
}

/** Undefined when the registry serves multi-range requests on `layer`; else what it answered. */
export async function probeMultiRange(
  repo: Repository,
  layer: Descriptor,
  signal: AbortSignal,
): Promise<string | undefined> {
  const last = layer.size - 1;
  const res = await repo.client.send({
    method: 'GET',
    path: repo.path('blobs', layer.digest),
    scopes: repo.pull,
    headers: { range: `bytes=0-0,${last}-${last}` },
    what: `probing multi-range reads of ${layer.digest}`,
    signal,
  });
  discard(res);
  const type = String(res.headers['content-type'] ?? '');
  if (res.statusCode === 206 && type.startsWith('multipart/byteranges')) return undefined;
  return res.statusCode === 206
    ? `206 with ${type || 'no Content-Type'}, one range only`
    : `HTTP ${res.statusCode}`;
}
