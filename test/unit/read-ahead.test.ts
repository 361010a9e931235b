// readAhead: order kept, the source never more than maxBytes ahead of the consumer, errors from the source
// reach the consumer, and a consumer that stops early lets the source run its clean-up.
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

  it('with a bound of 0 still passes every chunk through, one at a time', async () => {
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 5; i++) yield chunk(10, i);
    }
    const seen: number[] = [];
    for await (const c of readAhead(source(), 0)) seen.push(c[0] as number);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
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
