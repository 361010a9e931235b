// PAX extended header records ("%d %s=%s\n": the length counts bytes of the whole record, values are
// binary and may hold NULs). Parsed like Go's archive/tar parsePAX: a record that does not fit, lacks its
// newline or `=`, or has a NUL where Go forbids one makes the header invalid; a later record with the same
// keyword wins; GNU sparse 0.0 offset/numbytes pairs are gathered into GNU.sparse.map.

import { invalidTar } from '../errors.js';
import { parseDecimalInt64 } from './numbers.js';

/**
 * PAX records of one `x` or `g` header. Keys are the keywords' bytes as a binary ("latin1") string, which
 * for the usual ASCII keywords is the keyword itself; values are the raw bytes.
 */
export type PaxRecords = ReadonlyMap<string, Uint8Array>;

const PAX_PATH = 'path';
const PAX_LINKPATH = 'linkpath';
const PAX_UNAME = 'uname';
const PAX_GNAME = 'gname';
export const PAX_XATTR_PREFIX = 'SCHILY.xattr.';
const SPARSE_OFFSET = 'GNU.sparse.offset';
const SPARSE_NUMBYTES = 'GNU.sparse.numbytes';
export const SPARSE_MAP = 'GNU.sparse.map';
const NUL_FREE_VALUES = new Set([PAX_PATH, PAX_LINKPATH, PAX_UNAME, PAX_GNAME]);

/** The bytes of a binary string made by this module (every char code < 256). */
export function binaryKeyBytes(key: string): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i);
  return out;
}

function toBinaryString(bytes: Uint8Array): string {
  // Not TextDecoder('latin1'): WHATWG maps that label to windows-1252, which changes bytes 0x80–0x9f.
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

/**
 * Parses the data section of a PAX header. `offset` is where that data starts in the archive; a record
 * that Go's reader would reject throws MALFORMED naming the record's offset.
 */
export function parsePaxRecords(data: Uint8Array, offset: number): PaxRecords {
  const records = new Map<string, Uint8Array>();
  const sparse: Uint8Array[] = [];
  let pos = 0;
  while (pos < data.length) {
    const bad = (why: string): never => {
      throw invalidTar(`PAX record at offset ${offset + pos}: ${why}`);
    };
    const space = data.indexOf(0x20, pos);
    if (space < 0) bad('no length field');
    const n = parseDecimalInt64(data.subarray(pos, space));
    if (n === undefined || n < 5n || n > BigInt(data.length - pos)) bad('invalid length');
    const end = pos + Number(n);
    if (space + 1 > end - 1 || data[end - 1] !== 0x0a) bad('record does not end in a newline');
    const record = data.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) bad('no keyword');
    const keyBytes = record.subarray(0, eq);
    const value = record.subarray(eq + 1);
    const key = toBinaryString(keyBytes);
    if (NUL_FREE_VALUES.has(key) ? value.includes(0) : keyBytes.includes(0)) bad('NUL byte');
    if (key === SPARSE_OFFSET || key === SPARSE_NUMBYTES) {
      const expected = sparse.length % 2 === 0 ? SPARSE_OFFSET : SPARSE_NUMBYTES;
      if (key !== expected || value.includes(0x2c)) bad('misordered GNU sparse record');
      sparse.push(value);
    } else {
      records.set(key, value);
    }
    pos = end;
  }
  if (sparse.length > 0) records.set(SPARSE_MAP, joinWithCommas(sparse));
  return records;
}

function joinWithCommas(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, p) => sum + p.length, 0) + parts.length - 1;
  const out = new Uint8Array(total);
  let at = 0;
  parts.forEach((p, i) => {
    if (i > 0) out[at++] = 0x2c;
    out.set(p, at);
    at += p.length;
  });
  return out;
}

/** The value of `key` as text, for keywords whose values are ASCII numbers or names. */
export function recordText(records: PaxRecords | undefined, key: string): string {
  const v = records?.get(key);
  return v === undefined ? '' : toBinaryString(v);
}
