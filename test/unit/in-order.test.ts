import { describe, expect, it } from 'vitest';
import { InOrder } from '../../src/util/in-order.js';

describe('InOrder', () => {
  it('hands items on in position order however they complete, across compactions', () => {
    const out: number[] = [];
    const q = new InOrder<number>((n) => out.push(n));
    // Runs of 7 reserved positions filled back to front, with complete items between them.
    let expected = 0;
    for (let run = 0; run < 1000; run++) {
      const reserved = Array.from({ length: 7 }, () => q.reserve());
      q.push(q.length);
      expect(q.waiting).toBe(8);
      for (const p of [...reserved].reverse()) q.set(p, p);
      expected += 8;
      expect(out.length).toBe(expected);
      expect(q.waiting).toBe(0);
    }
    expect(out).toEqual(Array.from({ length: 8000 }, (_, i) => i));
    expect(q.length).toBe(8000);
  });

  it('holds everything behind a position still waiting, and lets it all go once that is filled', () => {
    const out: string[] = [];
    const q = new InOrder<string>((s) => out.push(s));
    const first = q.reserve();
    for (let i = 0; i < 5000; i++) q.push(`b${i}`);
    expect(out).toEqual([]);
    expect(q.waiting).toBe(5001);
    q.set(first, 'a');
    expect(out.length).toBe(5001);
    expect(out[0]).toBe('a');
    expect(out[5000]).toBe('b4999');
    expect(q.waiting).toBe(0);
  });
});
