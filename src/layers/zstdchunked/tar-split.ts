// tar-split metadata (vbatts/tar-split's JSON packer format, docs/format.md#tar-split): one JSON line per
// segment of raw bytes (headers, padding, trailer) and per member (name, size, CRC-64 of the payload), so
// a reader can rebuild the layer's tar byte for byte from the files it extracted. Lines go to the sink in
// order as soon as they are complete (a file's line waits for its CRC, which the worker pool computes);
// the writer compresses them as they come, so nothing grows with the layer. A segment's raw bytes are
// copied as they are added (the tar scanner's views are borrowed: valid only until it reads on) and go to
// the sink from there, which writes their base64 in place; a line that must wait keeps a copy of its own.

import { Buffer } from 'node:buffer';
import { ByteStage } from '../../util/byte-stage.js';
import { InOrder } from '../../util/in-order.js';

/** Largest trailing segment: bytes after the end-of-archive blocks are stored in pieces of this size. */
const TAR_SPLIT_MAX_SEGMENT = 1 << 20;

/** Where lines go, in order. */
export interface LineSink {
  /** A whole line. */
  text(line: string): void;
  /** The line `head` + the base64 of `bytes` + `tail`. */
  base64(head: string, bytes: Uint8Array, tail: string): void;
}

/** A segment line: its raw bytes and the text after their base64. */
interface Segment {
  readonly bytes: Uint8Array;
  readonly tail: string;
}

// Base64 text needs no JSON escaping.
const SEGMENT_HEAD = '{"type":2,"payload":"';

export class TarSplitBuilder {
  /** Lines by position; a file line waits for its CRC, and the lines after it wait with it. */
  private readonly lines = new InOrder<string | Segment>((line) => {
    if (typeof line === 'string') this.sink.text(line);
    else this.sink.base64(SEGMENT_HEAD, line.bytes, line.tail);
  });
  /** Bytes waiting to become the next segment (a member's padding goes with the next header). */
  private readonly pending = new ByteStage();

  /** Raw bytes that belong to the next segment (copied: the caller's may be borrowed). */
  addRaw(bytes: Uint8Array): void {
    this.pending.append(bytes);
  }

  /** Flushes the pending raw bytes as one segment line (never an empty one). */
  flushSegment(): void {
    if (this.pending.length === 0) return;
    const bytes = this.pending.view();
    const position = this.lines.length;
    const tail = `","position":${position}}\n`;
    // With no line waiting the sink takes the bytes at once, before the stage is reused; a waiting line
    // keeps a copy.
    this.lines.push({ bytes: this.lines.waiting === 0 ? bytes : new Uint8Array(bytes), tail });
    this.pending.clear();
  }

  /** The file line of a member: its Go header size and the CRC-64 of its payload (null when size is 0). */
  addFile(name: string, size: bigint, crc: Uint8Array | undefined): void {
    this.addFileLater(name, size)(crc);
  }

  /** Reserves the file line's position now; the returned function completes it once the CRC is known. */
  addFileLater(name: string, size: bigint): (crc: Uint8Array | undefined) => void {
    const position = this.lines.reserve();
    return (crc) => {
      let line = `{"type":1,"name":${JSON.stringify(name)}`;
      if (size !== 0n) line += `,"size":${size.toString()}`;
      line += `,"payload":${crc === undefined ? 'null' : `"${Buffer.from(crc).toString('base64')}"`}`;
      this.lines.set(position, `${line},"position":${position}}\n`);
    };
  }

  /** Trailer bytes after the first trailer segment, in segments of at most TAR_SPLIT_MAX_SEGMENT. */
  addTrailingSegments(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i += TAR_SPLIT_MAX_SEGMENT) {
      this.addRaw(bytes.subarray(i, i + TAR_SPLIT_MAX_SEGMENT));
      this.flushSegment();
    }
  }

  constructor(private readonly sink: LineSink) {}

  /** Lines not yet handed to the sink (file lines waiting for a CRC, and the lines after them). */
  get waiting(): number {
    return this.lines.waiting;
  }
}
