// Public types of the tar scanner: the events it yields and the per-member metadata, with every value as
// Go's archive/tar (vbatts/tar-split's fork) computes it, which is what containers/storage compares a
// zstd:chunked TOC against (docs/format.md#toc-metadata-fields), plus the facts the fallback needs
// (docs/format.md#fallback-to-plain-zstd).

import type { HeaderFormat } from './header.js';
import type { PaxRecords } from './pax.js';
import type { TarTime } from './time.js';

/** A string field: its raw bytes, their UTF-8 decoding (U+FFFD for bad sequences) and whether that is exact. */
export interface TarText {
  readonly raw: Uint8Array;
  readonly text: string;
  readonly utf8: boolean;
}

/** TOC entry types (docs/format.md#toc-metadata-fields); `undefined` in {@link TarMember.type} otherwise. */
export type TocType = 'reg' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** An extended attribute from a PAX `SCHILY.xattr.<key>` record (empty values included). */
export interface TarXattr {
  readonly key: TarText;
  readonly value: Uint8Array;
}

/** Facts about one member that zstd:chunked cannot carry (docs/format.md#fallback-to-plain-zstd). */
export interface TarMemberFacts {
  /** The member is a PAX global header (`g`). */
  readonly globalHeader: boolean;
  /** An old-GNU sparse member (`S`) or a PAX GNU sparse member (0.0, 0.1 or 1.0). */
  readonly sparse: boolean;
  /** The type flag is none of the TOC types. */
  readonly unknownType: boolean;
  /** Name, link name or an xattr key is not valid UTF-8. */
  readonly invalidUtf8: boolean;
  /** mtime, atime or ctime lies outside the years 0000–9999. */
  readonly timeOutOfRange: boolean;
}

export interface TarMember {
  /** 0-based position among the members (extension headers are not members; `g` headers are). */
  readonly index: number;
  /** Absolute offset of the first header block, extension headers included. */
  readonly headerOffset: number;
  /** Bytes of all header blocks: extension headers, their data and padding, the header, sparse blocks. */
  readonly headerSize: number;
  /** Absolute offset of the first payload byte (= headerOffset + headerSize). */
  readonly payloadOffset: number;
  /** Payload bytes stored in the archive (0 for header-only types whatever the size field says). */
  readonly payloadSize: number;
  /** Zero padding after the payload up to the next 512-byte boundary. */
  readonly paddingSize: number;
  /** Format of the member's own header block. */
  readonly format: HeaderFormat;
  /** Type flag byte as stored, as a one-character string (may be "\0"). */
  readonly rawTypeflag: string;
  /** Go's type flag: "\0" becomes "5" when the name ends in "/", else "0". */
  readonly typeflag: string;
  readonly type: TocType | undefined;
  readonly name: TarText;
  readonly linkname: TarText;
  readonly uname: TarText;
  readonly gname: TarText;
  /** Full header mode, unmasked. */
  readonly mode: bigint;
  readonly uid: bigint;
  readonly gid: bigint;
  /** Go's Header.Size: PAX `size` applied; the real size for sparse members; 0 for `g`. */
  readonly size: bigint;
  readonly devMajor: bigint;
  readonly devMinor: bigint;
  readonly mtime: TarTime;
  /** PAX `atime`, or the GNU/star header field; `undefined` when absent (Go's zero time). */
  readonly atime: TarTime | undefined;
  readonly ctime: TarTime | undefined;
  /** Sorted by raw key bytes; a later `x` header replaces an earlier one entirely. */
  readonly xattrs: readonly TarXattr[];
  /** All records of the `x` (or, for a `g` member, the `g`) header that applies; empty when none. */
  readonly pax: PaxRecords;
  readonly facts: TarMemberFacts;
}

/** How the archive ended. Go's reader accepts all three without error. */
export type TarEnding = 'two-zero-blocks' | 'one-zero-block' | 'none';

export interface TarSummary {
  readonly members: number;
  /** Total bytes scanned. */
  readonly size: number;
  readonly ending: TarEnding;
  /** Input ended inside the padding after the last payload or extension data (Go treats this as the end). */
  readonly truncatedPadding: boolean;
  /** Offset and size of the trailer: end-of-archive blocks, anything after them, dangling extension headers. */
  readonly trailerOffset: number;
  readonly trailerSize: number;
  /** The trailer is zero bytes in whole 512-byte blocks (true when empty). */
  readonly trailerAllZeroBlocks: boolean;
  readonly paxGlobalHeader: boolean;
  readonly gnuSparse: boolean;
  /** Distinct type flags outside the TOC types, in order of first appearance. */
  readonly unknownTypeflags: readonly string[];
  readonly invalidUtf8: boolean;
  readonly timeOutOfRange: boolean;
}

/** A member's header blocks; `header` holds exactly `member.headerSize` bytes from `offset`. */
export interface TarMemberEvent {
  readonly kind: 'member';
  readonly offset: number;
  readonly header: Uint8Array;
  readonly member: TarMember;
}

/** A piece of the current member's payload (a view of an input chunk, never copied). */
export interface TarPayloadEvent {
  readonly kind: 'payload';
  readonly offset: number;
  readonly data: Uint8Array;
}

/** The current member's padding; emitted once per member when it is not empty. */
export interface TarPaddingEvent {
  readonly kind: 'padding';
  readonly offset: number;
  readonly data: Uint8Array;
}

/** A piece of the trailer, streamed like payload. */
export interface TarTrailerEvent {
  readonly kind: 'trailer';
  readonly offset: number;
  readonly data: Uint8Array;
}

export interface TarEndEvent {
  readonly kind: 'end';
  readonly summary: TarSummary;
}

export type TarEvent = TarMemberEvent | TarPayloadEvent | TarPaddingEvent | TarTrailerEvent | TarEndEvent;
