// Per-file payload checks of a zstd:chunked layer, fed from the one sequential pass over the blob
// (docs/format.md#toc-payload-fields): the whole file's sha256 against `digest`, each chunk's against
// `chunkDigest`, and each chunk's `offset` against the frame that really holds its first byte (a reader
// fetching `[offset, endOffset)` must get exactly these bytes). `endOffset` must be where the next frame
// starts after the file's last chunk.

import { createHash, type Hash } from 'node:crypto';
import { EMPTY_SHA256 } from '../layers/zstdchunked/toc.js';
import type { Findings } from './findings.js';
import type { TocEntries, TocEntry } from './toc-entries.js';

/** Frames seen by the decoder: the compressed offsets of the frames that start at the latest position. */
export class FrameTracker {
  decoded = -1;
  offsets: number[] = [];
  /** A check waiting for the next frame start (a file's `endOffset`). */
  private waiting: ((offset: number) => void) | undefined;

  frame(offset: number, decoded: number): void {
    if (decoded !== this.decoded) this.offsets = [];
    this.decoded = decoded;
    this.offsets.push(offset);
    const w = this.waiting;
    this.waiting = undefined;
    w?.(offset);
  }

  /** Calls `check` with the offset of the next frame to start (or the blob's end, via `end`). */
  nextFrame(check: (offset: number) => void): void {
    this.waiting = check;
  }

  end(blobSize: number): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.(blobSize);
  }
}

interface Chunk {
  size: number;
  offset: number | undefined;
  innerOffset: number;
  digest: string | undefined;
}

/**
 * The payload of one regular file, checked as its bytes stream past. Its chunk entries are taken from the
 * TOC as the bytes reach them (one entry ahead, whose chunkOffset ends the chunk before), so a file of a
 * million chunks holds one.
 */
export class FileCheck {
  private readonly whole: Hash = createHash('sha256');
  private chunk: Chunk | undefined;
  private chunkHash: Hash | undefined;
  /** Bytes of `chunk` still to come. */
  private chunkLeft = 0;
  /** The entry of the next chunk, not yet started. */
  private nextEntry: TocEntry | undefined;
  private index = -1;
  /** Where in the file the next chunk must start: the end of the one before. */
  private layoutAt = 0;
  /** containers/storage puts endOffset on the `reg` entry, tsconvert on the file's last entry. */
  private endOffset: number | undefined;

  constructor(
    private readonly entry: TocEntry,
    private readonly entries: TocEntries,
    private readonly size: number,
    private readonly frames: FrameTracker,
    private readonly findings: Findings,
  ) {
    this.nextEntry = entry;
  }

  private where(i: number): string {
    return `"${this.entry.name}" chunk ${i}`;
  }

  /** The file's next chunk: each must start where the last ended; undefined after the last. */
  private async load(): Promise<Chunk | undefined> {
    const e = this.nextEntry;
    if (e === undefined) return undefined;
    const after = await this.entries.peek();
    const next = after?.type === 'chunk' ? await this.entries.next() : undefined;
    this.nextEntry = next;
    const i = ++this.index;
    const start = i === 0 ? 0 : (e.chunkOffset ?? 0);
    // stargz-snapshotter leaves the last chunk's size out ("to the end of the file").
    const end = next === undefined ? this.size : (next.chunkOffset ?? 0);
    const size = e.chunkSize !== undefined && e.chunkSize > 0 ? e.chunkSize : end - start;
    if (start !== this.layoutAt)
      this.findings.fail(
        'chunk-offset',
        `${this.where(i)} starts at byte ${start} of the file, not ${this.layoutAt}`,
      );
    if (e.offset === undefined) this.findings.fail('chunk-offset', `${this.where(i)} has no offset`);
    this.layoutAt = start + size;
    if (e.endOffset !== undefined) this.endOffset = e.endOffset;
    return {
      size: Math.max(0, size),
      offset: e.offset,
      innerOffset: e.innerOffset ?? 0,
      digest: e.chunkDigest,
    };
  }

  /** Payload bytes at decoded offset `at`. */
  async update(data: Uint8Array, at: number): Promise<void> {
    this.whole.update(data);
    let pos = 0;
    while (pos < data.length) {
      if (this.chunk === undefined) {
        const c = await this.load();
        // Bytes past the last chunk: the layout check at the end says so.
        if (c === undefined) return;
        this.startChunk(c, at + pos);
      }
      const n = Math.min(data.length - pos, this.chunkLeft);
      this.chunkHash?.update(data.subarray(pos, pos + n));
      pos += n;
      this.chunkLeft -= n;
      if (this.chunkLeft === 0) this.endChunk();
    }
  }

  private startChunk(c: Chunk, decodedAt: number): void {
    this.chunk = c;
    this.chunkLeft = c.size;
    this.chunkHash = c.digest === undefined ? undefined : createHash('sha256');
    if (c.offset === undefined) return;
    const frameStart = decodedAt - c.innerOffset;
    if (this.frames.decoded !== frameStart || !this.frames.offsets.includes(c.offset)) {
      const actual = this.frames.decoded === frameStart ? this.frames.offsets.join(' or ') : 'none';
      this.findings.fail(
        'chunk-offset',
        `${this.where(this.index)}: TOC offset ${c.offset}, but the frame starting at this chunk is at ${actual}`,
      );
    }
  }

  private endChunk(): void {
    const c = this.chunk;
    if (this.chunkHash !== undefined && c?.digest !== undefined) {
      const got = `sha256:${this.chunkHash.digest('hex')}`;
      if (got !== c.digest)
        this.findings.fail('chunk-digest', `${this.where(this.index)}: content ${got}, TOC ${c.digest}`);
    }
    this.chunkHash = undefined;
    this.chunk = undefined;
  }

  /** After the last payload byte: the chunk entries not reached yet, the file digest, endOffset. */
  async finish(): Promise<void> {
    while (this.nextEntry !== undefined) await this.load();
    if (this.layoutAt !== this.size)
      this.findings.fail(
        'chunk-offset',
        `chunks of "${this.entry.name}" cover ${this.layoutAt} of ${this.size} bytes`,
      );
    const entry = this.entry;
    const got = `sha256:${this.whole.digest('hex')}`;
    const want = entry.digest ?? (this.size === 0 ? EMPTY_SHA256 : undefined);
    if (want === undefined) this.findings.fail('file-digest', `"${entry.name}" has no digest in the TOC`);
    else if (got !== want) this.findings.fail('file-digest', `"${entry.name}": content ${got}, TOC ${want}`);
    const endOffset = this.endOffset;
    if (endOffset !== undefined) {
      this.frames.nextFrame((next) => {
        if (next !== endOffset)
          this.findings.fail(
            'chunk-offset',
            `"${entry.name}": endOffset ${endOffset}, next frame at ${next}`,
          );
      });
    }
  }
}
