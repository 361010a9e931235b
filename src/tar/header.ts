// Decoding of one 512-byte tar header block into raw field values, following Go's archive/tar readHeader
// (vbatts/tar-split's fork): checksum and magic decide the format (v7, ustar/pax, GNU, star); the ustar
// prefix is joined to the name for ustar and star headers only; GNU headers carry atime/ctime, read when
// their first byte is not NUL (with Go's fallback to a prefix when they do not parse).

import { invalidTar } from '../errors.js';
import { checksumMatches, cutAtNul, parseNumeric } from './numbers.js';

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
  return expected.every((b, i) => block[at + i] === b);
}

function detectFormat(block: Uint8Array): HeaderFormat {
  if (matches(block, 257, MAGIC_USTAR)) return matches(block, 508, TRAILER_STAR) ? 'star' : 'ustar';
  if (matches(block, 257, MAGIC_GNU) && matches(block, 263, VERSION_GNU)) return 'gnu';
  return 'v7';
}

const field = (block: Uint8Array, start: number, length: number): Uint8Array =>
  block.subarray(start, start + length);

const isAscii = (bytes: Uint8Array): boolean => bytes.every((b) => b < 0x80);

function joinPrefix(prefix: Uint8Array, name: Uint8Array): Uint8Array {
  if (prefix.length === 0) return name;
  const out = new Uint8Array(prefix.length + 1 + name.length);
  out.set(prefix, 0);
  out[prefix.length] = 0x2f;
  out.set(name, prefix.length + 1);
  return out;
}

/**
 * Decodes a non-zero header block. `offset` is the block's absolute position, used in error messages.
 * Throws MALFORMED when the checksum does not match or a numeric field does not parse, as Go does.
 */
export function parseHeaderBlock(block: Uint8Array, offset: number): RawHeader {
  if (!checksumMatches(block)) throw invalidTar(`tar header at offset ${offset}: checksum mismatch`);
  const format = detectFormat(block);
  let bad: string | undefined;
  const num = (start: number, length: number, what: string): bigint => {
    const v = parseNumeric(field(block, start, length));
    if (v === undefined) bad ??= what;
    return v ?? 0n;
  };
  const str = (start: number, length: number): Uint8Array => cutAtNul(field(block, start, length));
  const h = {
    format,
    typeflag: block[156] ?? 0,
    name: str(0, 100),
    linkname: str(157, 100),
    size: num(124, 12, 'size'),
    mode: num(100, 8, 'mode'),
    uid: num(108, 8, 'uid'),
    gid: num(116, 8, 'gid'),
    mtime: num(136, 12, 'mtime'),
    uname: EMPTY,
    gname: EMPTY,
    devMajor: 0n,
    devMinor: 0n,
    atime: undefined as bigint | undefined,
    ctime: undefined as bigint | undefined,
  };
  if (format !== 'v7') {
    h.uname = str(265, 32);
    h.gname = str(297, 32);
    h.devMajor = num(329, 8, 'devmajor');
    h.devMinor = num(337, 8, 'devminor');
    let prefix: Uint8Array;
    if (format === 'ustar') {
      prefix = str(345, 155);
    } else if (format === 'star') {
      prefix = str(345, 131);
      h.atime = num(476, 12, 'atime');
      h.ctime = num(488, 12, 'ctime');
    } else {
      prefix = readGnuTimes(block, h);
    }
    h.name = joinPrefix(prefix, h.name);
  }
  if (bad !== undefined) throw invalidTar(`tar header at offset ${offset}: invalid ${bad} field`);
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
    const v = parseNumeric(field(block, start, 12));
    if (v === undefined) ok = false;
    else h[key] = v;
  }
  if (ok) return EMPTY;
  h.atime = undefined;
  h.ctime = undefined;
  const prefix = cutAtNul(field(block, 345, 155));
  return isAscii(prefix) ? prefix : EMPTY;
}
