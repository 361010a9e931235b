// Go's Reader.next loop over header blocks: reads extension headers (PAX `x`, GNU `L`/`K`) and their
// padded data until a member header, a PAX global header (itself a member) or the end of the archive, and
// keeps every byte it read so the member's header bytes can be handed on verbatim. Checks the limits in
// limits.ts before reading anything a header asks for.

import { invalidTar } from '../errors.js';
import { parseHeaderBlock, type RawHeader } from './header.js';
import {
  BLOCK_SIZE,
  MAX_GNU_LONG_NAME_SIZE,
  MAX_HEADER_BLOCKS_PER_MEMBER,
  MAX_PAX_HEADER_SIZE,
} from './limits.js';
import {
  applyExtensions,
  finishMember,
  globalHeaderDraft,
  isHeaderOnly,
  type Extensions,
  type MemberDraft,
  type MemberLayout,
} from './member.js';
import { cutAtNul, isAllZero } from './numbers.js';
import { parsePaxRecords, type PaxRecords } from './pax.js';
import type { ChunkReader } from './reader.js';
import { applyPaxSparse, readOldGnuSparse } from './sparse.js';
import type { TarEnding, TarMember } from './types.js';

const TYPE_PAX = 0x78; // 'x'
const TYPE_PAX_GLOBAL = 0x67; // 'g'
const TYPE_LONG_NAME = 0x4c; // 'L'
const TYPE_LONG_LINK = 0x4b; // 'K'
const TYPE_OLD_SPARSE = 0x53; // 'S'

