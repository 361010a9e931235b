// The metadata frames of a zstd:chunked blob (docs FORMAT.md §2): the TOC and the tar-split, each
// compressed as it is produced by the compression pool's workers — text is gathered into batches of a fixed size, so
// the bytes do not depend on timing and the thread gets one message per batch rather than one per entry —
// and the legacy 40-byte footer stargz-snapshotter reads.

import { Buffer } from 'node:buffer';
import type { TextFrame, TextFrameStream, TextFrames } from '../../zstd/text-frames.js';

export interface MetadataLayout {
  /** Payload offsets and lengths (offset = skippable-frame start + 8; lengths exclude the 8-byte header). */
  tocOffset: number;
  tocLength: number;
  tocUncompressedLength: number;
  /** sha256 of the uncompressed TOC JSON (stargz's toc.digest). */
  tocDigest: string;
  /** sha256 of the compressed TOC payload (containers/storage's manifest-checksum). */
  tocChecksum: string;
  tarSplitOffset: number;
  tarSplitLength: number;
  tarSplitUncompressedLength: number;
}

const FOOTER_MAGIC = Buffer.from('GnUlInUx', 'latin1');

/** Text gathered before it is sent to be compressed: one message per batch, not per entry. */
const TEXT_BATCH = 64 * 1024;

/** One metadata frame fed with text in batches. */
class BatchedText {
  private batch: string[] = [];
  private batchLength = 0;

  constructor(private readonly frame: TextFrameStream) {}

  add(text: string): void {
    this.batch.push(text);
    this.batchLength += text.length;
    if (this.batchLength >= TEXT_BATCH) this.flush();
  }

  end(): Promise<TextFrame> {
    this.flush();
    return this.frame.end();
  }

  abandon(): void {
    this.frame.abandon();
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    this.frame.write(this.batch.join(''));
    this.batch = [];
    this.batchLength = 0;
  }
}

export class MetadataBuilder {
  private readonly toc: BatchedText;
  private readonly tarSplit: BatchedText;
  private entries = 0;
  private finished = false;

  constructor(frames: TextFrames, level: number) {
    this.toc = new BatchedText(frames.open(level, true));
    this.tarSplit = new BatchedText(frames.open(level, false));
    this.toc.add('{"version":1,"entries":[');
  }

  addEntry(json: string): void {
    this.toc.add(this.entries === 0 ? json : `,${json}`);
    this.entries += 1;
  }

  addTarSplitLine(line: string): void {
    this.tarSplit.add(line);
  }

  /** Ends both frames; returns the bytes that follow the data frames, which start at `offset`. */
  async finish(offset: number): Promise<{ bytes: Uint8Array[]; layout: MetadataLayout }> {
    this.finished = true;
    const tarSplit = await this.tarSplit.end();
    this.toc.add(`],"tarSplitDigest":"sha256:${tarSplit.payloadSha256}"}`);
    const toc = await this.toc.end();
    const layout: MetadataLayout = {
      tocOffset: offset + SKIPPABLE_HEADER,
      tocLength: toc.length,
      tocUncompressedLength: toc.size,
      tocDigest: `sha256:${toc.textSha256 ?? ''}`,
      tocChecksum: `sha256:${toc.payloadSha256}`,
      tarSplitOffset: offset + SKIPPABLE_HEADER + toc.length + SKIPPABLE_HEADER,
      tarSplitLength: tarSplit.length,
      tarSplitUncompressedLength: tarSplit.size,
    };
    const tail = footer(layout);
    // The compressed pieces are handed on as they are, after their frame header: no copy of the metadata.
    const bytes = [
      skippableHeader(toc.length),
      ...toc.pieces,
      skippableHeader(tarSplit.length),
      ...tarSplit.pieces,
      skippableHeader(tail.length),
      tail,
    ];
    return { bytes, layout };
  }

  /** Drops both frames when the layer was abandoned before finish(). */
  abandon(): void {
    if (this.finished) return;
    this.finished = true;
    this.toc.abandon();
    this.tarSplit.abandon();
  }
}

const SKIPPABLE_HEADER = 8;

/** The header of a zstd skippable frame (magic 0x184D2A50, little-endian length) of `length` bytes. */
function skippableHeader(length: number): Uint8Array {
  const header = new Uint8Array(SKIPPABLE_HEADER);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0x184d2a50, true);
  view.setUint32(4, length, true);
  return header;
}

/** The legacy footer: TOC offset, compressed and uncompressed length, type 1, magic; little-endian. */
function footer(l: MetadataLayout): Uint8Array {
  const out = Buffer.alloc(40);
  out.writeBigUInt64LE(BigInt(l.tocOffset), 0);
  out.writeBigUInt64LE(BigInt(l.tocLength), 8);
  out.writeBigUInt64LE(BigInt(l.tocUncompressedLength), 16);
  out.writeBigUInt64LE(1n, 24);
  FOOTER_MAGIC.copy(out, 32);
  return out;
}
