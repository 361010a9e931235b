// The zstd:chunked encoder (docs/format.md#data-frames): scans the layer's tar, cuts it into frames — header
// bytes of payload-less members share a frame up to 1 MiB, every regular file's payload is cut into
// fixed-size chunks of one frame each — compresses frames in the shared worker pool with the output kept
// in input order, and builds the TOC and tar-split as frames land at their offsets. The decompressed blob
// is the input tar byte for byte. Memory is bounded by the layer's slots, never by the layer.

import { Buffer } from 'node:buffer';
import { scanTarBatches, type TarMember, type TarSummary } from '../../tar/index.js';
import type { StreamDigest } from '../../stream/digest-tap.js';
import { openDigest, type DigestWorker } from '../../stream/digest-worker.js';
import type { MemoryBudget } from '../../util/memory-budget.js';
import type { CompressPool } from '../../zstd/compress-pool.js';
import type { Scratch } from '../layer-format.js';
import { LayerChecks } from './checks.js';
import { stopsOldTocParser } from './reader-losses.js';
import { combineCrc64, Crc64 } from '../../util/crc64.js';
import { ByteStage } from '../../util/byte-stage.js';
import { InOrder } from '../../util/in-order.js';
import { FrameBatcher, slotMemory } from './frame-batcher.js';
import { METADATA_BACKLOG_BYTES, MetadataBuilder, type MetadataLayout } from './metadata.js';
import { TarSplitBuilder } from './tar-split.js';
import { chunkEntry, completeEntry, entryHead, memberEntry, type ChunkFields } from './toc.js';

/** A frame of header-only members is closed once it holds this much. */
const MAX_HEADER_FRAME = 1 << 20;
/** The end-of-archive blocks that go into the first trailer segment of the tar-split. */
const END_OF_ARCHIVE = 1024;

/** Frame input one slot holds: a chunk, and at least two header frames. */
function slotInputBytes(chunkSize: number): number {
  return Math.max(chunkSize, 2 * MAX_HEADER_FRAME);
}

/** Memory of one of a layer's frame slots at `chunkSize` (input and output room). */
export function layerSlotMemory(chunkSize: number): number {
  return slotMemory(slotInputBytes(chunkSize));
}

export interface ChunkedEncoderOptions {
  pool: CompressPool;
  level: number;
  chunkSize: number;
  /** Shared-memory slots this layer may use at most (each holds max(chunkSize, 2 MiB) of frame input). */
  slots: number;
  /** The run's memory budget: slots and metadata held in memory draw from it. */
  budget: MemoryBudget;
  /** Where metadata that outgrows memory goes. */
  scratch: Scratch;
  /** Compressed bytes of each metadata frame held in memory before they go to the scratch directory. */
  metadataInMemory?: number;
  /** Where multi-chunk files' whole-file sha256 runs; on the calling thread when absent. */
  digests?: DigestWorker;
}

interface FileState {
  /** The file's TOC entry up to its digest (the member itself is not kept while chunks are in flight). */
  entryHead: string;
  regular: boolean;
  name: string;
  payloadSize: number;
  /** First TOC slot of the file; one slot per chunk. */
  slot: number;
  chunks: ChunkFields[];
  chunkCount: number;
  /** Whole-file sha256; only for multi-chunk files (a single chunk's digest comes from the pool). */
  hash: StreamDigest | undefined;
  /** Every chunk has landed; the TOC entries are written once the digest is known too. */
  landed: boolean;
  /** Completes the file's tar-split line once its CRC is known (from the pool, chunk by chunk). */
  fileLine: (crc: Uint8Array | undefined) => void;
  /** CRC-64 of the chunks landed so far, combined. */
  crc: Uint8Array | undefined;
  received: number;
  /** Bytes of the current chunk still to come, and where it started in the batcher's slot. */
  chunkLeft: number;
  chunkStart: number;
  digest?: string;
}

export class ChunkedEncoder {
  private readonly frames: FrameBatcher;
  /** TOC entries by position: a file's entries wait until its chunks have landed, and later ones with them. */
  private readonly entries = new InOrder<string>((entry) => this.meta.addEntry(entry));
  private readonly meta: MetadataBuilder;
  private readonly tarSplit: TarSplitBuilder;
  private readonly checks = new LayerChecks();
  /** Bytes of the header frame being gathered, copied: the scanner's views are valid only for a batch. */
  private readonly header = new ByteStage();
  private file: FileState | undefined;
  /** Whole-file digests still being computed; the metadata waits for them. */
  private readonly digesting = new Set<Promise<void>>();
  /** The header frame must be closed before the next payload byte or the end (see addNonPayload). */
  private headerFull = false;
  private trailerSeen = 0;
  /** Trailer bytes after the end-of-archive blocks (copies), for the tar-split's trailing segments. */
  private trailerRest: Uint8Array[] = [];
  /** Set once the blob is complete. */
  layout: MetadataLayout | undefined;
  /** The first member whose name stops containers/storage 1.43's TOC parser (reader-losses.ts). */
  escapedName: string | undefined;
  uncompressedSize = 0;

