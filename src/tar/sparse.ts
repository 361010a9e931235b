// GNU sparse members, delimited and checked the way Go's archive/tar (vbatts/tar-split's fork) does so the
// scanner finds the next header in the same place and rejects the same maps. Old GNU sparse (`S`) keeps
// its map in the header and in extension blocks that follow it (they count as header bytes); PAX sparse
// (GNU.sparse.* records, formats 0.0/0.1/1.0) renames the member and gives its real size. Sparse members
// cannot go into a zstd:chunked TOC (docs/format.md#fallback-to-plain-zstd), so the 1.0 map inside the
// payload is not parsed here.

import { invalidTar } from '../errors.js';
import type { RawHeader } from './header.js';
import { BLOCK_SIZE } from './limits.js';
import type { MemberDraft } from './member.js';
import { parseDecimalInt64, parseNumeric } from './numbers.js';
import { recordText, SPARSE_MAP, type PaxRecords } from './pax.js';

const INT64_MAX = (1n << 63n) - 1n;

/** Checks entries in order like Go's validateSparseEntries: non-negative, in bounds, sorted, disjoint. */
class SparseValidator {
  private previousEnd = 0n;
  private readonly size: bigint;
  private readonly offset: number;
  constructor(size: bigint, offset: number) {
    this.size = size;
    this.offset = offset;
    if (size < 0n) this.fail();
  }
  add(start: bigint, length: bigint): void {
    if (start < 0n || length < 0n || start > INT64_MAX - length) this.fail();
    if (start + length > this.size || this.previousEnd > start) this.fail();
    this.previousEnd = start + length;
  }
  fail(): never {
    throw invalidTar(`tar header at offset ${this.offset}: invalid GNU sparse map`);
  }
}

/** Reads a full 512-byte block and returns it with its offset, or throws when the input ends. */
export type BlockSource = () => Promise<{ block: Uint8Array; offset: number }>;

/**
 * Old GNU sparse: sets the draft's size to the real size and reads the extension blocks through `next`.
 * Returns the extension blocks so the caller can keep them as header bytes.
 */
export async function readOldGnuSparse(
  h: RawHeader,
  block: Uint8Array,
  offset: number,
  d: MemberDraft,
  next: BlockSource,
): Promise<Uint8Array[]> {
  if (h.format !== 'gnu') throw invalidTar(`tar header at offset ${offset}: sparse type in a non-GNU header`);
  const realSize = parseNumeric(block.subarray(483, 495));
  if (realSize === undefined)
    throw invalidTar(`tar header at offset ${offset}: invalid GNU sparse real size`);
  d.size = realSize;
  const check = new SparseValidator(realSize, offset);
  const extra: Uint8Array[] = [];
  let current = block;
  let at = offset;
  let [base, count, flag] = [386, 4, 482];
  for (;;) {
    for (let i = 0; i < count; i++) {
      const entry = current.subarray(base + i * 24, base + i * 24 + 24);
      if (entry[0] === 0) break;
      const start = parseNumeric(entry.subarray(0, 12));
      const length = parseNumeric(entry.subarray(12, 24));
      if (start === undefined || length === undefined)
        throw invalidTar(`sparse map at offset ${at}: bad number`);
      check.add(start, length);
    }
    if ((current[flag] ?? 0) === 0) return extra;
    ({ block: current, offset: at } = await next());
    extra.push(current);
    [base, count, flag] = [0, 21, BLOCK_SIZE - 8];
  }
}

/** PAX GNU sparse records (Go's readGNUSparsePAXHeaders); returns whether the member is sparse. */
export function applyPaxSparse(d: MemberDraft, pax: PaxRecords | undefined, offset: number): boolean {
  if (pax === undefined) return false;
  const major = recordText(pax, 'GNU.sparse.major');
  const minor = recordText(pax, 'GNU.sparse.minor');
  let v1 = false;
  if (major === '0' && (minor === '0' || minor === '1')) v1 = false;
  else if (major === '1' && minor === '0') v1 = true;
  else if (major !== '' || minor !== '') return false;
  else if (recordText(pax, SPARSE_MAP) === '') return false;
  const bad = (): never => {
    throw invalidTar(`tar header at offset ${offset}: invalid GNU sparse PAX records`);
  };
  const name = pax.get('GNU.sparse.name');
  if (name !== undefined && name.length > 0) d.name = name;
  const size = pax.get('GNU.sparse.size') ?? new Uint8Array(0);
  const realSize = size.length > 0 ? size : (pax.get('GNU.sparse.realsize') ?? size);
  if (realSize.length > 0) d.size = parseDecimalInt64(realSize) ?? bad();
  if (!v1) checkMap01(pax, d.size, offset, bad);
  return true;
}

function checkMap01(pax: PaxRecords, size: bigint, offset: number, bad: () => never): void {
  const numEntries = parseDecimalInt64(pax.get('GNU.sparse.numblocks') ?? new Uint8Array(0)) ?? bad();
  if (numEntries < 0n || 2n * numEntries > INT64_MAX) bad();
  const text = recordText(pax, SPARSE_MAP);
  const parts = text === '' ? [] : text.split(',');
  if (BigInt(parts.length) !== 2n * numEntries) bad();
  const check = new SparseValidator(size, offset);
  const enc = new TextEncoder();
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const start = parseDecimalInt64(enc.encode(parts[i])) ?? bad();
    const length = parseDecimalInt64(enc.encode(parts[i + 1])) ?? bad();
    check.add(start, length);
  }
}
