// The run-wide memory budget: what fits is granted at once, what does not waits in order (started work may
// take what fits ahead of it), a wait ends on abort, and a request is granted whatever its size when nothing else is held (so waiting cannot deadlock).
import { describe, expect, it } from 'vitest';
import { MemoryBudget } from '../../../src/util/memory-budget.js';

describe('MemoryBudget', () => {
  it('grants what fits, makes the rest wait in order, and wakes waiters as memory comes back', async () => {
    const b = new MemoryBudget(100);
    b.reserveFixed(20);
    expect(b.tryAcquire(50)).toBe(true);
    const order: string[] = [];
    const first = b.acquire(40).then(() => order.push('first'));
    const second = b.acquire(10).then(() => order.push('second'));
    // Someone waits: a small try does not jump the queue.
    expect(b.tryAcquire(5)).toBe(false);
    await Promise.resolve();
    expect(order).toEqual([]);
    b.release(50);
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    expect(b.used).toBe(70);
    expect(b.peak).toBe(70);
  });

  it('lets started work take what fits ahead of the queue, and the queue goes on when it gives it back', async () => {
    const b = new MemoryBudget(100);
    expect(b.tryAcquire(40)).toBe(true);
    const waiting = b.acquire(61);
    // A layer waiting to start does not stop a running one from taking its next slot (it fits now) ...
    expect(b.tryAcquire(5)).toBe(false);
    expect(b.tryAcquire(5, true)).toBe(true);
    // ... but never beyond what fits.
    expect(b.tryAcquire(100, true)).toBe(false);
    b.release(45);
    await waiting;
    expect(b.used).toBe(61);
  });

  it('grants a request larger than the budget when nothing else is held', async () => {
    const b = new MemoryBudget(10);
    b.reserveFixed(8);
    await b.acquire(50);
    expect(b.used).toBe(58);
    expect(b.tryAcquire(1)).toBe(false);
    b.release(50);
    expect(b.used).toBe(8);
  });

  it('ends a wait when its signal aborts, and lets the next waiter through', async () => {
    const b = new MemoryBudget(10);
    expect(b.tryAcquire(10)).toBe(true);
    const ac = new AbortController();
    const big = b.acquire(8, ac.signal);
    const small = b.acquire(2);
    ac.abort(new Error('stopped'));
    await expect(big).rejects.toThrow('stopped');
    b.release(5);
    await small;
    expect(b.used).toBe(7);
  });
});