  constructor(private readonly options: ChunkedEncoderOptions) {
    this.meta = new MetadataBuilder(
      options.level,
      () => options.scratch.directory(),
      options.metadataInMemory,
      options.budget,
      options.pool,
    );
    this.tarSplit = new TarSplitBuilder(this.meta.tarSplitLines);
    this.frames = new FrameBatcher(
      options.pool,
      options.level,
      slotInputBytes(options.chunkSize),
      options.slots,
      options.budget,
    );
  }

  async *encode(tar: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    try {
      // Events are handled synchronously, a batch at a time; a generator is entered only when a slot must
      // be waited for, so the common case creates no generator or promise per event.
      for await (const batch of scanTarBatches(tar)) {
        for (const ev of batch) {
          if (ev.kind === 'member') this.onMember(ev.member, ev.header);
          else if (ev.kind === 'payload') {
            const hashed = this.file?.hash?.update(ev.data);
            if (hashed !== undefined) await hashed;
            for (let pos = this.onPayload(ev.data); pos >= 0; pos = this.feedPayload(ev.data, pos))
              yield* this.frames.reserve(this.nextChunkSize());
          } else if (ev.kind === 'padding') this.addNonPayload(ev.data, true);
          else if (ev.kind === 'trailer') yield* this.onTrailer(ev.data);
          else this.onEnd(ev.summary);
          if (this.headerFull && !this.tryCloseHeaderFrame()) yield* this.closeHeaderFrame();
        }
        // The TOC and tar-split text is compressed on the pool: when that falls behind, wait for it here
        // rather than let the text pile up.
        if (this.meta.backlog > METADATA_BACKLOG_BYTES) await this.meta.caughtUp();
      }
      this.frames.send();
      yield* this.frames.drain(0);
      await Promise.all(this.digesting);
      const { bytes, layout } = await this.meta.finish(this.frames.offset);
      this.layout = layout;
      yield* bytes;
    } finally {
      this.file?.hash?.drop?.();
      this.frames.close();
      this.meta.close();
    }
  }

  private onMember(member: TarMember, header: Uint8Array): void {
    this.checks.member(member);
    if (this.escapedName === undefined && stopsOldTocParser(member)) this.escapedName = member.name.text;
    this.tarSplit.addRaw(header);
    this.tarSplit.flushSegment();
    this.addNonPayload(header, false);
    if (member.payloadSize === 0) {
      this.entries.push(memberEntry(member));
      this.tarSplit.addFile(member.name.text, member.size, member.size > 0n ? new Crc64().sum() : undefined);
      return;
    }
    // The payload starts a frame of its own: the header frame is closed before the first payload event.
    this.headerFull = true;
    const chunkCount = Math.ceil(member.payloadSize / this.options.chunkSize);
    this.file = {
      entryHead: entryHead(member),
      regular: member.type === 'reg',
      name: member.name.text,
      payloadSize: member.payloadSize,
      slot: this.entries.length,
      chunks: [],
      chunkCount,
      hash: chunkCount > 1 ? openDigest(this.options.digests) : undefined,
      landed: false,
      fileLine: this.tarSplit.addFileLater(member.name.text, member.size),
      crc: undefined,
      received: 0,
      chunkLeft: 0,
      chunkStart: 0,
    };
    for (let i = 0; i < chunkCount; i++) this.entries.reserve();
  }

  /** Counts a payload piece (encode() has hashed it) and feeds it; returns where feeding stopped to wait for a slot, or -1. */
  private onPayload(data: Uint8Array): number {
    const f = this.file;
    if (f === undefined) return -1;
    this.uncompressedSize += data.length;
    return this.feedPayload(data, 0);
  }

  /** Size of the file's next chunk. */
  private nextChunkSize(): number {
    const f = this.file as FileState;
    return Math.min(this.options.chunkSize, f.payloadSize - f.received);
  }

  /** Puts payload bytes from `pos` into chunks; returns where it stopped to wait for a slot, or -1. */
  private feedPayload(data: Uint8Array, pos: number): number {
    const f = this.file as FileState;
    while (pos < data.length) {
      if (f.chunkLeft === 0) {
        const size = this.nextChunkSize();
        if (!this.frames.tryReserve(size)) return pos;
        f.chunkLeft = size;
        f.chunkStart = this.frames.position;
      }
      const n = Math.min(f.chunkLeft, data.length - pos);
      // Most payload pieces fit in the current chunk whole: no view is made for them.
      this.frames.write(pos === 0 && n === data.length ? data : data.subarray(pos, pos + n));
      f.chunkLeft -= n;
      f.received += n;
      pos += n;
      if (f.chunkLeft === 0) this.endChunk(f);
    }
    if (f.received === f.payloadSize) this.finishFile(f);
    return -1;
  }

