// Runs the tar scanner over one fuzz input, in chunks of a chosen size, with the guards the fuzz property
// needs: the input source notices a scanner that keeps pulling after the end (a loop that cannot end), the
// event count is bounded by the input's size, and every byte the events carry must give back the input.
// Returns what was read, or the error, which must be a TsconvertError MALFORMED.

import { scanTar, type TarMember } from '../../../src/tar/index.js';
import { expectTyped } from './harness.js';

export interface ScannedMember {
  member: TarMember;
  payload: Buffer;
}

export type ScanOutcome = { ok: true; members: ScannedMember[] } | { ok: false; error: Error };

/** Slowest a single small input may take before it counts as a hang. */
const INPUT_TIME_LIMIT_MS = 5_000;

/** The input in chunks, without a generator; throws once a scanner keeps pulling after the end. */
function source(bytes: Buffer, chunk: number): AsyncIterable<Uint8Array> {
  let at = 0;
  let ends = 0;
  const next = async (): Promise<IteratorResult<Uint8Array>> => {
    if (at < bytes.length) {
      at += chunk;
      return { done: false, value: bytes.subarray(at - chunk, at) };
    }
    if (++ends > 3) throw new Error(`scanner keeps reading after the end of a ${bytes.length}-byte input`);
    return { done: true, value: undefined };
  };
  return { [Symbol.asyncIterator]: () => ({ next }) };
}

export async function scanInput(bytes: Buffer, chunk: number): Promise<ScanOutcome> {
  const started = performance.now();
  const iterable = source(bytes, chunk);
  const members: ScannedMember[] = [];
  const pieces: Uint8Array[] = [];
  const payload: Uint8Array[] = [];
  let events = 0;
  const flush = (): void => {
    const last = members.at(-1);
    if (last && payload.length > 0) last.payload = Buffer.concat(payload);
    payload.length = 0;
  };
  let error: Error | undefined;
  try {
    for await (const ev of scanTar(iterable)) {
      if (++events > 2 * bytes.length + 16) throw new Error(`more events than bytes (${bytes.length})`);
      if (ev.kind === 'end') continue;
      if (ev.kind !== 'payload') flush();
      if (ev.kind === 'member') members.push({ member: ev.member, payload: Buffer.alloc(0) });
      if (ev.kind === 'payload') payload.push(ev.data);
      pieces.push(ev.kind === 'member' ? ev.header : ev.data);
    }
    flush();
  } catch (err) {
    expectTyped(err, ['MALFORMED'], () => `of ${bytes.length} bytes (chunks of ${chunk})`);
    error = err as Error;
  }
  const ms = performance.now() - started;
  if (ms > INPUT_TIME_LIMIT_MS) throw new Error(`a ${bytes.length}-byte input took ${Math.round(ms)} ms`);
  if (error) return { ok: false, error };
  if (!Buffer.concat(pieces).equals(bytes)) throw new Error('the events do not give back the input');
  return { ok: true, members };
}
