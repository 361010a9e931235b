// Test helpers: feed a buffer to scanTar in chosen chunk sizes, check the event stream's invariants
// (contiguous offsets, sizes that match the member records) and gather what it said.

import { scanTar } from '../../../src/tar/index.js';
import type { TarMember, TarSummary } from '../../../src/tar/index.js';

export type Chunking = number | 'random' | ((index: number) => number);

/** A small seeded PRNG (mulberry32) so property tests are reproducible without a dependency. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function* chunks(buf: Uint8Array, chunking: Chunking, seed = 1): AsyncGenerator<Uint8Array> {
  const rand = prng(seed);
  let at = 0;
  for (let i = 0; at < buf.length; i++) {
    let n: number;
    if (chunking === 'random') n = 1 + Math.floor(rand() * (rand() < 0.2 ? 4 : 3000));
    else if (typeof chunking === 'number') n = chunking;
    else n = chunking(i);
    // a copy in its own ArrayBuffer (Buffer#slice would share the input's memory)
    yield new Uint8Array(buf.subarray(at, at + n));
    at += n;
  }
}

export interface ScannedMember {
  member: TarMember;
  header: Buffer;
  payload: Buffer;
  payloadEvents: number;
  padding: Buffer;
}

export interface ScanResult {
  members: ScannedMember[];
  trailer: Buffer;
  summary: TarSummary;
  /** Every byte the events carried, in order: must equal the input. */
  rebuilt: Buffer;
}

/** Scans `buf` and checks that each event starts where the previous one ended. */
export async function scanBuffer(buf: Uint8Array, chunking: Chunking = 65536, seed = 1): Promise<ScanResult> {
  const members: ScannedMember[] = [];
  const all: Uint8Array[] = [];
  const trailer: Uint8Array[] = [];
  let offset = 0;
  let summary: TarSummary | undefined;
  let payload: Uint8Array[] = [];
  const expectAt = (at: number, what: string): void => {
    if (at !== offset) throw new Error(`${what} event at ${at}, expected ${offset}`);
  };
  for await (const ev of scanTar(chunks(buf, chunking, seed))) {
    if (summary) throw new Error('event after end');
    if (ev.kind === 'end') {
      summary = ev.summary;
      continue;
    }
    const data = ev.kind === 'member' ? ev.header : ev.data;
    expectAt(ev.offset, ev.kind);
    offset += data.length;
    all.push(data);
    const last = members.at(-1);
    if (ev.kind !== 'payload' && last && payload.length > 0) {
      last.payload = Buffer.concat(payload);
      payload = [];
    }
    if (ev.kind === 'member') {
      if (ev.header.length !== ev.member.headerSize || ev.member.headerOffset !== ev.offset)
        throw new Error('header size/offset mismatch');
      members.push({
        member: ev.member,
        header: Buffer.from(ev.header),
        payload: Buffer.alloc(0),
        payloadEvents: 0,
        padding: Buffer.alloc(0),
      });
    } else if (ev.kind === 'payload') {
      const m = members.at(-1);
      if (!m) throw new Error('payload before member');
      if (payload.length === 0 && ev.offset !== m.member.payloadOffset)
        throw new Error('payload offset mismatch');
      payload.push(ev.data);
      m.payloadEvents++;
    } else if (ev.kind === 'padding') {
      const m = members.at(-1);
      if (!m) throw new Error('padding before member');
      m.padding = Buffer.from(ev.data);
    } else {
      trailer.push(ev.data);
    }
  }
  const last = members.at(-1);
  if (last && payload.length > 0) last.payload = Buffer.concat(payload);
  if (!summary) throw new Error('no end event');
  for (const m of members) {
    if (m.payload.length !== m.member.payloadSize)
      throw new Error(`payload of ${m.member.name.text} incomplete`);
  }
  return { members, trailer: Buffer.concat(trailer), summary, rebuilt: Buffer.concat(all) };
}

/** Everything scanTar reports except views of the input, for comparing runs with different chunkings. */
export function comparable(r: ScanResult): unknown {
  return plain({
    members: r.members.map((m) => ({ ...m, payloadEvents: undefined })),
    trailer: r.trailer,
    summary: r.summary,
  });
}

/** Bytes as hex and maps as entry lists, so Buffer and Uint8Array views of equal bytes compare equal. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return `hex:${Buffer.from(value).toString('hex')}`;
  if (value instanceof Map) return [...value].map(plain);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}