  private endChunk(f: FileState): void {
    const size = this.frames.position - f.chunkStart;
    const chunkOffset = f.received - size;
    const index = Math.floor(chunkOffset / this.options.chunkSize);
    this.frames.endFrame(f.chunkStart, true, (offset, frameSize, sha, crc) => {
      const last = index === f.chunkCount - 1;
      f.crc = f.crc === undefined ? crc : combineCrc64(f.crc, crc as Uint8Array, size);
      const fields: ChunkFields = {
        offset,
        chunkSize: size,
        chunkOffset,
        chunkDigest: `sha256:${sha ?? ''}`,
      };
      if (last) fields.endOffset = offset + frameSize;
      f.chunks[index] = fields;
      if (f.chunkCount === 1) f.digest = fields.chunkDigest;
      if (last) {
        f.fileLine(f.crc);
        f.landed = true;
        if (f.digest !== undefined) this.fileLanded(f);
      }
    });
  }

  /** The file's payload is all in: its whole-file digest (when it has one) is asked for. */
  private finishFile(f: FileState): void {
    this.file = undefined;
    if (f.hash === undefined) return;
    const done = f.hash.finish().then((digest) => {
      f.digest = digest;
      if (f.landed) this.fileLanded(f);
    });
    this.digesting.add(done);
    // Settled either way it leaves the set; a failure surfaces where encode() awaits the set.
    done.then(
      () => this.digesting.delete(done),
      () => {},
    );
  }

  /** All chunks of the file are at their offsets: its TOC entries are final. */
  private fileLanded(f: FileState): void {
    this.entries.set(f.slot, completeEntry(f.entryHead, f.regular, f.digest, f.chunks[0]));
    for (let i = 1; i < f.chunks.length; i++)
      this.entries.set(f.slot + i, chunkEntry(f.name, f.chunks[i] as ChunkFields));
  }

  /** Adds header, padding or trailer bytes to the header frame; `headerFull` asks for the frame's close. */
  private addNonPayload(data: Uint8Array, split: boolean): void {
    this.uncompressedSize += data.length;
    if (split) this.tarSplit.addRaw(data);
    this.header.append(data);
    if (this.header.length >= MAX_HEADER_FRAME) this.headerFull = true;
  }

  /** A generator, as trailers can be long runs of zero blocks: frames are cut and closed as they fill. */
  private async *onTrailer(data: Uint8Array): AsyncGenerator<Uint8Array> {
    const head = Math.max(0, Math.min(data.length, END_OF_ARCHIVE - this.trailerSeen));
    if (head > 0) this.tarSplit.addRaw(data.subarray(0, head));
    this.trailerSeen += data.length;
    this.checks.trailer(this.trailerSeen);
    if (data.length > head) this.trailerRest.push(new Uint8Array(data.subarray(head)));
    // Frames are cut where they reach exactly MAX_HEADER_FRAME, not where the input's pieces happen to
    // end, so the blob does not depend on how the tar arrived.
    let pos = 0;
    while (pos < data.length) {
      const n = Math.min(data.length - pos, Math.max(1, MAX_HEADER_FRAME - this.header.length));
      this.addNonPayload(data.subarray(pos, pos + n), false);
      pos += n;
      if (this.headerFull) yield* this.closeHeaderFrame();
    }
  }

  private onEnd(summary: TarSummary): void {
    this.checks.summary(summary);
    this.tarSplit.flushSegment();
    // One buffer, so the 1 MiB segments do not depend on how the input arrived (bounded by checks.trailer).
    this.tarSplit.addTrailingSegments(Buffer.concat(this.trailerRest));
    this.trailerRest = [];
    this.headerFull = true;
  }

  /** Closes the header frame when that needs no waiting; false when a slot must be waited for first. */
  private tryCloseHeaderFrame(): boolean {
    if (this.header.length > 0 && !this.frames.tryReserve(this.header.length)) return false;
    this.writeHeaderFrame();
    return true;
  }

  /** Closes the header frame, waiting for a slot when none is free. */
  private async *closeHeaderFrame(): AsyncGenerator<Uint8Array> {
    if (this.header.length > 0) yield* this.frames.reserve(this.header.length);
    this.writeHeaderFrame();
  }

  private writeHeaderFrame(): void {
    this.headerFull = false;
    if (this.header.length === 0) return;
    const start = this.frames.position;
    this.frames.write(this.header.view());
    this.frames.endFrame(start, false, undefined);
    this.header.clear();
  }
}
