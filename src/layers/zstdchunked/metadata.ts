// The metadata frames of a zstd:chunked blob (docs FORMAT.md §2): the TOC and the tar-split, each
// compressed as it is produced — one write per entry or line, so the bytes do not depend on timing — and
// the legacy 40-byte footer stargz-snapshotter reads.

import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
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

export class MetadataBuilder {
  private readonly toc: FrameCompressor;
  private readonly tocOut: Uint8Array[] = [];
  private readonly tocHash = createHash('sha256');
  private entries = 0;
  private readonly tarSplit: FrameCompressor;
  private readonly tarSplitOut: Uint8Array[] = [];

  constructor(level: number) {
    this.toc = new FrameCompressor(level);
    this.tarSplit = new FrameCompressor(level);
    this.writeToc('{"version":1,"entries":[');
  }

  addEntry(json: string): void {
    this.writeToc(this.entries === 0 ? json : `,${json}`);
    this.entries += 1;
  }

  addTarSplitLine(line: string): void {
    this.tarSplitOut.push(...this.tarSplit.write(Buffer.from(line, 'utf8')));
  }

  /** Ends both frames; returns the bytes that follow the data frames, which start at `offset`. */
  finish(offset: number): { bytes: Uint8Array[]; layout: MetadataLayout } {
    this.tarSplitOut.push(...this.tarSplit.end());
    const tarSplitDigest = sha256(this.tarSplitOut);
    this.writeToc(`],"tarSplitDigest":${JSON.stringify(tarSplitDigest)}}`);
    this.tocOut.push(...this.toc.end());
    const tocPayload = Buffer.concat(this.tocOut);
    const tarSplitPayload = Buffer.concat(this.tarSplitOut);
    const tocFrame = skippableFrame(tocPayload);
    const tarSplitFrame = skippableFrame(tarSplitPayload);
    const layout: MetadataLayout = {
      tocOffset: offset + 8,
      tocLength: tocPayload.length,
      tocUncompressedLength: this.toc.size,
      tocDigest: `sha256:${this.tocHash.digest('hex')}`,
      tocChecksum: sha256([tocPayload]),
      tarSplitOffset: offset + tocFrame.length + 8,
      tarSplitLength: tarSplitPayload.length,
      tarSplitUncompressedLength: this.tarSplit.size,
    };
    return { bytes: [tocFrame, tarSplitFrame, skippableFrame(footer(layout))], layout };
  }

  private writeToc(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    this.tocHash.update(bytes);
    this.tocOut.push(...this.toc.write(bytes));
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
