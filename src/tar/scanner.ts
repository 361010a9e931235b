// The streaming tar scanner: a state machine over the uncompressed bytes that yields, per member, its raw
// header blocks (extension headers included) with their offset and the values Go's archive/tar computes,
// then its payload as views of the input chunks, then its padding; and at the end the trailer and a
// summary. Concatenating header, payload, padding and trailer bytes in order gives back the input exactly.
//
// End of input follows Go's reader (vbatts/tar-split's fork), which reports a clean end, not an error,
// when the input stops at a block boundary where a header would start, after a single zero block, or
// inside padding; a truncated header block, payload or extension data is an error. Bytes of extension
// headers with no member after them become part of the trailer, as tar-split stores them.

import { invalidTar } from '../errors.js';
import { readHeaders, readHeadersBuffered, type HeaderResult } from './read-headers.js';
import { ChunkReader } from './reader.js';
import { SummaryBuilder } from './summary.js';
import type { TarEvent, TarMember } from './types.js';

export interface ScanTarOptions {
  /** Stops the scan between chunks with a CANCELLED error. */
  readonly signal?: AbortSignal;
}

/**
 * Scans a tar stream. Events, in order: for each member `member`, then `payload`* and `padding`?; then
 * `trailer`* and one `end`. Throws TsconvertError MALFORMED (message naming the byte offset) on input
 * Go's archive/tar rejects or that exceeds the limits in limits.ts.
 *
 * @example
 * for await (const ev of scanTar(fs.createReadStream('layer.tar'))) {
 *   if (ev.kind === 'member') console.log(ev.member.name.text, ev.member.payloadSize);
 * }
 */
export async function* scanTar(
  source: AsyncIterable<Uint8Array>,
  options: ScanTarOptions = {},
): AsyncGenerator<TarEvent, void, undefined> {
  for await (const batch of scanTarBatches(source, options)) for (const ev of batch) yield ev;
}

/**
 * {@link scanTar}'s events in batches: all the events the scanner could produce from the bytes it held,
 * handed out before it waits for more input. Views in a batch stay valid while it is being handled (the
 * scanner reads no further input meanwhile), and only that long when the source reuses its memory (a
 * decoder's ring): a consumer copies what it keeps past the batch. For hot loops: no promise per event,
 * and none per member whose header has arrived whole. An error comes after the batch of the events before
 * it.
 */
export async function* scanTarBatches(
  source: AsyncIterable<Uint8Array>,
  options: ScanTarOptions = {},
): AsyncGenerator<TarEvent[], void, undefined> {
  const reader = new ChunkReader(source, options.signal);
  const summary = new SummaryBuilder();
  const batch: TarEvent[] = [];
  try {
    for (let index = 0; ; index++) {
      let result = readHeadersBuffered(reader, index);
      if (result === undefined) {
        if (batch.length > 0) yield batch.splice(0);
        result = await readHeaders(reader, index);
      }
      if (result.kind === 'end') {
        if (batch.length > 0) yield batch.splice(0);
        yield* finish(reader, summary, result);
        return;
      }
      const { member } = result;
      summary.addMember(member);
      batch.push({ kind: 'member', offset: member.headerOffset, header: concat(result.pieces), member });
      for (let remaining = member.payloadSize; remaining > 0;) {
        const offset = reader.offset;
        let data = reader.nextBuffered(remaining);
        if (data === undefined) {
          if (batch.length > 0) yield batch.splice(0);
          data = await reader.next(remaining);
          if (data === undefined) throw payloadShort(member, offset, remaining);
        }
        remaining -= data.length;
        batch.push({ kind: 'payload', offset, data });
      }
      let padding = reader.readBuffered(member.paddingSize);
      if (padding === undefined) {
        if (batch.length > 0) yield batch.splice(0);
        padding = await reader.read(member.paddingSize);
      }
      if (padding.length > 0)
        batch.push({ kind: 'padding', offset: reader.offset - padding.length, data: padding });
      if (padding.length < member.paddingSize) {
        if (batch.length > 0) yield batch.splice(0);
        yield* finish(reader, summary, { kind: 'end', pieces: [], ending: 'none', truncatedPadding: true });
        return;
      }
    }
  } catch (err) {
    // The events before the error are handed out first, as an unbatched scan would.
    if (batch.length > 0) yield batch.splice(0);
    throw err;
  } finally {
    await reader.close();
  }
}

function payloadShort(member: TarMember, offset: number, remaining: number): Error {
  return invalidTar(
    `tar member "${member.name.text}" at offset ${member.headerOffset}: input ends at offset ${offset}, ` +
      `${remaining} payload bytes short`,
  );
}

async function* finish(
  reader: ChunkReader,
  summary: SummaryBuilder,
  end: Extract<HeaderResult, { kind: 'end' }>,
): AsyncGenerator<TarEvent[], void, undefined> {
  const start = reader.offset - end.pieces.reduce((n, p) => n + p.length, 0);
  summary.startTrailer(start, end.ending, end.truncatedPadding);
  let offset = start;
  for (const data of end.pieces) {
    summary.addTrailer(data);
    yield [{ kind: 'trailer', offset, data }];
    offset += data.length;
  }
  for (;;) {
    const at = reader.offset;
    const data = await reader.next(Number.MAX_SAFE_INTEGER);
    if (data === undefined) break;
    summary.addTrailer(data);
    yield [{ kind: 'trailer', offset: at, data }];
  }
  yield [{ kind: 'end', summary: summary.build(reader.offset) }];
}

function concat(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 1 && pieces[0]) return pieces[0];
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
