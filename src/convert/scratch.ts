// The scratch directory of one layer's flight: made in the system's temporary directory ($TMPDIR) the
// first time the encoder needs it, and removed with everything in it by the flight's clean-up, once,
// after the last waiter, whether the layer converted, failed or was cancelled. Its name carries the run's
// owner token (util/run-tags.ts), so what a killed run left is found and removed by a later run's
// clean-up of dead runs (removeDeadScratchDirs), never a live or unknown run's.

import { mkdtempSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scratch } from '../layers/layer-format.js';
import { spillError } from '../stream/spill-buffer.js';
import { ownerState } from '../util/run-owner.js';
import { scratchDirOwner, scratchDirPrefix } from '../util/run-tags.js';
import type { Flight } from './single-flight.js';

export function flightScratch(flight: Flight, parent: string = tmpdir()): Scratch {
  let dir: string | undefined;
  return {
    directory() {
      if (dir === undefined) {
        const prefix = join(parent, scratchDirPrefix());
        let made: string;
        try {
          made = mkdtempSync(prefix);
        } catch (err) {
          throw spillError(`${prefix}*`, err);
        }
        flight.defer(() => rm(made, { recursive: true, force: true }));
        dir = made;
      }
      return dir;
    },
  };
}

/** Removes the layer scratch directories dead runs left directly under `parent`; one line per directory. */
export async function removeDeadScratchDirs(parent: string = tmpdir()): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(parent)).sort();
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const owner = scratchDirOwner(name);
    if (owner === undefined || ownerState(owner) !== 'dead') continue;
    const path = join(parent, name);
    await rm(path, { recursive: true, force: true });
    removed.push(
      `removed layer scratch directory ${path}, left by dead run pid ${owner.pid} on ${owner.host}`,
    );
  }
  return removed;
}
