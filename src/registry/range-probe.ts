// zstd:chunked partial pulls (containers/storage) fetch the chunks they need with HTTP range requests that
// name several ranges at once; a registry that refuses those (GHCR answers 501, zot 416, as users of
// containers/storage report) serves such images only in full. After pushing, the destination is probed on
// one zstd:chunked layer it now holds: two one-byte ranges, which must come back as 206
// multipart/byteranges. Anything else is a warning (the image works; its pulls are whole).

import type { Digest } from '../oci/digest.js';
import { discard } from './response-body.js';
import type { Repository } from './repository.js';

/** Undefined when the registry serves multi-range requests on blob `digest` (2 bytes or more); else what it answered. */
export async function probeMultiRange(
  repo: Repository,
  digest: Digest,
  signal: AbortSignal,
): Promise<string | undefined> {
  const res = await repo.client.send({
    method: 'GET',
    path: repo.path('blobs', digest),
    scopes: repo.pull,
    headers: { range: 'bytes=0-0,1-1' },
    what: `probing multi-range reads of ${digest}`,
    signal,
  });
  discard(res);
  const type = String(res.headers['content-type'] ?? '');
  if (res.statusCode === 206 && type.startsWith('multipart/byteranges')) return undefined;
  return res.statusCode === 206
    ? `206 with ${type || 'no Content-Type'}, one range only`
    : `HTTP ${res.statusCode}`;
}
