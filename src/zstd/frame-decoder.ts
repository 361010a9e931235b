// A zstd decoder that tells where each frame starts: for every frame (data or skippable) of a
// multi-frame stream, the compressed offset of its first byte and the decompressed offset it starts at.
// `tsconvert image verify` needs this to check that a TOC's `offset` really is the frame holding a chunk
// (docs/format.md#toc-payload-fields). libzstd's streaming decoder returns 0 exactly when a frame has been
// decoded and flushed, and never reads past the end of a frame in that call, which marks the boundaries.

import { createRequire } from 'node:module';
import type * as Binding from 'zstd-napi/binding.js';
import { malformed } from '../errors.js';
import { SKIPPABLE_HEADER_SIZE, SKIPPABLE_MAGIC } from './frame-compressor.js';
import { ZSTD_MAX_WINDOW_LOG } from './zstd.js';

const binding = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof Binding;

const OUT_BUFFER = 256 * 1024;

export type FrameEvent =
  /** A frame starts at `offset` in the compressed stream, when `decoded` bytes have come out so far. */
  | { kind: 'frame'; offset: number; decoded: number }
  /** Decoded bytes (a fresh copy the consumer may keep). */
  | { kind: 'data'; data: Uint8Array };

/** Decodes `source`; yields a `frame` event before each frame's bytes. Throws MALFORMED on bad input. */
export async function* decodeFrames(source: AsyncIterable<Uint8Array>): AsyncGenerator<FrameEvent> {
  const dctx = new binding.DCtx();
  dctx.setParameter(binding.DParameter.windowLogMax, ZSTD_MAX_WINDOW_LOG);
  const out = new Uint8Array(OUT_BUFFER);
  let consumed = 0;
  let decoded = 0;
  let atFrameStart = true;
  for await (const chunk of source) {
    let src = chunk;
    while (src.length > 0) {
      if (atFrameStart) {
        yield { kind: 'frame', offset: consumed, decoded };
        atFrameStart = false;
      }
      let result: [number, number, number];
      try {
        result = dctx.decompressStream(out, src);
      } catch (err) {
        throw malformed(`zstd data at compressed offset ${consumed}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      const [hint, produced, used] = result;
      consumed += used;
      src = src.subarray(used);
      if (produced > 0) {
        decoded += produced;
        yield { kind: 'data', data: out.slice(0, produced) };
      }
      if (hint === 0) atFrameStart = true;
      else if (used === 0 && produced === 0 && src.length > 0) {
        throw malformed(`zstd data at compressed offset ${consumed}: the decoder made no progress`);
      }
    }
  }
  // Flush what the last frame still holds.
  for (;;) {
    if (atFrameStart) return;
    const [hint, produced] = dctx.decompressStream(out, new Uint8Array(0));
    if (produced > 0) {
      decoded += produced;
      yield { kind: 'data', data: out.slice(0, produced) };
    }
    if (hint === 0) return;
    if (produced === 0) throw malformed(`zstd stream ends inside a frame at compressed offset ${consumed}`);
  }
}

/**
 * Only the decoded bytes of `source`, decoded as the consumer pulls them: one input piece of a metadata
 * frame that compresses 20 to 1 never turns into tens of megabytes at once, as it does through a stream
 * Transform, which decodes each written piece whole whatever its reader asked for.
 */
export async function* decodeZstd(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const ev of decodeFrames(source)) if (ev.kind === 'data') yield ev.data;
}

/** The payload length of the skippable frame whose 8-byte header is `header`, or undefined if it is not one. */
export function skippablePayloadLength(header: Uint8Array): number | undefined {
  if (header.length !== SKIPPABLE_HEADER_SIZE) return undefined;
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  return view.getUint32(0, true) === SKIPPABLE_MAGIC ? view.getUint32(4, true) : undefined;
}
