// JSON in and out of the content store. Writes compact JSON the way Go's encoding/json does (so digests of
// rewritten blobs look like containerd's output): no indentation, and <, >, &, U+2028, U+2029 escaped.
// Reads with a size limit and a clear error naming the blob.

import { malformed } from '../errors.js';

/** Largest manifest, index or config tsconvert will read; larger is hostile or not JSON. */
export const MAX_JSON_BLOB_BYTES = 16 * 1024 * 1024;

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

/**
 * Same, with the top-level keys sorted bytewise as Go writes a map (used for image configs). Joined by hand:
 * a JavaScript object lists integer-like keys ("0", "10") first whatever their order, and an assigned
 * "__proto__" key would become the prototype and vanish.
 */
export function marshalGoJsonSortedTop(value: Record<string, unknown>): string {
  const keys = Object.keys(value)
    .filter((key) => value[key] !== undefined)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${keys.map((key) => `${marshalGoJson(key)}:${marshalGoJson(value[key])}`).join(',')}}`;
}

export function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw malformed(`${what} is not valid JSON: ${(err as Error).message}`, { cause: err });
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
