// The TOC of a zstd:chunked layer read as a stream (docs/format.md#toc): the compressed range fetched
// from the store piece by piece, decoded, and parsed by a streaming JSON parser that hands out one entry
// of the `entries` array at a time and keeps none it has handed out. So a TOC near containers/storage's
// 150 MiB limit costs what one decoded piece and the entries parsed from it cost, never the whole
// document. The top-level `version` and `tarSplitDigest` are kept wherever they stand in the object.

import { JSONParser, TokenType } from '@streamparser/json';
import { malformed, TsconvertError } from '../errors.js';
import type { Descriptor } from '../oci/types.js';
import type { ContentStore } from '../store/content-store.js';
import { DigestCounter, tapInto } from '../stream/digest-tap.js';
import { decodeZstd } from '../zstd/frame-decoder.js';
import { fromStore, StoreError } from './stages.js';

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

/** Where a TOC is and what its bytes hash to, filled in as it is read. */
export interface TocRange {
  store: ContentStore;
  desc: Descriptor;
  offset: number;
  length: number;
  signal: AbortSignal;
}

/**
 * The decoded JSON of the TOC at `range`: `compressed` and `json` see every byte on the way. MALFORMED
 * when the blob ends first, the payload is not zstd or decodes to more than MAX_TOC_SIZE; a store
 * failure passes through unchanged.
 */
async function* tocJson(
  range: TocRange,
  compressed: DigestCounter,
  json: DigestCounter,
): AsyncGenerator<Uint8Array> {
  const { store, desc, offset, length, signal } = range;
  const raw = tapInto(compressed)(fromStore(store.read(desc.digest, { offset, size: length, signal })));
  try {
    for await (const piece of decodeZstd(raw)) {
      json.update(piece);
      if (json.size > MAX_TOC_SIZE) throw malformed(`TOC decompresses to more than ${MAX_TOC_SIZE} bytes`);
      yield piece;
    }
  } catch (err) {
    if (err instanceof StoreError || err instanceof TsconvertError) throw err;
    throw malformed(`TOC is not valid zstd: ${(err as Error).message}`, { cause: err });
  }
  if (compressed.size !== length)
    throw malformed(
      `range ${offset}+${length} of the blob has only ${compressed.size} bytes (blob too short)`,
    );
}

/**
 * Follows the tokens of the root object to tell whether `entries` is one array (the parser's path
 * matching alone cannot tell an empty array from a missing key or an object).
 */
class RootShape {
  private depth = 0;
  private keyNext = false;
  private key: string | undefined;
  entriesArrays = 0;
  entriesOther = false;
  rootIsObject = false;

  token(token: TokenType, value: unknown): void {
    if (token === TokenType.COLON) return;
    if (this.depth === 1 && this.key !== undefined) {
      if (this.key === 'entries') {
        if (token === TokenType.LEFT_BRACKET) this.entriesArrays++;
        else this.entriesOther = true;
      }
      this.key = undefined;
    } else if (this.depth === 1 && this.keyNext && token === TokenType.STRING) {
      this.key = String(value);
      this.keyNext = false;
      return;
    }
    if (token === TokenType.LEFT_BRACE || token === TokenType.LEFT_BRACKET) {
      if (this.depth === 0) this.rootIsObject = token === TokenType.LEFT_BRACE;
      this.depth++;
      this.keyNext = this.depth === 1;
    } else if (token === TokenType.RIGHT_BRACE || token === TokenType.RIGHT_BRACKET) this.depth--;
    else if (token === TokenType.COMMA) this.keyNext = this.depth === 1;
  }
}

/** The TOC's entries in order, pulled one at a time; `close()` when done (or abandoned). */
export class TocEntries {
  /** sha256 and size of the compressed payload (manifest-checksum) and of the JSON (toc.digest). */
  readonly compressed = new DigestCounter();
  readonly json = new DigestCounter();
  version: unknown = undefined;
  tarSplitDigest: unknown = undefined;
  private readonly source: AsyncIterator<Uint8Array>;
  private readonly parser = new JSONParser({
    paths: ['$.version', '$.tarSplitDigest', '$.entries.*'],
    keepStack: false,
  });
  private readonly shape = new RootShape();
  private queue: TocEntry[] = [];
  private head = 0;
  private ended = false;
  private failure: string | undefined;

  constructor(range: TocRange) {
    this.source = tocJson(range, this.compressed, this.json);
    this.parser.onToken = ({ token, value }) => this.shape.token(token, value);
    this.parser.onValue = ({ value, key, stack }) => {
      if (stack.length === 1) {
        if (key === 'version') this.version = value;
        else if (key === 'tarSplitDigest') this.tarSplitDigest = value;
        return;
      }
      const entry = value as Partial<TocEntry> | null;
      if (typeof key !== 'number') this.failure ??= 'TOC has no entries array';
      else if (typeof entry !== 'object' || entry === null || typeof entry.name !== 'string')
        this.failure ??= 'TOC entry without a name';
      else this.queue.push(entry as TocEntry);
    };
    this.parser.onError = (err) => {
      this.failure ??= `TOC is not valid JSON: ${err.message}`;
    };
  }

  /** The next entry, or undefined after the last. */
  async next(): Promise<TocEntry | undefined> {
    const e = await this.peek();
    if (e !== undefined) this.head++;
    return e;
  }

  /** The next entry without taking it. */
  async peek(): Promise<TocEntry | undefined> {
    while (this.head === this.queue.length && !this.ended) await this.fill();
    return this.queue[this.head];
  }

  private async fill(): Promise<void> {
    this.queue = [];
    this.head = 0;
    const r = await this.source.next();
    if (r.done === true) {
      this.ended = true;
      if (!this.parser.isEnded) this.parser.end();
    } else this.parser.write(r.value);
    if (this.failure !== undefined) throw malformed(this.failure);
    if (this.shape.entriesArrays > 1) throw malformed('TOC has more than one entries array');
    if (this.ended && (!this.shape.rootIsObject || this.shape.entriesArrays === 0 || this.shape.entriesOther))
      throw malformed('TOC has no entries array');
  }

  async close(): Promise<void> {
    this.queue = [];
    await this.source.return?.(undefined);
  }
}
