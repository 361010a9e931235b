// The zstd:chunked encoder (docs FORMAT.md §1–3): scans the layer's tar, cuts it into zstd frames — header
// bytes of payload-less members share a frame up to 1 MiB, every regular file's payload is cut into
// fixed-size chunks of one frame each — compresses frames in the shared worker pool with the output kept
// in input order, and builds the TOC and tar-split as frames land at their offsets. The decompressed blob
// is the input tar byte for byte. Memory is bounded by the frames in flight, never by the layer.

import { createHash, type Hash } from 'node:crypto';
import { scanTar, type TarMember, type TarSummary } from '../../tar/index.js';
import type { CompressPool, FrameResult } from '../../zstd/compress-pool.js';
import { LayerChecks } from './checks.js';
import { Crc64 } from './crc64.js';
import { MetadataBuilder, type MetadataLayout } from './metadata.js';
import { TarSplitBuilder } from './tar-split.js';
import { chunkEntry, memberEntry, type ChunkFields } from './toc.js';

/** A frame of header-only members is closed once it holds this much. */
export const MAX_HEADER_FRAME = 1 << 20;
/** The end-of-archive blocks that go into the first trailer segment of the tar-split. */
const END_OF_ARCHIVE = 1024;

export interface ChunkedEncoderOptions {
  pool: CompressPool;
  level: number;
  chunkSize: number;
  /** Frames compressed or compressing but not yet written out, at most. */
  maxInFlight: number;
}

interface PendingFrame {
  result: Promise<FrameResult>;
  landed?: (offset: number, size: number, sha256: string | undefined) => void;
}

interface FileState {
  member: TarMember;
  /** First TOC slot of the file; one slot per chunk. */
  slot: number;
  chunks: ChunkFields[];
  chunkCount: number;
  hash: Hash;
  crc: Crc64;
  received: number;
  buffer: Uint8Array | undefined;
  filled: number;
  digest?: string;
}

export class ChunkedEncoder {
  private readonly queue: PendingFrame[] = [];
  private offset = 0;
  private readonly slots: Array<string | undefined> = [];
  private nextSlot = 0;
  private readonly meta: MetadataBuilder;
  private readonly tarSplit: TarSplitBuilder;
  private readonly checks = new LayerChecks();
  private header: Uint8Array[] = [];
  private headerLength = 0;
  private file: FileState | undefined;
  private trailerSeen = 0;
  private trailerRest: Uint8Array[] = [];
  private trailerRestLength = 0;
  /** Set once the blob is complete. */
  layout: MetadataLayout | undefined;
  uncompressedSize = 0;

  constructor(private readonly options: ChunkedEncoderOptions) {
    this.meta = new MetadataBuilder(options.level);
    this.tarSplit = new TarSplitBuilder((line) => this.meta.addTarSplitLine(line));
  }

  async *encode(tar: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    try {
      for await (const ev of scanTar(tar)) {
        if (ev.kind === 'member') this.onMember(ev.member, ev.header);
        else if (ev.kind === 'payload') this.onPayload(ev.data);
        else if (ev.kind === 'padding') this.addNonPayload(ev.data, true);
        else if (ev.kind === 'trailer') this.onTrailer(ev.data);
        else this.onEnd(ev.summary);
        yield* this.drain(this.options.maxInFlight);
      }
      yield* this.drain(0);
      const { bytes, layout } = this.meta.finish(this.offset);
      this.layout = layout;
      yield* bytes;
    } finally {
      for (const f of this.queue) f.result.catch(() => {});
    }
  }

  private onMember(member: TarMember, header: Uint8Array): void {
    this.checks.member(member);
    this.uncompressedSize += header.length;
    this.tarSplit.addRaw(header);
    this.tarSplit.flushSegment();
    this.header.push(header);
    this.headerLength += header.length;
    if (member.payloadSize === 0) {
      this.slots.push(memberEntry(member));
      this.tarSplit.addFile(member.name.text, member.size, member.size > 0n ? new Crc64().sum() : undefined);
      if (this.headerLength >= MAX_HEADER_FRAME) this.closeHeaderFrame();
      this.flushEntries();
      return;
    }
    this.closeHeaderFrame();
    const chunkCount = Math.ceil(member.payloadSize / this.options.chunkSize);
    this.file = {
      member,
      slot: this.slots.length,
      chunks: [],
      chunkCount,
      hash: createHash('sha256'),
      crc: new Crc64(),
      received: 0,
      buffer: undefined,
      filled: 0,
    };
    for (let i = 0; i < chunkCount; i++) this.slots.push(undefined);
  }

