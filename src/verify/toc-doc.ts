// The zstd:chunked TOC as a reader sees it (docs/format.md#toc), read once through from the store at the
// offset an annotation or the footer gives: its compressed and uncompressed digests, its version and
// tarSplitDigest, how many members it lists (a `reg` entry and the `chunk` entries right after it are one
// member, which is how containers/storage groups them), and what stargz-snapshotter's `Verifiers()` would
// say. No entry is kept: the layer pass reads the entries again, in step with the tar (`entries()`).

import { Buffer } from 'node:buffer';
import { malformed } from '../errors.js';
import type { ContentStore } from '../store/content-store.js';
import type { Descriptor } from '../oci/types.js';
import { MAX_TOC_SIZE, TocEntries, type TocEntry, type TocRange } from './toc-entries.js';

export { MAX_TOC_SIZE, type TocEntry } from './toc-entries.js';

/** Failures of stargz-snapshotter's `Verifiers()`, gathered while the entries stream past. */
export interface StargzFacts {
  /** "offset N found twice" messages (a few; the check's later failures are not shown anyway). */
  duplicateOffsets: string[];
  /** Entries with data and neither chunkDigest nor digest: they always fail. */
  noDigest: string[];
  /** Entries with data, a digest but no chunkDigest: they fail when the TOC has `chunk` entries. */
  digestOnly: string[];
  /** A file with data has more than one chunk. */
  chunkEntries: boolean;
}

export interface Toc {
  /** Payload offset and compressed length it was read from. */
  offset: number;
  length: number;
  /** sha256 of the compressed payload (manifest-checksum) and of the JSON (toc.digest). */
  checksum: string;
  digest: string;
  uncompressedLength: number;
  version: unknown;
  tarSplitDigest: string | undefined;
  /** Members (non-chunk entries), and all entries, chunk entries included. */
  memberCount: number;
  entryCount: number;
  stargz: StargzFacts;
  /** The entries again, from the first, read from the store as they are asked for. */
  entries(): TocEntries;
}

/** Messages kept per list: Findings shows three per check and says that more were left out. */
const KEEP = 4;

function keep(list: string[], message: string): void {
  if (list.length < KEEP) list.push(message);
}

/** Bytes `[offset, offset + length)` of a blob; MALFORMED when the blob ends first. */
export async function readBlobRange(
  store: ContentStore,
  desc: Descriptor,
  offset: number,
  length: number,
  signal: AbortSignal,
): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of store.read(desc.digest, { offset, size: length, signal })) {
    parts.push(chunk);
    total += chunk.byteLength;
  }
  if (total !== length)
    throw malformed(`range ${offset}+${length} of the blob has only ${total} bytes (blob too short)`);
  return Buffer.concat(parts);
}

/**
 * What `Verifiers()` checks, one entry at a time: every reg/chunk offset unique, and a chunkDigest on
 * every chunk of a file with data (a digest will do when the TOC has no chunk entries). Offsets are only
 * compared with the one before: a TOC lists members in tar order (the pass checks that) and every offset
 * must be where that chunk's frame starts (the pass checks that too), so in a TOC that passes those checks
 * a repeated offset can only be the one just before.
 */
class StargzScan {
  readonly facts: StargzFacts = { duplicateOffsets: [], noDigest: [], digestOnly: [], chunkEntries: false };
  private lastOffset: number | undefined;

  entry(e: TocEntry, file: TocEntry): void {
    if (file.type !== 'reg' || (file.size ?? 0) <= 0) return;
    if (e !== file) this.facts.chunkEntries = true;
    if (e.offset !== undefined) {
      if (e.offset === this.lastOffset)
        keep(this.facts.duplicateOffsets, `offset ${e.offset} found twice (at "${file.name}")`);
      this.lastOffset = e.offset;
    }
    if (e.chunkDigest === undefined)
      keep(file.digest === undefined ? this.facts.noDigest : this.facts.digestOnly, file.name);
  }
}

/** Reads the TOC whose compressed payload is `[offset, offset + length)` of the blob, keeping no entry. */
export async function readToc(
  store: ContentStore,
  desc: Descriptor,
  offset: number,
  length: number,
  signal: AbortSignal,
): Promise<Toc> {
  if (length > MAX_TOC_SIZE)
    throw malformed(`TOC is ${length} bytes compressed, more than containers/storage's ${MAX_TOC_SIZE}`);
  const range: TocRange = { store, desc, offset, length, signal };
  const entries = new TocEntries(range);
  const stargz = new StargzScan();
  let memberCount = 0;
  let entryCount = 0;
  let file: TocEntry | undefined;
  try {
    for (let e = await entries.next(); e !== undefined; e = await entries.next()) {
      entryCount++;
      if (e.type === 'chunk') {
        if (file?.type !== 'reg')
          throw malformed(`TOC chunk entry "${e.name}" does not follow a regular file`);
      } else {
        memberCount++;
        file = e;
      }
      stargz.entry(e, file);
    }
  } finally {
    await entries.close();
  }
  return {
    offset,
    length,
    checksum: entries.compressed.digest(),
    digest: entries.json.digest(),
    uncompressedLength: entries.json.size,
    version: entries.version,
    tarSplitDigest: typeof entries.tarSplitDigest === 'string' ? entries.tarSplitDigest : undefined,
    memberCount,
    entryCount,
    stargz: stargz.facts,
    entries: () => new TocEntries(range),
  };
}
