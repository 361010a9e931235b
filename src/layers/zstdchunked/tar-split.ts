// tar-split metadata (vbatts/tar-split's JSON packer format, docs/format.md#tar-split): one JSON line per
// segment of raw bytes (headers, padding, trailer) and per member (name, size, CRC-64 of the payload), so
// a reader can rebuild the layer's tar byte for byte from the files it extracted. Lines go to the sink in
// order as soon as they are complete (a file's line waits for its CRC, which the worker pool computes);
// the writer compresses them as they come, so nothing grows with the layer.

import { Buffer } from 'node:buffer';
import { InOrder } from '../../util/in-order.js';

/** Largest trailing segment: bytes after the end-of-archive blocks are stored in pieces of this size. */
const TAR_SPLIT_MAX_SEGMENT = 1 << 20;

export class TarSplitBuilder {
  /** Lines by position; a file line waits for its CRC, and the lines after it wait with it. */
  private readonly lines = new InOrder<string>((line) => this.sink(line));
  /** Bytes waiting to become the next segment (a member's padding goes with the next header). */
  private pending: Uint8Array[] = [];

  /** Raw bytes that belong to the next segment. */
  addRaw(bytes: Uint8Array): void {
    if (bytes.length > 0) this.pending.push(bytes);
  }

  /** Flushes the pending raw bytes as one segment line (never an empty one). */
  flushSegment(): void {
    const payload = Buffer.concat(this.pending);
    this.pending = [];
    if (payload.length === 0) return;
    const position = this.lines.length;
    // Base64 text needs no JSON escaping.
    this.lines.push(`{"type":2,"payload":"${payload.toString('base64')}","position":${position}}\n`);
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

  constructor(private readonly sink: (line: string) => void) {}

  /** Lines not yet handed to the sink (file lines waiting for a CRC, and the lines after them). */
  get waiting(): number {
    return this.lines.waiting;
  }
}
