// readAhead: order kept, the source never more than maxBytes ahead of the consumer, a source free to reuse
// its memory once asked for more, errors from the source reach the consumer, and a consumer that stops
// early lets the source run its clean-up.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { readAhead } from '../../src/stream/read-ahead.js';

const chunk = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

describe('readAhead', () => {
  it('yields every chunk in order', async () => {
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 50; i++) yield chunk(10, i);
    }
    const seen: number[] = [];
    for await (const c of readAhead(source(), 25)) seen.push(c[0] as number);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('pulls ahead while the consumer is busy, but never more than maxBytes', async () => {
    let produced = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 40; i++) {
        produced += 100;
        yield chunk(100, i);
      }
    }
    let consumed = 0;
    let maxAhead = 0;
    for await (const c of readAhead(source(), 300)) {
      await sleep(2);
      consumed += c.length;
      maxAhead = Math.max(maxAhead, produced - consumed);
    }
    expect(consumed).toBe(4000);
    // It did run ahead (the point of it), and stayed within the bound plus the chunk being pulled.
    expect(maxAhead).toBeGreaterThanOrEqual(200);
    expect(maxAhead).toBeLessThanOrEqual(400);
  });

  it('lets the source reuse a chunk once it is asked for the next, and cuts chunks larger than the ring', async () => {
    // The source overwrites its one buffer on every pull, as the zstd:chunked encoder reuses its slots.
    const buffer = new Uint8Array(700);
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 30; i++) {
        const n = 1 + ((i * 97) % buffer.length);
        for (let j = 0; j < n; j++) buffer[j] = (i * 31 + j) & 0xff;
        yield buffer.subarray(0, n);
        buffer.fill(0xee);
      }
    }
    const expected: number[] = [];
    for (let i = 0; i < 30; i++)
      for (let j = 0; j < 1 + ((i * 97) % 700); j++) expected.push((i * 31 + j) & 0xff);
    const seen: number[] = [];
    for await (const c of readAhead(source(), 256)) {
      expect(c.length).toBeLessThanOrEqual(256);
      await sleep(1);
      seen.push(...c);
    }
    expect(seen).toEqual(expected);
  });

  it("passes the source's error to the consumer", async () => {
    async function* source(): AsyncGenerator<Uint8Array> {
      yield chunk(1, 1);
      throw new Error('broken source');
    }
    const seen: Uint8Array[] = [];
    await expect(
      (async () => {
        for await (const c of readAhead(source(), 1024)) seen.push(c);
      })(),
    ).rejects.toThrow('broken source');
    expect(seen).toHaveLength(1);
  });

  it('runs the source clean-up when the consumer stops first', async () => {
    let cleanedUp = false;
    let pulled = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        for (let i = 0; ; i++) {
          pulled += 1;
          yield chunk(10, i);
        }
      } finally {
        cleanedUp = true;
      }
    }
    for await (const c of readAhead(source(), 50)) if (c[0] === 3) break;
    expect(cleanedUp).toBe(true);
    expect(pulled).toBeLessThan(12);
  });
});
