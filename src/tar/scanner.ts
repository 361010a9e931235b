// The streaming tar scanner: a state machine over the uncompressed bytes that yields, per member, its raw
// header blocks (extension headers included) with their offset and the values Go's archive/tar computes,
// then its payload as views of the input chunks, then its padding; and at the end the trailer and a
// summary. Concatenating header, payload, padding and trailer bytes in order gives back the input exactly.
//
// End of input follows Go's reader (vbatts/tar-split's fork), which reports a clean end, not an error,
// when the input stops at a block boundary where a header would start, after a single zero block, or
// inside padding; a truncated header block, payload or extension data is an error. Bytes of extension
// headers with no member after them become part of the trailer, as tar-split stores them.

import { malformed } from '../errors.js';
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
} from './member.js';
import { cutAtNul, isAllZero } from './numbers.js';
import { parsePaxRecords } from './pax.js';
import { ChunkReader } from './reader.js';
import { applyPaxSparse, readOldGnuSparse } from './sparse.js';
import { SummaryBuilder } from './summary.js';
import type { TarEnding, TarEvent, TarMember } from './types.js';

export interface ScanTarOptions {
  /** Stops the scan between chunks with a CANCELLED error. */
  readonly signal?: AbortSignal;
}

const TYPE_PAX = 0x78; // 'x'
const TYPE_PAX_GLOBAL = 0x67; // 'g'
const TYPE_LONG_NAME = 0x4c; // 'L'
const TYPE_LONG_LINK = 0x4b; // 'K'
const TYPE_OLD_SPARSE = 0x53; // 'S'

