// JSON in and out of the content store. Writes compact JSON the way Go's encoding/json does (so digests of
// rewritten blobs look like containerd's output): no indentation, and <, >, &, U+2028, U+2029 escaped.
// Parses with a clear error naming the blob (size limits: json-limits.ts).

import { malformed } from '../errors.js';

const GO_ESCAPES: Readonly<Record<string, string>> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** Compact JSON with Go's HTML-safe escaping. These characters only ever occur inside JSON strings. */
export function marshalGoJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] ?? c);
}

export function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    // The parser's message quotes the input; the input is untrusted, so only the position is kept.
    const at = /at position (\d+)/.exec((err as Error).message)?.[1];
    throw malformed(`${what} is not valid JSON${at === undefined ? '' : ` (at character ${at})`}`, {
      cause: err,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
