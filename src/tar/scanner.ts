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
import { readHeaders, type HeaderResult } from './read-headers.js';
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
  const reader = new ChunkReader(source, options.signal);
  const summary = new SummaryBuilder();
  try {
    for (let index = 0; ; index++) {
      const result = await readHeaders(reader, index);
      if (result.kind === 'end') {
        yield* finish(reader, summary, result);
        return;
      }
      const { member } = result;
      summary.addMember(member);
      yield { kind: 'member', offset: member.headerOffset, header: concat(result.pieces), member };
      // The payload loop is inline, not a generator of its own: one fewer generator per member.
      for (let remaining = member.payloadSize; remaining > 0;) {
        const offset = reader.offset;
        const data = await reader.next(remaining);
        if (data === undefined) throw payloadShort(member, offset, remaining);
        remaining -= data.length;
        yield { kind: 'payload', offset, data };
      }
      const padding = await reader.read(member.paddingSize);
      if (padding.length > 0)
        yield { kind: 'padding', offset: reader.offset - padding.length, data: padding };
      if (padding.length < member.paddingSize) {
        yield* finish(reader, summary, { kind: 'end', pieces: [], ending: 'none', truncatedPadding: true });
        return;
      }
    }
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
): AsyncGenerator<TarEvent, void, undefined> {
  const start = reader.offset - end.pieces.reduce((n, p) => n + p.length, 0);
  summary.startTrailer(start, end.ending, end.truncatedPadding);
  let offset = start;
  for (const data of end.pieces) {
    summary.addTrailer(data);
    yield { kind: 'trailer', offset, data };
    offset += data.length;
  }
  for (;;) {
    const at = reader.offset;
    const data = await reader.next(Number.MAX_SAFE_INTEGER);
    if (data === undefined) break;
    summary.addTrailer(data);
    yield { kind: 'trailer', offset: at, data };
  }
  yield { kind: 'end', summary: summary.build(reader.offset) };
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
