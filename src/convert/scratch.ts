// The scratch directory of one layer's flight: made in the system's temporary directory ($TMPDIR) the
// first time the encoder needs it, and removed with everything in it by the flight's clean-up, once,
// after the last waiter, whether the layer converted, failed or was cancelled.

import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scratch } from '../layers/layer-format.js';
import { spillError } from '../stream/spill-buffer.js';
import type { Flight } from './single-flight.js';

export function flightScratch(flight: Flight): Scratch {
  let dir: string | undefined;
  return {
    directory() {
      if (dir === undefined) {
        const prefix = join(tmpdir(), 'tsconvert-layer-');
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
