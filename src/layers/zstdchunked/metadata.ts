// The metadata frames of a zstd:chunked blob (docs FORMAT.md §2): the TOC and the tar-split, each
// compressed as it is produced — text is gathered into batches of a fixed size, so the bytes do not depend
// on timing and the compressor is called once per batch rather than once per entry — and the legacy
// 40-byte footer stargz-snapshotter reads.

import { Buffer } from 'node:buffer';
import { createHash, type Hash } from 'node:crypto';
import { FrameCompressor, skippableFrame } from '../../zstd/frame-compressor.js';

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

function sha256(pieces: readonly Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of pieces) h.update(p);
  return `sha256:${h.digest('hex')}`;
}

/** Text gathered before it is encoded and compressed: one native call per batch, not per entry. */
const TEXT_BATCH = 64 * 1024;

/** One metadata frame fed with text; optionally hashes the uncompressed bytes on the way. */
class TextFrame {
  private readonly frame: FrameCompressor;
  readonly out: Uint8Array[] = [];
  private batch: string[] = [];
  private batchLength = 0;

  constructor(
    level: number,
    private readonly hash?: Hash,
  ) {
    this.frame = new FrameCompressor(level);
  }

  add(text: string): void {
    this.batch.push(text);
    this.batchLength += text.length;
    if (this.batchLength >= TEXT_BATCH) this.flush();
  }

  /** Ends the frame; returns its uncompressed size. */
  end(): number {
    this.flush();
    this.out.push(...this.frame.end());
    return this.frame.size;
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    const bytes = Buffer.from(this.batch.join(''), 'utf8');
    this.batch = [];
    this.batchLength = 0;
    this.hash?.update(bytes);
    this.out.push(...this.frame.write(bytes));
  }
}

export class MetadataBuilder {
  private readonly tocHash = createHash('sha256');
  private readonly toc: TextFrame;
  private readonly tarSplit: TextFrame;
  private entries = 0;

  constructor(level: number) {
    this.toc = new TextFrame(level, this.tocHash);
    this.tarSplit = new TextFrame(level);
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
  finish(offset: number): { bytes: Uint8Array[]; layout: MetadataLayout } {
    const tarSplitSize = this.tarSplit.end();
    const tarSplitDigest = sha256(this.tarSplit.out);
    this.toc.add(`],"tarSplitDigest":${JSON.stringify(tarSplitDigest)}}`);
    const tocSize = this.toc.end();
    const tocPayload = Buffer.concat(this.toc.out);
    const tarSplitPayload = Buffer.concat(this.tarSplit.out);
    const tocFrame = skippableFrame(tocPayload);
    const tarSplitFrame = skippableFrame(tarSplitPayload);
    const layout: MetadataLayout = {
      tocOffset: offset + 8,
      tocLength: tocPayload.length,
      tocUncompressedLength: tocSize,
      tocDigest: `sha256:${this.tocHash.digest('hex')}`,
      tocChecksum: sha256([tocPayload]),
      tarSplitOffset: offset + tocFrame.length + 8,
      tarSplitLength: tarSplitPayload.length,
      tarSplitUncompressedLength: tarSplitSize,
    };
    return { bytes: [tocFrame, tarSplitFrame, skippableFrame(footer(layout))], layout };
  }
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
