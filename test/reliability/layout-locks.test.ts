// The layout lock's stale-lock rule (src/oci-layout/lock.ts): a lock is broken only when its holder is surely
// dead by src/util/run-owner.ts. Lock files are written as a holder would have left them; the holders are
// real processes (a `sleep` whose PID stands for "the PID was reused") or PIDs that no longer exist.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireFileLock } from '../../src/oci-layout/lock.js';
import { currentOwner, formatOwner, type RunOwner } from '../../src/util/run-owner.js';
import { deadPid, sleeper, startTimeOf } from './layout-env.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function lockPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsc-rel-lock-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, '.tsconvert.lock');
}

/** A lock file as a holder `owner` leaves it (pid and host too, as earlier versions wrote them). */
async function leaveLock(path: string, owner: RunOwner): Promise<void> {
  const body = {
    owner: formatOwner(owner),
    pid: owner.pid,
    host: owner.host,
    since: new Date().toISOString(),
  };
  await writeFile(path, JSON.stringify(body));
}

const signal = new AbortController().signal;

describe('layout lock stale check', () => {
  it('breaks a lock whose PID now belongs to another process (start time differs)', async () => {
    const path = await lockPath();
    const reused = sleeper(cleanups);
    await leaveLock(path, { ...currentOwner(), pid: reused.pid ?? 0, start: '1' });
    const lock = await acquireFileLock(path, { signal, timeoutMs: 3000 });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ owner: formatOwner(currentOwner()) });
    await lock.release();
  });

  it('breaks a lock whose PID is gone on this host and PID namespace', async () => {
    const path = await lockPath();
    await leaveLock(path, { ...currentOwner(), pid: await deadPid(), start: '1' });
    const lock = await acquireFileLock(path, { signal, timeoutMs: 3000 });
    await lock.release();
  });

  it('never breaks a lock from another PID namespace, even when that PID is free here', async () => {
    const path = await lockPath();
    await leaveLock(path, { ...currentOwner(), pidNamespace: '1', pid: await deadPid(), start: '1' });
    await expect(acquireFileLock(path, { signal, timeoutMs: 1000, what: 'the test layout' })).rejects.toThrow(
      /the test layout is locked by another writer/,
    );
  });

  it('keeps a lock whose holder is alive', async () => {
    const path = await lockPath();
    const holder = sleeper(cleanups);
    const start = await startTimeOf(holder.pid ?? 0);
    await leaveLock(path, { ...currentOwner(), pid: holder.pid ?? 0, start });
    await expect(acquireFileLock(path, { signal, timeoutMs: 1000 })).rejects.toThrow(
      /locked by another writer/,
    );
  });
});
