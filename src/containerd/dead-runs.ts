// What runs that are now dead (SIGKILL, the OOM killer, a reboot) left in a containerd namespace: their
// leases (each with a 24 h containerd.io/gc.expire) and their ingests (tens to hundreds of MB each, held by
// the lease). Both are tagged with the run's owner (util/run-tags.ts); a thing is removed only when its
// owner is 'dead' as run-owner.ts judges it, never when it is 'alive' or 'unknown' (another host or PID
// namespace sharing the socket), and never without our tag.
//
// The rule, for the reuse records of issue 21 too: only leases, ingests and temporary files are garbage.
// No committed blob is deleted here. Deleting a dead run's lease hands the blobs it protected back to
// containerd's garbage collector, which keeps every blob an image record or a label (gc.ref.*) still
// references, so committed layers that something keeps stay.

import { isErrorCode } from '../errors.js';
import type { CallOptions } from '../store/content-store.js';
import type { DeadRunCleanupOptions } from '../store/image-store.js';
import { ownerState, parseOwner, type RunOwner } from '../util/run-owner.js';
import { OWNER_LABEL, refOwner } from '../util/run-tags.js';
import type { ContainerdContentStore } from './content.js';
import type { ContainerdLeaseManager } from './leases.js';

function isDead(owner: RunOwner | undefined): owner is RunOwner {
  return owner !== undefined && ownerState(owner) === 'dead';
}

/** Runs `remove`; false when the thing was gone already (another run's clean-up got there first). */
async function removed(remove: () => Promise<void>): Promise<boolean> {
  try {
    await remove();
    return true;
  } catch (err) {
    if (isErrorCode(err, 'NOT_FOUND')) return false;
    throw err;
  }
}

/**
 * Aborts dead runs' ingests, then deletes their leases; one line per thing removed. A conversion splits the
 * two (`leases`): ingests go before it starts, leases only after it has finished, because a dead run's lease
 * may be all that keeps the layers it committed (when its source was not this store, no gc.ref label on a
 * source blob does), and the new run reuses them only once its own lease holds them (issue 21's resume).
 */
export async function removeDeadRuns(
  content: ContainerdContentStore,
  leases: ContainerdLeaseManager,
  options: DeadRunCleanupOptions,
): Promise<string[]> {
  const lines: string[] = [];
  if (options.leases !== 'only') lines.push(...(await removeDeadIngests(content, options)));
  if (options.leases !== 'keep') lines.push(...(await removeDeadLeases(leases, options)));
  return lines;
}

async function removeDeadIngests(content: ContainerdContentStore, options: CallOptions): Promise<string[]> {
  const lines: string[] = [];
  for (const ingest of await content.listIngests(options)) {
    if (!isDead(refOwner(ingest.ref))) continue;
    if (await removed(() => content.abortIngest(ingest.ref, options)))
      lines.push(`removed ingest ${ingest.ref} of a dead run (${ingest.offset} bytes)`);
  }
  return lines;
}

async function removeDeadLeases(leases: ContainerdLeaseManager, options: CallOptions): Promise<string[]> {
  const lines: string[] = [];
  for (const lease of await leases.list(options)) {
    const owner = parseOwner(lease.labels[OWNER_LABEL] ?? '');
    if (!isDead(owner)) continue;
    if (await removed(() => leases.delete(lease.id, options)))
      lines.push(`removed lease ${lease.id} of a dead run (pid ${owner.pid} on ${owner.host})`);
  }
  return lines;
}
