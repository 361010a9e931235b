// A layer flight's scratch directory: made on demand, removed after the flight, named after its run so that a
// killed run's ones are found and removed by a later run (and a live or unknown run's ones are not).
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flightScratch, removeDeadScratchDirs } from '../../src/convert/scratch.js';
import { SingleFlight } from '../../src/convert/single-flight.js';
import { currentOwner, formatOwner } from '../../src/util/run-owner.js';
import { scratchDirOwner } from '../../src/util/run-tags.js';

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

describe('removeDeadScratchDirs', () => {
  it("names a scratch directory after its run, and removes only dead runs' ones", async () => {
    const parent = await mkdtemp(join(tmpdir(), 'tsconvert-scratch-test-'));
    try {
      const flights = new SingleFlight<void>();
      let mine = '';
      await flights.join('layer', async (flight) => {
        mine = flightScratch(flight, parent).directory();
        expect(basename(mine).startsWith(`tsconvert-layer-${formatOwner(currentOwner())}-`)).toBe(true);
        expect(scratchDirOwner(basename(mine))).toEqual(currentOwner());
        // A live run's directory (this one, still in use) is never removed.
        expect(await removeDeadScratchDirs(parent)).toEqual([]);
      });
      await flights.drain();
      const me = currentOwner();
      const dead = join(
        parent,
        `tsconvert-layer-${formatOwner({ ...me, start: String(Number(me.start) + 1) })}-Ab12Cd`,
      );
      const foreignHost = join(
        parent,
        `tsconvert-layer-${formatOwner({ ...me, host: 'elsewhere', pid: 1 })}-Ab12Cd`,
      );
      const notOurs = join(parent, 'tsconvert-layer-abcdef');
      for (const d of [dead, foreignHost, notOurs]) await mkdir(d);
      writeFileSync(join(dead, 'toc.zst'), 'x');
      expect(await removeDeadScratchDirs(parent)).toEqual([expect.stringContaining(dead)]);
      expect((await readdir(parent)).sort()).toEqual([basename(foreignHost), basename(notOurs)].sort());
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
