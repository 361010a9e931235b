import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../../src/convert/single-flight.js';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('SingleFlight', () => {
  it('runs the work once for concurrent callers of one key and shares the result', async () => {
    const flights = new SingleFlight<number>();
    let runs = 0;
    const work = async (): Promise<number> => {
      runs += 1;
      await tick();
      return 42;
    };
    const results = await Promise.all(Array.from({ length: 8 }, () => flights.join('k', work)));
    expect(results).toEqual(Array(8).fill(42));
    expect(runs).toBe(1);
  });

  it('releases deferred resources exactly once, after the last waiter', async () => {
    const flights = new SingleFlight<string>();
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const work = async (flight: { defer(fn: () => void): void }): Promise<string> => {
      flight.defer(() => void events.push('cleanup'));
      await gate;
      events.push('work-done');
      return 'done';
    };
    const a = flights.join('k', work).then((v) => events.push(`a:${v}`));
    const b = flights.join('k', work).then((v) => events.push(`b:${v}`));
    await tick();
    expect(events).toEqual([]);
    release();
    await Promise.all([a, b]);
    await flights.drain();
    expect(events.filter((e) => e === 'cleanup')).toHaveLength(1);
    expect(events.indexOf('cleanup')).toBeGreaterThan(events.indexOf('work-done'));
  });

  it('shares a failure with every waiter and still cleans up once', async () => {
    const flights = new SingleFlight<number>();
    let cleanups = 0;
    const work = async (flight: { defer(fn: () => void): void }): Promise<number> => {
      flight.defer(() => void (cleanups += 1));
      await tick();
      throw new Error('boom');
    };
    const settled = await Promise.allSettled([
      flights.join('k', work),
      flights.join('k', work),
      flights.join('k', work),
    ]);
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
    await flights.drain();
    expect(cleanups).toBe(1);
  });

  it('keeps results for late joiners without running the work again', async () => {
    const flights = new SingleFlight<number>();
    let runs = 0;
    await flights.join('k', async () => ++runs);
    expect(await flights.join('k', async () => ++runs)).toBe(1);
    expect(runs).toBe(1);
    expect(flights.size).toBe(1);
  });
});
