// Per-file payload checks of a zstd:chunked layer, fed from the one sequential pass over the blob
// (docs/format.md#toc-payload-fields): the whole file's sha256 against `digest`, each chunk's against
// `chunkDigest`, and each chunk's `offset` against the frame that really holds its first byte (a reader
// fetching `[offset, endOffset)` must get exactly these bytes). `endOffset` must be where the next frame
// starts after the file's last chunk.

import { createHash, type Hash } from 'node:crypto';
import { EMPTY_SHA256 } from '../layers/zstdchunked/toc.js';
import type { Findings } from './findings.js';
import type { TocMember } from './toc-doc.js';

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
  start: number;
  size: number;
  offset: number | undefined;
  innerOffset: number;
  digest: string | undefined;
}

/** The payload of one regular file, checked as its bytes stream past. */
export class FileCheck {
  private readonly chunks: Chunk[];
  private readonly whole: Hash = createHash('sha256');
  private chunkHash: Hash | undefined;
  private index = 0;
  private received = 0;

  constructor(
    private readonly toc: TocMember,
    private readonly size: number,
    private readonly frames: FrameTracker,
    private readonly findings: Findings,
  ) {
    this.chunks = toc.chunks.map((c, i) => {
      const next = toc.chunks[i + 1];
      const start = i === 0 ? 0 : (c.chunkOffset ?? 0);
      // stargz-snapshotter leaves the last chunk's size out ("to the end of the file").
      const end = next === undefined ? size : (next.chunkOffset ?? 0);
      return {
        start,
        size: c.chunkSize !== undefined && c.chunkSize > 0 ? c.chunkSize : end - start,
        offset: c.offset,
        innerOffset: c.innerOffset ?? 0,
        digest: c.chunkDigest,
      };
    });
    this.checkLayout();
  }

  private where(i: number): string {
    return `"${this.toc.entry.name}" chunk ${i}`;
  }

  /** The chunks must tile the file: each starts where the last ended, the last ends at the size. */
  private checkLayout(): void {
    let at = 0;
    for (const [i, c] of this.chunks.entries()) {
      if (c.start !== at)
        this.findings.fail(
          'chunk-offset',
          `${this.where(i)} starts at byte ${c.start} of the file, not ${at}`,
        );
      at = c.start + c.size;
      if (c.offset === undefined) this.findings.fail('chunk-offset', `${this.where(i)} has no offset`);
    }
    if (at !== this.size)
      this.findings.fail(
        'chunk-offset',
        `chunks of "${this.toc.entry.name}" cover ${at} of ${this.size} bytes`,
      );
  }

  /** Payload bytes at decoded offset `at`. */
  update(data: Uint8Array, at: number): void {
    this.whole.update(data);
    let pos = 0;
    while (pos < data.length) {
      const c = this.chunks[this.index];
      if (c === undefined) return;
      if (this.received === c.start) this.startChunk(c, at + pos);
      const n = Math.min(data.length - pos, c.start + c.size - this.received);
      this.chunkHash?.update(data.subarray(pos, pos + n));
      pos += n;
      this.received += n;
      if (this.received === c.start + c.size) this.endChunk(c);
    }
  }

  private startChunk(c: Chunk, decodedAt: number): void {
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

  private endChunk(c: Chunk): void {
    if (this.chunkHash !== undefined && c.digest !== undefined) {
      const got = `sha256:${this.chunkHash.digest('hex')}`;
      if (got !== c.digest)
        this.findings.fail('chunk-digest', `${this.where(this.index)}: content ${got}, TOC ${c.digest}`);
    }
    this.chunkHash = undefined;
    this.index++;
  }

  /** After the last payload byte. */
  finish(): void {
    const entry = this.toc.entry;
    const got = `sha256:${this.whole.digest('hex')}`;
    const want = entry.digest ?? (this.size === 0 ? EMPTY_SHA256 : undefined);
    if (want === undefined) this.findings.fail('file-digest', `"${entry.name}" has no digest in the TOC`);
    else if (got !== want) this.findings.fail('file-digest', `"${entry.name}": content ${got}, TOC ${want}`);
    // containers/storage puts endOffset on the `reg` entry, tsconvert on the file's last entry.
    const endOffset = this.toc.chunks.findLast((c) => c.endOffset !== undefined)?.endOffset;
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
