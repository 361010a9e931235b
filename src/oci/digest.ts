// Digest strings ("sha256:<64 hex>"): validation and hashing helpers.
import { createHash } from 'node:crypto';
import { malformed } from '../errors.js';

export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

export function parseDigest(value: unknown, what = 'digest'): Digest {
  if (!isDigest(value))
    throw malformed(`invalid ${what} ${JSON.stringify(value)}: want sha256:<64 hex digits>`);
  return value;
}

export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The 12-hex short form used in log lines. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}
