// The zstd:chunked TOC as a reader sees it (docs/format.md#toc): read by range from the store at the
// offset an annotation or the footer gives, its compressed and uncompressed digests computed, the JSON
// parsed, and the entries grouped per file (a `reg` entry and the `chunk` entries right after it, which is
// how containers/storage groups them).

import { Buffer } from 'node:buffer';
import { malformed, TsconvertError } from '../errors.js';
import { sha256Digest } from '../oci/digest.js';
import type { ContentStore } from '../store/content-store.js';
import type { Descriptor } from '../oci/types.js';
import { decode } from '../stream/decompress.js';

/** containers/storage refuses a TOC larger than this, compressed or not (its `maxTocSize`). */
export const MAX_TOC_SIZE = 150 * 1024 * 1024;

export interface TocEntry {
  type: string;
  name: string;
  linkName?: string;
  mode?: number;
  size?: number;
  uid?: number;
  gid?: number;
  userName?: string;
  groupName?: string;
  modtime?: string;
  accesstime?: string;
  changetime?: string;
  devMajor?: number;
  devMinor?: number;
  xattrs?: Record<string, string>;
  digest?: string;
  offset?: number;
  endOffset?: number;
  innerOffset?: number;
  chunkSize?: number;
  chunkOffset?: number;
  chunkDigest?: string;
  chunkType?: string;
}

/** One member's entries: its own (first) and the `chunk` entries that follow it. */
export interface TocMember {
  index: number;
  entry: TocEntry;
  chunks: TocEntry[];
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
  members: TocMember[];
  tarSplitDigest: string | undefined;
  /** Total entries, chunk entries included. */
  entryCount: number;
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

/** Decompresses a whole zstd payload, refusing more than `limit` bytes of output. */
export async function unzstd(payload: Uint8Array, limit: number, what: string): Promise<Buffer> {
  async function* once(): AsyncGenerator<Uint8Array> {
    yield payload;
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of decode(once(), 'zstd')) {
      total += chunk.byteLength;
      if (total > limit) throw malformed(`${what} decompresses to more than ${limit} bytes`);
      parts.push(chunk);
    }
  } catch (err) {
    if (err instanceof TsconvertError) throw err;
    throw malformed(`${what} is not valid zstd: ${(err as Error).message}`, { cause: err });
  }
  return Buffer.concat(parts);
}

function groupMembers(entries: TocEntry[]): TocMember[] {
  const members: TocMember[] = [];
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null || typeof entry.name !== 'string')
      throw malformed('TOC entry without a name');
    if (entry.type === 'chunk') {
      const last = members[members.length - 1];
      if (last === undefined || last.entry.type !== 'reg')
        throw malformed(`TOC chunk entry "${entry.name}" does not follow a regular file`);
      last.chunks.push(entry);
    } else {
      members.push({ index: members.length, entry, chunks: [entry] });
    }
  }
  return members;
}

/** Reads and parses the TOC whose compressed payload is `[offset, offset + length)` of the blob. */
export async function readToc(
  store: ContentStore,
  desc: Descriptor,
  offset: number,
  length: number,
  signal: AbortSignal,
): Promise<Toc> {
  if (length > MAX_TOC_SIZE)
    throw malformed(`TOC is ${length} bytes compressed, more than containers/storage's ${MAX_TOC_SIZE}`);
  const payload = await readBlobRange(store, desc, offset, length, signal);
  const json = await unzstd(payload, MAX_TOC_SIZE, 'TOC');
  let doc: { version?: unknown; entries?: unknown; tarSplitDigest?: unknown };
  try {
    doc = JSON.parse(json.toString('utf8')) as typeof doc;
  } catch (err) {
    throw malformed(`TOC is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(doc.entries)) throw malformed('TOC has no entries array');
  const entries = doc.entries as TocEntry[];
  return {
    offset,
    length,
    checksum: sha256Digest(payload),
    digest: sha256Digest(json),
    uncompressedLength: json.length,
    version: doc.version,
    members: groupMembers(entries),
    tarSplitDigest: typeof doc.tarSplitDigest === 'string' ? doc.tarSplitDigest : undefined,
    entryCount: entries.length,
  };
}
