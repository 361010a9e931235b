// `tsconvert cleanup LOCATION`: removes only what dead tsconvert runs left in one store (leases and ingests
// in a containerd namespace, temporary files of a layout) and their layer scratch directories in $TMPDIR,
// prints one line per thing removed, and converts nothing. Every conversion does the same on its destination
// (cleanupDestination), in two steps: dead runs' leases go only after it has finished, so the layers they
// kept can be reused first. Committed blobs are never removed: only leases, ingests and temporary files are
// garbage (src/containerd/dead-runs.ts).

import { removeDeadScratchDirs } from '../convert/scratch.js';
import { TsconvertError } from '../errors.js';
import type { ImageBackend } from '../store/image-store.js';
import type { Logger } from '../util/log.js';
import { openLocation, parseLocation, type LocationOptions } from './locations.js';
import { describeError } from './report-error.js';

export interface CleanupIo {
  stdout: NodeJS.WritableStream;
  logger: Logger;
  signal: AbortSignal;
}

/**
 * Runs the backend's cleanupDeadRuns, if it has one, and removes dead runs' layer scratch directories
 * (src/convert/scratch.ts), whatever the backend; the lines of what it removed.
 */
async function cleanupDeadRuns(
  backend: ImageBackend,
  signal: AbortSignal,
  leases?: 'keep' | 'only',
): Promise<string[]> {
  const here = (await backend.cleanupDeadRuns?.({ signal, leases })) ?? [];
  return leases === 'only' ? here : [...here, ...(await removeDeadScratchDirs())];
}

/**
 * A conversion's housekeeping on its destination, logged: at 'start', what dead runs left there, but for
 * their leases; at 'end' (after a successful conversion), those leases, once this run has reused the
 * layers they kept (src/containerd/dead-runs.ts). A failure here does not stop the conversion; it is logged
 * as a warning.
 */
export async function cleanupDestination(
  backend: ImageBackend,
  display: string,
  logger: Logger,
  signal: AbortSignal,
  phase: 'start' | 'end',
): Promise<void> {
  try {
    const lines = await cleanupDeadRuns(backend, signal, phase === 'start' ? 'keep' : 'only');
    for (const line of lines) logger.info(line);
  } catch (err) {
    if (signal.aborted || (err instanceof TsconvertError && err.code === 'CONNECTION')) throw err;
    logger.warn(`could not remove what dead runs left in ${display}: ${describeError(err)}`);
  }
}

export async function runCleanup(
  location: string,
  options: Omit<LocationOptions, 'logger' | 'signal'>,
  io: CleanupIo,
): Promise<void> {
  if (parseLocation(location).registry !== null) {
    io.logger.info(
      `nothing to clean in ${location}: a registry keeps nothing of dead tsconvert runs (an unfinished upload expires there by itself)`,
    );
    return;
  }
  const { backend, display: name } = await openLocation(location, {
    ...options,
    logger: io.logger,
    signal: io.signal,
  });
  // For containerd the name only picks the backend: what is cleaned is the whole namespace.
  const display =
    backend.kind === 'containerd' ? `containerd at ${options.address} namespace ${options.namespace}` : name;
  try {
    const removed = await cleanupDeadRuns(backend, io.signal);
    for (const line of removed) io.stdout.write(`${line}\n`);
    if (removed.length === 0) io.logger.info(`nothing left by dead runs in ${display}`);
  } finally {
    await backend.close();
  }
}
