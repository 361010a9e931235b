// TOC entries of a zstd:chunked layer (docs/format.md#toc): metadata values as Go's archive/tar computes
// them, payload fields per chunk, compact JSON with a fixed key order, zero values omitted (except type and
// name), and no HTML escaping.

import { Buffer } from 'node:buffer';
import { sha256Digest } from '../../oci/digest.js';
import { formatRfc3339, GO_ZERO_TIME_SECONDS, type TarMember, type TarTime } from '../../tar/index.js';

export const EMPTY_SHA256 = sha256Digest('');

/** Offsets and digests of one chunk of a regular file's payload. */
export interface ChunkFields {
  offset: number;
  endOffset?: number;
  chunkSize: number;
  chunkOffset: number;
  chunkDigest: string;
}

/** JSON string for text from the tar (names, link names, user and group names, xattr keys). */
const q = (s: string): string => JSON.stringify(s);

// Keys, type names, RFC 3339 times, digests and base64 text never hold a character JSON escapes, so they
// are quoted by hand: on a layer of 200 000 empty files, quoting them with JSON.stringify took 0.16 s of
// the main thread's ~2.9 s, by hand 0.05 s (node --cpu-prof, self time).

function time(key: string, t: TarTime | undefined): string {
  if (t === undefined || t.sec === GO_ZERO_TIME_SECONDS) return '';
  return `,"${key}":"${formatRfc3339(t)}"`;
}

function num(key: string, v: bigint | number): string {
  return v === 0 || v === 0n ? '' : `,"${key}":${v.toString()}`;
}

function str(key: string, v: string): string {
  return v === '' ? '' : `,"${key}":${q(v)}`;
}

function xattrs(member: TarMember): string {
  if (member.xattrs.length === 0) return '';
  const parts = member.xattrs.map((x) => `${q(x.key.text)}:"${Buffer.from(x.value).toString('base64')}"`);
  return `,"xattrs":{${parts.join(',')}}`;
}

function chunk(c: ChunkFields, first: boolean): string {
  let out = `,"offset":${c.offset}`;
  if (c.endOffset !== undefined) out += `,"endOffset":${c.endOffset}`;
  out += `,"chunkSize":${c.chunkSize}`;
  if (!first) out += `,"chunkOffset":${c.chunkOffset}`;
  return `${out},"chunkDigest":"${c.chunkDigest}"`;
}

/**
 * The entry for a member. For a non-empty regular file pass its digest and first chunk; the remaining
 * chunks are separate `chunk` entries ({@link chunkEntry}).
 */
export function memberEntry(member: TarMember, digest?: string, first?: ChunkFields): string {
  return completeEntry(entryHead(member), member.type === 'reg', digest, first);
}

/**
 * Everything of a member's entry that the header decides (all keys before `digest`), without the closing
 * brace. The writer keeps only this string while a file's chunks are being compressed, not the member.
 */
export function entryHead(member: TarMember): string {
  let out = `{"type":"${member.type ?? ''}","name":${q(member.name.text)}`;
  out += str('linkName', member.linkname.text);
  out +=
    num('mode', member.mode) + num('size', member.size) + num('uid', member.uid) + num('gid', member.gid);
  if (member.uname.utf8) out += str('userName', member.uname.text);
  if (member.gname.utf8) out += str('groupName', member.gname.text);
  out += time('modtime', member.mtime) + time('accesstime', member.atime) + time('changetime', member.ctime);
  return out + num('devMajor', member.devMajor) + num('devMinor', member.devMinor) + xattrs(member);
}

/** Ends an entry begun by {@link entryHead}: a regular file's digest and first chunk, then the brace. */
export function completeEntry(head: string, regular: boolean, digest?: string, first?: ChunkFields): string {
  let out = head;
  if (regular) out += `,"digest":"${digest ?? EMPTY_SHA256}"`;
  if (first !== undefined) out += chunk(first, true);
  return `${out}}`;
}

export function chunkEntry(name: string, c: ChunkFields): string {
  return `{"type":"chunk","name":${q(name)}${chunk(c, false)}}`;
}
