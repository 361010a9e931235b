// Reuse records: what converting one layer blob with one set of byte-affecting options produced (the result
// blob, its size, DiffID, the format that wrote it and its annotations). Output is deterministic, so a later
// run converting the same source with the same options may take the committed result instead of converting
// again; that is also how a run killed part-way resumes. Records live with the destination (containerd:
// labels on the result blob; an `oci:` layout: one small file per record; a registry: the same files in
// the user's cache), and the core trusts one only when the result blob is present with the recorded size.
// This file holds the contract and the one record encoding every backend shares.

import { createHash } from 'node:crypto';
import { isDigest, type Digest } from '../oci/digest.js';
import type { CallOptions } from './content-store.js';

/**
 * Where a record is a label (containerd), its key starts with this; the converter drops such labels when
 * it copies a source blob's labels to another blob (they describe the source, not the copy).
 */
export const REUSE_LABEL_PREFIX = 'io.tsconvert/reuse.';

/** What a record is looked up by: the source layer's digest and the format's reuse key (LayerFormat). */
export interface ReuseKey {
  source: Digest;
  options: string;
}

export interface ReuseRecord extends ReuseKey {
  result: Digest;
  size: number;
  diffId: Digest;
  /** The layer format that wrote the result: the requested one, or its fallback. */
  format: string;
  /** The annotations the format gave the result's descriptor. */
  annotations: Record<string, string>;
  /** Why the requested format was not used (a fallback's reason). */
  reason?: string;
  /** The format's warnings about readers that lose data from the result, repeated when it is reused. */
  warnings?: string[];
}

export interface ReuseStore {
  /**
   * The record of `key`, or undefined when there is none, it does not parse or (where the store checks it
   * here) it names a result the store does not hold at the recorded size. The core checks the size again
   * in the destination (convert/reuse.ts), so a store may leave that check to it.
   */
  find(key: ReuseKey, options: CallOptions): Promise<ReuseRecord | undefined>;
  /** Writes the record, replacing any earlier one of the same key. */
  put(record: ReuseRecord, options: CallOptions): Promise<void>;
}

/**
 * Record files in a directory, one per key (`<record id>.json`): what an `oci:` layout keeps beside its blobs
 * (oci-layout/reuse-records.ts), and what a registry destination keeps in the user's cache with the same code.
 */
export interface RecordFiles {
  /** The record of `key` in `dir`; undefined when there is none or it is not a well-formed record of `key`. */
  read(dir: string, key: ReuseKey, signal: AbortSignal): Promise<ReuseRecord | undefined>;
  /** Writes `record` into `dir` (created if needed) atomically, replacing an earlier record of its key. */
  write(dir: string, record: ReuseRecord, signal: AbortSignal): Promise<void>;
}

/** The name of a key's record: sha256 of the source digest and the options, in hex. */
export function recordId(key: ReuseKey): string {
  return createHash('sha256').update(`${key.source}\n${key.options}`).digest('hex');
}

/** The file a key's record is kept in, where records are files (RecordFiles). */
export const recordFileName = (key: ReuseKey): string => `${recordId(key)}.json`;

/** The record as the JSON text both backends store. */
export function encodeRecord(record: ReuseRecord): string {
  const { source, options, result, size, diffId, format, annotations, reason, warnings } = record;
  return JSON.stringify({
    v: 1,
    source,
    options,
    result,
    size,
    diffId,
    format,
    annotations,
    reason,
    warnings,
  });
}

const isStringMap = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.values(v).every((x) => typeof x === 'string');

/** The record in `text` when it is a well-formed record of exactly `key`; undefined otherwise. */
export function decodeRecord(text: string | undefined, key: ReuseKey): ReuseRecord | undefined {
  if (text === undefined) return undefined;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || v.v !== 1) return undefined;
  if (v.source !== key.source || v.options !== key.options) return undefined;
  const { result, size, diffId, format, annotations, reason, warnings } = v;
  if (!isDigest(result) || !isDigest(diffId)) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (typeof format !== 'string' || !isStringMap(annotations)) return undefined;
  if (reason !== undefined && typeof reason !== 'string') return undefined;
  const isStrings = (w: unknown): w is string[] => Array.isArray(w) && w.every((x) => typeof x === 'string');
  if (warnings !== undefined && !isStrings(warnings)) return undefined;
  return {
    ...key,
    result,
    size,
    diffId,
    format,
    annotations,
    ...(reason === undefined ? {} : { reason }),
    ...(warnings === undefined ? {} : { warnings }),
  };
}
