// Decoding of one 512-byte tar header block into raw field values, following Go's archive/tar readHeader
// (vbatts/tar-split's fork): checksum and magic decide the format (v7, ustar/pax, GNU, star); the ustar
// prefix is joined to the name for ustar and star headers only; GNU headers carry atime/ctime, read when
// their first byte is not NUL (with Go's fallback to a prefix when they do not parse).

import { invalidTar } from '../errors.js';
import { checksumMatches, parseNumeric } from './numbers.js';

export type HeaderFormat = 'v7' | 'ustar' | 'gnu' | 'star';

/** Field values of a single header block, before PAX records and GNU long names are applied. */
export interface RawHeader {
  readonly format: HeaderFormat;
  /** The type flag byte as stored. */
  readonly typeflag: number;
  readonly name: Uint8Array;
  readonly linkname: Uint8Array;
  readonly uname: Uint8Array;
  readonly gname: Uint8Array;
  readonly mode: bigint;
  readonly uid: bigint;
  readonly gid: bigint;
  readonly size: bigint;
  readonly mtime: bigint;
  readonly devMajor: bigint;
  readonly devMinor: bigint;
  readonly atime: bigint | undefined;
  readonly ctime: bigint | undefined;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const MAGIC_USTAR = [0x75, 0x73, 0x74, 0x61, 0x72, 0x00]; // "ustar\0"
const MAGIC_GNU = [0x75, 0x73, 0x74, 0x61, 0x72, 0x20]; // "ustar "
const VERSION_GNU = [0x20, 0x00]; // " \0"
const TRAILER_STAR = [0x74, 0x61, 0x72, 0x00]; // "tar\0" at 508

function matches(block: Uint8Array, at: number, expected: readonly number[]): boolean {
  for (let i = 0; i < expected.length; i++) if (block[at + i] !== expected[i]) return false;
  return true;
}

function detectFormat(block: Uint8Array): HeaderFormat {
  if (matches(block, 257, MAGIC_USTAR)) return matches(block, 508, TRAILER_STAR) ? 'star' : 'ustar';
  if (matches(block, 257, MAGIC_GNU) && matches(block, 263, VERSION_GNU)) return 'gnu';
  return 'v7';
}

/** The bytes of the string field at `block[start, start + length)` up to its first NUL (a view, or EMPTY). */
function text(block: Uint8Array, start: number, length: number): Uint8Array {
  let end = start;
  while (end < start + length && block[end] !== 0) end++;
  return end === start ? EMPTY : block.subarray(start, end);
}

const isAscii = (bytes: Uint8Array): boolean => bytes.every((b) => b < 0x80);

function joinPrefix(prefix: Uint8Array, name: Uint8Array): Uint8Array {
  if (prefix.length === 0) return name;
  const out = new Uint8Array(prefix.length + 1 + name.length);
  out.set(prefix, 0);
  out[prefix.length] = 0x2f;
  out.set(name, prefix.length + 1);
  return out;
}

/** A numeric field; MALFORMED naming `what` when it does not parse (fields are read in Go's order). */
function numeric(block: Uint8Array, start: number, end: number, offset: number, what: string): bigint {
  const v = parseNumeric(block, start, end);
  if (v === undefined) throw invalidTar(`tar header at offset ${offset}: invalid ${what} field`);
  return v;
}

/**
 * Decodes a non-zero header block. `offset` is the block's absolute position, used in error messages.
 * Throws MALFORMED when the checksum does not match or a numeric field does not parse, as Go does.
 */
export function parseHeaderBlock(block: Uint8Array, offset: number): RawHeader {
  if (!checksumMatches(block)) throw invalidTar(`tar header at offset ${offset}: checksum mismatch`);
  const format = detectFormat(block);
  const h = {
    format,
    typeflag: block[156] ?? 0,
    name: text(block, 0, 100),
    linkname: text(block, 157, 100),
    size: numeric(block, 124, 136, offset, 'size'),
    mode: numeric(block, 100, 108, offset, 'mode'),
    uid: numeric(block, 108, 116, offset, 'uid'),
    gid: numeric(block, 116, 124, offset, 'gid'),
    mtime: numeric(block, 136, 148, offset, 'mtime'),
    uname: EMPTY,
    gname: EMPTY,
    devMajor: 0n,
    devMinor: 0n,
    atime: undefined as bigint | undefined,
    ctime: undefined as bigint | undefined,
  };
  if (format !== 'v7') {
    h.uname = text(block, 265, 32);
    h.gname = text(block, 297, 32);
    h.devMajor = numeric(block, 329, 337, offset, 'devmajor');
    h.devMinor = numeric(block, 337, 345, offset, 'devminor');
    let prefix: Uint8Array;
    if (format === 'ustar') {
      prefix = text(block, 345, 155);
    } else if (format === 'star') {
      prefix = text(block, 345, 131);
      h.atime = numeric(block, 476, 488, offset, 'atime');
      h.ctime = numeric(block, 488, 500, offset, 'ctime');
    } else {
      prefix = readGnuTimes(block, h);
    }
    h.name = joinPrefix(prefix, h.name);
  }
  return h;
}

/** GNU atime/ctime; when they do not parse, Go drops them and reads a pre-Go-1.8 prefix instead. */
function readGnuTimes(block: Uint8Array, h: { atime?: bigint; ctime?: bigint }): Uint8Array {
  let ok = true;
  for (const [start, key] of [
    [345, 'atime'],
    [357, 'ctime'],
  ] as const) {
    if (block[start] === 0) continue;
    const v = parseNumeric(block, start, start + 12);
    if (v === undefined) ok = false;
    else h[key] = v;
  }
  if (ok) return EMPTY;
  h.atime = undefined;
  h.ctime = undefined;
  const prefix = text(block, 345, 155);
  return isAscii(prefix) ? prefix : EMPTY;
}