  private onPayload(data: Uint8Array): void {
    const f = this.file;
    if (f === undefined) return;
    this.uncompressedSize += data.length;
    f.hash.update(data);
    f.crc.update(data);
    let pos = 0;
    while (pos < data.length) {
      if (f.buffer === undefined) {
        f.buffer = new Uint8Array(Math.min(this.options.chunkSize, f.member.payloadSize - f.received));
        f.filled = 0;
      }
      const n = Math.min(f.buffer.length - f.filled, data.length - pos);
      f.buffer.set(data.subarray(pos, pos + n), f.filled);
      f.filled += n;
      f.received += n;
      pos += n;
      if (f.filled === f.buffer.length) this.submitChunk(f);
    }
    if (f.received === f.member.payloadSize) this.finishFile(f);
  }

  private submitChunk(f: FileState): void {
    const data = f.buffer as Uint8Array;
    const chunkOffset = f.received - data.length;
    const size = data.length;
    const chunkIndex = Math.ceil(f.received / this.options.chunkSize) - 1;
    f.buffer = undefined;
    this.queue.push({
      result: this.options.pool.compress(data, this.options.level, true),
      landed: (offset, frameSize, sha) => {
        const last = chunkIndex === f.chunkCount - 1;
        const fields: ChunkFields = {
          offset,
          chunkSize: size,
          chunkOffset,
          chunkDigest: `sha256:${sha ?? ''}`,
        };
        if (last) fields.endOffset = offset + frameSize;
        f.chunks[chunkIndex] = fields;
        if (last) this.fileLanded(f);
      },
    });
  }

  private finishFile(f: FileState): void {
    f.digest = `sha256:${f.hash.digest('hex')}`;
    this.tarSplit.addFile(f.member.name.text, f.member.size, f.crc.sum());
    this.file = undefined;
  }

  /** All chunks of the file are at their offsets: its TOC entries are final. */
  private fileLanded(f: FileState): void {
    const [first, ...rest] = f.chunks;
    this.slots[f.slot] = memberEntry(f.member, f.digest, first);
    rest.forEach((c, i) => {
      this.slots[f.slot + 1 + i] = chunkEntry(f.member.name.text, c);
    });
  }

  private addNonPayload(data: Uint8Array, split: boolean): void {
    this.uncompressedSize += data.length;
    if (split) this.tarSplit.addRaw(data);
    this.header.push(data);
    this.headerLength += data.length;
    if (this.headerLength >= MAX_HEADER_FRAME) this.closeHeaderFrame();
  }

  private onTrailer(data: Uint8Array): void {
    this.addNonPayload(data, false);
    const head = Math.max(0, Math.min(data.length, END_OF_ARCHIVE - this.trailerSeen));
    if (head > 0) this.tarSplit.addRaw(data.subarray(0, head));
    this.trailerSeen += data.length;
    this.checks.trailer(this.trailerSeen);
    if (data.length > head) {
      this.trailerRest.push(data.subarray(head));
      this.trailerRestLength += data.length - head;
    }
  }

  private onEnd(summary: TarSummary): void {
    this.checks.summary(summary);
    this.tarSplit.flushSegment();
    const rest = new Uint8Array(this.trailerRestLength);
    let at = 0;
    for (const piece of this.trailerRest) {
      rest.set(piece, at);
      at += piece.length;
    }
    this.tarSplit.addTrailingSegments(rest);
    this.closeHeaderFrame();
  }

  private closeHeaderFrame(): void {
    if (this.headerLength === 0) return;
    const data = new Uint8Array(this.headerLength);
    let at = 0;
    for (const piece of this.header) {
      data.set(piece, at);
      at += piece.length;
    }
    this.header = [];
    this.headerLength = 0;
    this.queue.push({ result: this.options.pool.compress(data, this.options.level, false) });
  }

  /** Writes out finished frames in order until at most `limit` remain in flight. */
  private async *drain(limit: number): AsyncGenerator<Uint8Array> {
    while (this.queue.length > limit) {
      const frame = this.queue.shift() as PendingFrame;
      const r = await frame.result;
      frame.landed?.(this.offset, r.frame.length, r.sha256);
      this.offset += r.frame.length;
      this.flushEntries();
      yield r.frame;
    }
  }

  /** Hands every TOC entry that is final, in order, to the metadata builder. */
  private flushEntries(): void {
    while (this.nextSlot < this.slots.length) {
      const entry = this.slots[this.nextSlot];
      if (entry === undefined) return;
      this.meta.addEntry(entry);
      this.slots[this.nextSlot] = undefined;
      this.nextSlot += 1;
    }
  }
}
