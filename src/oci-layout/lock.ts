// A lock file shared between processes: created with link(2) (atomic, never half-written, works where
// O_EXCL does), holding the holder's run-owner token (src/util/run-owner.ts). Waiting retries with capped
// exponential backoff and honours the signal. A lock whose owner ownerState() calls dead is stale and is
// broken safely: it is renamed away first, so two processes breaking the same stale lock cannot remove a
// lock that a third one just took. A lock written without an owner token is never broken automatically.

import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { throwIfAborted, TsconvertError } from '../errors.js';
import { currentOwner, formatOwner, ownerState, parseOwner, type RunOwner } from '../util/run-owner.js';
import { errnoCode, isENOENT, readRegularFile, sleep } from './fs-util.js';
import { tempName } from './temp-names.js';

export interface LockOptions {
  signal: AbortSignal;
  /** Give up with UNAVAILABLE after this long; default 60 s. */
  timeoutMs?: number;
  /** What the lock protects, for the error message. */
  what?: string;
  /** Called once, when the lock turns out to be held by a live writer and the wait begins. */
  onWait?: () => void;
}

export interface FileLock {
  readonly path: string;
  /** Removes the lock file. Safe to call twice. */
  release(): Promise<void>;
}

/** Locks this process holds, so a second holder in the same process waits too. */
const heldHere = new Set<string>();

/** The lock holder's run-owner token (src/util/run-owner.ts); undefined for a foreign or damaged file. */
export function lockOwner(text: string): RunOwner | undefined {
  try {
    const v = JSON.parse(text) as { owner?: unknown };
    if (typeof v.owner === 'string') return parseOwner(v.owner);
  } catch {
    // A foreign or damaged lock file: treated as live, never broken automatically.
  }
  return undefined;
}

/**
 * Whether the holder is surely gone. A PID now used by another process does not keep the lock alive (the
 * start time differs); a holder in another PID namespace or on another host is never judged dead.
 */
function ownerIsDead(owner: RunOwner, path: string): boolean {
  if (formatOwner(owner) === formatOwner(currentOwner())) return !heldHere.has(path);
  return ownerState(owner) === 'dead';
}

async function tryCreate(path: string, body: string): Promise<boolean> {
  const tmp = tempName(path);
  await writeFile(tmp, body, { flag: 'wx' });
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Removes `path` if it still holds the dead owner's text; restores it if another process took it meanwhile. */
async function breakStale(path: string, seen: string): Promise<void> {
  const aside = tempName(path);
  try {
    await rename(path, aside);
  } catch (err) {
    if (isENOENT(err)) return;
    throw err;
  }
  const now = await readFile(aside, 'utf8').catch(() => '');
  if (now !== seen) await link(aside, path).catch(() => undefined);
  await rm(aside, { force: true });
}

export async function readLockText(path: string): Promise<string | undefined> {
  try {
    return await readRegularFile(path, 'lock file', true);
  } catch (err) {
    if (isENOENT(err)) return undefined;
    throw err;
  }
}

/** Takes the lock at `path`, waiting (with backoff) while another live holder has it. */
export async function acquireFileLock(path: string, options: LockOptions): Promise<FileLock> {
  const abs = resolve(path);
  const me = currentOwner();
  const body = JSON.stringify({
    owner: formatOwner(me),
    pid: me.pid,
    host: me.host,
    since: new Date().toISOString(),
  });
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let wait = 5;
  let waiting = false;
  for (;;) {
    throwIfAborted(options.signal);
    if (!heldHere.has(abs)) {
      // Claimed in-process before the first await, so no other caller here can mistake it for stale.
      heldHere.add(abs);
      let created = false;
      try {
        created = await tryCreate(abs, body);
      } finally {
        if (!created) heldHere.delete(abs);
      }
      if (created) return makeLock(abs);
      const text = await readLockText(abs);
      const owner = text === undefined ? undefined : lockOwner(text);
      if (text === undefined) continue;
      if (owner !== undefined && ownerIsDead(owner, abs)) {
        await breakStale(abs, text);
        continue;
      }
    }
    if (!waiting) options.onWait?.();
    waiting = true;
    if (Date.now() >= deadline) {
      throw new TsconvertError('UNAVAILABLE', `${options.what ?? abs} is locked by another writer`, {
        hint: `if no tsconvert process is running, remove ${abs}`,
      });
    }
    await sleep(wait + Math.floor(Math.random() * wait), options.signal);
    wait = Math.min(wait * 2, 200);
  }
}

function makeLock(abs: string): FileLock {
  let released = false;
  return {
    path: abs,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      // Remove the file before dropping the in-process claim, so no waiter here reads it as stale.
      try {
        await rm(abs, { force: true });
      } finally {
        heldHere.delete(abs);
      }
    },
  };
}
