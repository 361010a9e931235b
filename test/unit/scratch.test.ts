import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flightScratch } from '../../src/convert/scratch.js';
import { SingleFlight } from '../../src/convert/single-flight.js';

describe('flightScratch', () => {
  it('makes no directory until asked, then one, removed with its files after the flight', async () => {
    const flights = new SingleFlight<string>();
    const dir = await flights.join('layer', async (flight) => {
      const scratch = flightScratch(flight);
      const made = scratch.directory();
      expect(scratch.directory()).toBe(made);
      writeFileSync(join(made, 'toc.zst'), 'x');
      return made;
    });
    await flights.drain();
    expect(existsSync(dir)).toBe(false);
  });

  it('removes the directory when the flight fails', async () => {
    const flights = new SingleFlight<string>();
    let dir = '';
    const failed = await flights
      .join('layer', async (flight) => {
        dir = flightScratch(flight).directory();
        writeFileSync(join(dir, 'tar-split.zst'), 'x');
        throw new Error('broken tar');
      })
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    await flights.drain();
    expect(dir).not.toBe('');
    expect(existsSync(dir)).toBe(false);
  });
});