const paddingOf = (size: number): number => (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;

/** Result of reading one member's header blocks: a member, or the end of the archive. */
export type HeaderResult =
  | { kind: 'member'; member: TarMember; pieces: Uint8Array[] }
  | { kind: 'end'; pieces: Uint8Array[]; ending: TarEnding; truncatedPadding: boolean };

/** Header bytes of the member being read, with the block limit enforced as they grow. */
class HeaderBytes {
  readonly pieces: Uint8Array[] = [];
  private blocks = 0;
  readonly offset: number;
  constructor(offset: number) {
    this.offset = offset;
  }

  reserve(bytes: number, at: number): void {
    this.blocks += Math.ceil(bytes / BLOCK_SIZE);
    if (this.blocks > MAX_HEADER_BLOCKS_PER_MEMBER) {
      throw invalidTar(
        `tar member at offset ${this.offset}: more than ${MAX_HEADER_BLOCKS_PER_MEMBER} header blocks (at offset ${at})`,
      );
    }
  }
  get size(): number {
    let n = 0;
    for (const p of this.pieces) n += p.length;
    return n;
  }
}

/** Reads a header block; `undefined` at a clean end of input, MALFORMED when it is cut short. */
async function readBlock(reader: ChunkReader, what: string): Promise<Uint8Array | undefined> {
  const at = reader.offset;
  const block = await reader.read(BLOCK_SIZE);
  if (block.length === 0) return undefined;
  if (block.length < BLOCK_SIZE)
    throw invalidTar(`${what} at offset ${at}: input ends after ${block.length} bytes`);
  return block;
}

const NO_EXTENSIONS: Readonly<Extensions> = Object.freeze({
  pax: undefined,
  longName: undefined,
  longLink: undefined,
});

const isExtension = (typeflag: number): boolean =>
  typeflag === TYPE_PAX ||
  typeflag === TYPE_PAX_GLOBAL ||
  typeflag === TYPE_LONG_NAME ||
  typeflag === TYPE_LONG_LINK;

function ended(bytes: HeaderBytes, ending: TarEnding, truncatedPadding = false): HeaderResult {
  return { kind: 'end', pieces: bytes.pieces, ending, truncatedPadding };
}

/** Keeps a non-zero header block read at `at` and decodes it. */
function headerBlock(block: Uint8Array, at: number, bytes: HeaderBytes): RawHeader {
  bytes.reserve(BLOCK_SIZE, at);
  bytes.pieces.push(block);
  const h = parseHeaderBlock(block, at);
  if (h.size < 0n && !isHeaderOnly(h.typeflag)) throw invalidTar(`tar header at offset ${at}: negative size`);
  return h;
}

/**
 * The common case without waiting: a member whose header is one block (no extension header before it,
 * not old-GNU sparse) that the reader holds already. `undefined`, with nothing read, otherwise.
 */
export function readHeadersBuffered(reader: ChunkReader, index: number): HeaderResult | undefined {
  const block = reader.peekBuffered(BLOCK_SIZE);
  if (block === undefined) return undefined;
  const typeflag = block[156] ?? 0;
  if (isExtension(typeflag) || typeflag === TYPE_OLD_SPARSE || isAllZero(block)) return undefined;
  const at = reader.offset;
  reader.skip(BLOCK_SIZE);
  const bytes = new HeaderBytes(at);
  return plainMember(headerBlock(block, at, bytes), at, NO_EXTENSIONS, bytes, index);
}

/**
 * Go's Reader.next loop: reads extension headers (`x`, `L`, `K`) until a member header, a `g` header
 * (itself a member) or the end of the archive.
 */
export async function readHeaders(reader: ChunkReader, index: number): Promise<HeaderResult> {
  const bytes = new HeaderBytes(reader.offset);
  const ext: Extensions = { pax: undefined, longName: undefined, longLink: undefined };
  for (;;) {
    const at = reader.offset;
    const block = await readBlock(reader, 'tar header');
    if (block === undefined) return ended(bytes, 'none');
    if (isAllZero(block)) {
      bytes.pieces.push(block);
      const second = await readBlock(reader, 'end-of-archive block');
      if (second === undefined) return ended(bytes, 'one-zero-block');
      if (!isAllZero(second))
        throw invalidTar(`tar: non-zero block at offset ${at + BLOCK_SIZE} after a zero block`);
      bytes.pieces.push(second);
      return ended(bytes, 'two-zero-blocks');
    }
    const h = headerBlock(block, at, bytes);
    if (isExtension(h.typeflag)) {
      const isPax = h.typeflag === TYPE_PAX || h.typeflag === TYPE_PAX_GLOBAL;
      const data = await readExtensionData(
        reader,
        bytes,
        h,
        at,
        isPax ? MAX_PAX_HEADER_SIZE : MAX_GNU_LONG_NAME_SIZE,
      );
      if (h.typeflag === TYPE_PAX_GLOBAL) {
        const pax = parsePaxRecords(data, at + BLOCK_SIZE);
        return globalMember(h, pax, bytes, index, data.length);
      }
      if (isPax) ext.pax = parsePaxRecords(data, at + BLOCK_SIZE);
      else if (h.typeflag === TYPE_LONG_NAME) ext.longName = cutAtNul(data);
      else ext.longLink = cutAtNul(data);
      const want = paddingOf(data.length);
      const padding = await reader.read(want);
      bytes.pieces.push(padding);
      if (padding.length < want) return ended(bytes, 'none', true);
      continue;
    }
    if (h.typeflag === TYPE_OLD_SPARSE) return oldSparseMember(reader, h, block, at, ext, bytes, index);
    return plainMember(h, at, ext, bytes, index);
  }
}

async function readExtensionData(
  reader: ChunkReader,
  bytes: HeaderBytes,
  h: RawHeader,
  at: number,
  limit: number,
): Promise<Uint8Array> {
  const kind = String.fromCharCode(h.typeflag);
  if (h.size > BigInt(limit)) {
    throw invalidTar(
      `tar '${kind}' header at offset ${at}: ${h.size} bytes of data exceed the limit of ${limit}`,
    );
  }
  const size = Number(h.size);
  bytes.reserve(size, at);
  const data = await reader.read(size);
  if (data.length < size) {
    throw invalidTar(
      `tar '${kind}' header at offset ${at}: input ends at offset ${reader.offset} inside its data`,
    );
  }
  bytes.pieces.push(data);
  return data;
}

function globalMember(
  h: RawHeader,
  pax: PaxRecords,
  bytes: HeaderBytes,
  index: number,
  dataSize: number,
): HeaderResult {
  const draft = globalHeaderDraft(h, pax);
  const member = finishMember(h, draft, pax, layoutOf(bytes, index, 0, paddingOf(dataSize), false));
  return { kind: 'member', member, pieces: bytes.pieces };
}

function layoutOf(
  bytes: HeaderBytes,
  index: number,
  payloadSize: number,
  paddingSize: number,
  sparse: boolean,
): MemberLayout {
  return { index, headerOffset: bytes.offset, headerSize: bytes.size, payloadSize, paddingSize, sparse };
}

/** Go's checks of a member's stored size: negative or beyond 2^53 is MALFORMED. */
function payloadSizeOf(d: MemberDraft, at: number): number {
  const physical = isHeaderOnly(d.typeflag) ? 0n : d.size;
  if (physical < 0n) throw invalidTar(`tar header at offset ${at}: negative size`);
  if (physical > BigInt(Number.MAX_SAFE_INTEGER))
    throw invalidTar(`tar header at offset ${at}: size ${physical} too large`);
  return Number(physical);
}

/** A member that is not old-GNU sparse: PAX GNU sparse records may still make it sparse. */
function plainMember(
  h: RawHeader,
  at: number,
  ext: Readonly<Extensions>,
  bytes: HeaderBytes,
  index: number,
): HeaderResult {
  const d: MemberDraft = applyExtensions(h, ext, at);
  const payloadSize = payloadSizeOf(d, at);
  const sparse = applyPaxSparse(d, ext.pax, at);
  if (sparse && isHeaderOnly(d.typeflag))
    throw invalidTar(`tar header at offset ${at}: sparse header-only type`);
  const layout = layoutOf(bytes, index, payloadSize, paddingOf(payloadSize), sparse);
  return { kind: 'member', member: finishMember(h, d, ext.pax, layout), pieces: bytes.pieces };
}

/** An old-GNU sparse member (`S`): its sparse map may continue in extension blocks after the header. */
async function oldSparseMember(
  reader: ChunkReader,
  h: RawHeader,
  block: Uint8Array,
  at: number,
  ext: Extensions,
  bytes: HeaderBytes,
  index: number,
): Promise<HeaderResult> {
  const d: MemberDraft = applyExtensions(h, ext, at);
  const payloadSize = payloadSizeOf(d, at);
  const next = async (): Promise<{ block: Uint8Array; offset: number }> => {
    const offset = reader.offset;
    bytes.reserve(BLOCK_SIZE, offset);
    const b = await readBlock(reader, 'GNU sparse extension block');
    if (b === undefined) throw invalidTar(`GNU sparse extension block at offset ${offset}: input ends`);
    return { block: b, offset };
  };
  bytes.pieces.push(...(await readOldGnuSparse(h, block, at, d, next)));
  const layout = layoutOf(bytes, index, payloadSize, paddingOf(payloadSize), true);
  return { kind: 'member', member: finishMember(h, d, ext.pax, layout), pieces: bytes.pieces };
}
