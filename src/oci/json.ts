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
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  try {
    value = JSON.parse(text);
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
  if (MAYBE_OUT_OF_RANGE.test(text)) rejectNonFinite(value, what);
  return value as Record<string, unknown>;
}

/** A number with an exponent of three digits or 309 digits in a row may exceed a double's range. */
const MAYBE_OUT_OF_RANGE = /[eE][+]?\d{3}|\d{309}/;

/**
 * JSON.parse reads 1e400 as Infinity, which marshalGoJson would write back as null; Go's encoding/json
 * refuses such a number, so tsconvert refuses the document too. Iterative: documents may nest deeply.
 */
function rejectNonFinite(root: unknown, what: string): void {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw malformed(`${what} holds a number too large for a 64-bit float (such as 1e400)`);
    }
    if (typeof value === 'object' && value !== null) pending.push(...Object.values(value));
  }
}