const paddingOf = (size: number): number => (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;

/** Result of reading one member's header blocks: a member, or the end of the archive. */
type HeaderResult =
  | { kind: 'member'; member: TarMember; pieces: Uint8Array[] }
  | { kind: 'end'; pieces: Uint8Array[]; ending: TarEnding; truncatedPadding: boolean };

/** Header bytes of the member being read, with the block limit enforced as they grow. */
class HeaderBytes {
  readonly pieces: Uint8Array[] = [];
  private blocks = 0;
  constructor(readonly offset: number) {}

  reserve(bytes: number, at: number): void {
    this.blocks += Math.ceil(bytes / BLOCK_SIZE);
    if (this.blocks > MAX_HEADER_BLOCKS_PER_MEMBER) {
      throw malformed(
        `tar member at offset ${this.offset}: more than ${MAX_HEADER_BLOCKS_PER_MEMBER} header blocks (at offset ${at})`,
      );
    }
  }
  get size(): number {
    return this.pieces.reduce((n, p) => n + p.length, 0);
  }
}

/**
 * Scans a tar stream. Events, in order: for each member `member`, then `payload`* and `padding`?; then
 * `trailer`* and one `end`. Throws TsconvertError MALFORMED (message naming the byte offset) on input
 * Go's archive/tar rejects or that exceeds the limits in limits.ts.
 *
 * @example
 * for await (const ev of scanTar(fs.createReadStream('layer.tar'))) {
 *   if (ev.kind === 'member') console.log(ev.member.name.text, ev.member.payloadSize);
 * }
 */
export async function* scanTar(
  source: AsyncIterable<Uint8Array>,
  options: ScanTarOptions = {},
): AsyncGenerator<TarEvent, void, undefined> {
  const reader = new ChunkReader(source, options.signal);
  const summary = new SummaryBuilder();
  try {
    for (let index = 0; ; index++) {
      const result = await readHeaders(reader, index);
      if (result.kind === 'end') {
        yield* finish(reader, summary, result);
        return;
      }
      const { member } = result;
      summary.addMember(member);
      yield { kind: 'member', offset: member.headerOffset, header: concat(result.pieces), member };
      yield* payload(reader, member);
      const padding = await reader.read(member.paddingSize);
      if (padding.length > 0)
        yield { kind: 'padding', offset: reader.offset - padding.length, data: padding };
      if (padding.length < member.paddingSize) {
        yield* finish(reader, summary, { kind: 'end', pieces: [], ending: 'none', truncatedPadding: true });
        return;
      }
    }
  } finally {
    await reader.close();
  }
}

async function* payload(reader: ChunkReader, member: TarMember): AsyncGenerator<TarEvent, void, undefined> {
  let remaining = member.payloadSize;
  while (remaining > 0) {
    const offset = reader.offset;
    const data = await reader.next(remaining);
    if (data === undefined) {
      throw malformed(
        `tar member "${member.name.text}" at offset ${member.headerOffset}: input ends at offset ${offset}, ` +
          `${remaining} payload bytes short`,
      );
    }
    remaining -= data.length;
    yield { kind: 'payload', offset, data };
  }
}

async function* finish(
  reader: ChunkReader,
  summary: SummaryBuilder,
  end: Extract<HeaderResult, { kind: 'end' }>,
): AsyncGenerator<TarEvent, void, undefined> {
  const start = reader.offset - end.pieces.reduce((n, p) => n + p.length, 0);
  summary.startTrailer(start, end.ending, end.truncatedPadding);
  let offset = start;
  for (const data of end.pieces) {
    summary.addTrailer(data);
    yield { kind: 'trailer', offset, data };
    offset += data.length;
  }
  for (;;) {
    const at = reader.offset;
    const data = await reader.next(Number.MAX_SAFE_INTEGER);
    if (data === undefined) break;
    summary.addTrailer(data);
    yield { kind: 'trailer', offset: at, data };
  }
  yield { kind: 'end', summary: summary.build(reader.offset) };
}

function concat(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 1 && pieces[0]) return pieces[0];
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Reads a header block; `undefined` at a clean end of input, MALFORMED when it is cut short. */
async function readBlock(reader: ChunkReader, what: string): Promise<Uint8Array | undefined> {
  const at = reader.offset;
  const block = await reader.read(BLOCK_SIZE);
  if (block.length === 0) return undefined;
  if (block.length < BLOCK_SIZE)
    throw malformed(`${what} at offset ${at}: input ends after ${block.length} bytes`);
  return block;
}

/**
 * Go's Reader.next loop: reads extension headers (`x`, `L`, `K`) until a member header, a `g` header
 * (itself a member) or the end of the archive.
 */
async function readHeaders(reader: ChunkReader, index: number): Promise<HeaderResult> {
  const bytes = new HeaderBytes(reader.offset);
  const ext: Extensions = { pax: undefined, longName: undefined, longLink: undefined };
  const end = (ending: TarEnding, truncatedPadding = false): HeaderResult => ({
    kind: 'end',
    pieces: bytes.pieces,
    ending,
    truncatedPadding,
  });
  for (;;) {
    const at = reader.offset;
    const block = await readBlock(reader, 'tar header');
    if (block === undefined) return end('none');
    if (isAllZero(block)) {
      bytes.pieces.push(block);
      const second = await readBlock(reader, 'end-of-archive block');
      if (second === undefined) return end('one-zero-block');
      if (!isAllZero(second))
        throw malformed(`tar: non-zero block at offset ${at + BLOCK_SIZE} after a zero block`);
      bytes.pieces.push(second);
      return end('two-zero-blocks');
    }
    bytes.reserve(BLOCK_SIZE, at);
    bytes.pieces.push(block);
    const h = parseHeaderBlock(block, at);
    if (h.size < 0n && !isHeaderOnly(h.typeflag))
      throw malformed(`tar header at offset ${at}: negative size`);
    if (
      h.typeflag === TYPE_PAX ||
      h.typeflag === TYPE_PAX_GLOBAL ||
      h.typeflag === TYPE_LONG_NAME ||
      h.typeflag === TYPE_LONG_LINK
    ) {
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
      if (padding.length < want) return end('none', true);
      continue;
    }
    return memberFromHeader(reader, h, block, at, ext, bytes, index);
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
    throw malformed(
      `tar '${kind}' header at offset ${at}: ${h.size} bytes of data exceed the limit of ${limit}`,
    );
  }
  const size = Number(h.size);
  bytes.reserve(size, at);
  const data = await reader.read(size);
  if (data.length < size) {
    throw malformed(
      `tar '${kind}' header at offset ${at}: input ends at offset ${reader.offset} inside its data`,
    );
  }
  bytes.pieces.push(data);
  return data;
}

function globalMember(
  h: RawHeader,
  pax: ReturnType<typeof parsePaxRecords>,
  bytes: HeaderBytes,
  index: number,
  dataSize: number,
): HeaderResult {
  const draft = globalHeaderDraft(h, pax);
  const layout = { index, headerOffset: bytes.offset, headerSize: bytes.size, payloadSize: 0, sparse: false };
  const member = finishMember(h, draft, pax, { ...layout, paddingSize: paddingOf(dataSize) });
  return { kind: 'member', member, pieces: bytes.pieces };
}

async function memberFromHeader(
  reader: ChunkReader,
  h: RawHeader,
  block: Uint8Array,
  at: number,
  ext: Extensions,
  bytes: HeaderBytes,
  index: number,
): Promise<HeaderResult> {
  const d: MemberDraft = applyExtensions(h, ext, at);
  const physical = isHeaderOnly(d.typeflag) ? 0n : d.size;
  if (physical < 0n) throw malformed(`tar header at offset ${at}: negative size`);
  if (physical > BigInt(Number.MAX_SAFE_INTEGER))
    throw malformed(`tar header at offset ${at}: size ${physical} too large`);
  let sparse: boolean;
  if (d.typeflag === TYPE_OLD_SPARSE) {
    const next = async (): Promise<{ block: Uint8Array; offset: number }> => {
      const offset = reader.offset;
      bytes.reserve(BLOCK_SIZE, offset);
      const b = await readBlock(reader, 'GNU sparse extension block');
      if (b === undefined) throw malformed(`GNU sparse extension block at offset ${offset}: input ends`);
      return { block: b, offset };
    };
    bytes.pieces.push(...(await readOldGnuSparse(h, block, at, d, next)));
    sparse = true;
  } else {
    sparse = applyPaxSparse(d, ext.pax, at);
    if (sparse && isHeaderOnly(d.typeflag))
      throw malformed(`tar header at offset ${at}: sparse header-only type`);
  }
  const payloadSize = Number(physical);
  const layout = { index, headerOffset: bytes.offset, headerSize: bytes.size, payloadSize, sparse };
  const member = finishMember(h, d, ext.pax, { ...layout, paddingSize: paddingOf(payloadSize) });
  return { kind: 'member', member, pieces: bytes.pieces };
}
