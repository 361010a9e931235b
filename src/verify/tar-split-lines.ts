// The tar-split of a zstd:chunked layer as containers/storage reads it (docs/format.md#tar-split): the
// frame read by range from the store, its compressed bytes hashed (the TOC's `tarSplitDigest`), decoded,
// and handed out one JSON line at a time, so a layer's tar-split is never held whole.

import { Buffer } from 'node:buffer';
import { malformed } from '../errors.js';
import type { Descriptor } from '../oci/types.js';
import type { ContentStore } from '../store/content-store.js';
import { DigestCounter, tapInto } from '../stream/digest-tap.js';
import { decodeZstd } from '../zstd/frame-decoder.js';
import { fromStore } from './stages.js';

/** vbatts/tar-split's entry types. */
export const SEGMENT = 2;
export const FILE = 1;

export interface TarSplitLine {
  type: number;
  name: string;
  size: number;
  /** Segment bytes, or a file's 8-byte CRC-64; null for a file of size 0. */
  payload: Buffer | null;
  position: number;
}

/** A line longer than this is hostile (segments are at most 1 MiB plus a member's headers). */
const MAX_LINE = 64 * 1024 * 1024;

function parseLine(text: string, lineNo: number): TarSplitLine {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw malformed(`tar-split line ${lineNo} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const payload = typeof v.payload === 'string' ? Buffer.from(v.payload, 'base64') : null;
  let name = typeof v.name === 'string' ? v.name : '';
  if (typeof v.name_raw === 'string') name = Buffer.from(v.name_raw, 'base64').toString('latin1');
  return {
    type: Number(v.type),
    name,
    size: typeof v.size === 'number' ? v.size : 0,
    payload,
    position: Number(v.position),
  };
}

/** Pulls tar-split lines in order; `digest()` is the compressed frame's sha256 once all were read. */
export class TarSplitReader {
  private readonly counter = new DigestCounter();
  private readonly decoded: AsyncIterator<Uint8Array>;
  private buffered: Buffer = Buffer.alloc(0);
  private ended = false;
  private lineNo = 0;

  constructor(store: ContentStore, desc: Descriptor, offset: number, length: number, signal: AbortSignal) {
    const raw = fromStore(store.read(desc.digest, { offset, size: length, signal }));
    this.decoded = decodeZstd(tapInto(this.counter)(raw))[Symbol.asyncIterator]();
  }

  /** The next line, or undefined at the end. */
  async next(): Promise<TarSplitLine | undefined> {
    for (;;) {
      const nl = this.buffered.indexOf(0x0a);
      if (nl >= 0) {
        const text = this.buffered.subarray(0, nl).toString('utf8');
        this.buffered = this.buffered.subarray(nl + 1);
        if (text.trim() === '') continue;
        return parseLine(text, this.lineNo++);
      }
      if (this.ended) {
        if (this.buffered.length === 0) return undefined;
        const text = this.buffered.toString('utf8');
        this.buffered = Buffer.alloc(0);
        return parseLine(text, this.lineNo++);
      }
      const r = await this.decoded.next();
      if (r.done === true) this.ended = true;
      else {
        this.buffered = Buffer.concat([this.buffered, r.value]);
        if (this.buffered.length > MAX_LINE) throw malformed(`tar-split line ${this.lineNo} is too long`);
      }
    }
  }

  /** Reads what is left (so the digest covers the whole frame) and returns the digest and size. */
  async finish(): Promise<{ digest: string; size: number }> {
    while (!this.ended) {
      const r = await this.decoded.next();
      if (r.done === true) this.ended = true;
    }
    return { digest: this.counter.digest(), size: this.counter.size };
  }

  async close(): Promise<void> {
    if (!this.ended) await this.decoded.return?.();
  }
}
