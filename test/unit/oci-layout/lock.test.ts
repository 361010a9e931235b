// The layout lock file: serialises holders in one process and across processes, breaks a lock whose owner
// died (by src/util/run-owner.ts; test/reliability/layout-locks.test.ts has the PID-reuse cases), waits (then fails with UNAVAILABLE) while a live process holds it, and stops waiting on abort.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireFileLock } from '../../../src/oci-layout/lock.js';
import { currentOwner, formatOwner } from '../../../src/util/run-owner.js';
import { sig } from '../../helpers/oci-sample.js';

describe('layout lock file', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsconvert-lock-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('serialises holders in one process', async () => {
    const path = join(tmp, 'serial.lock');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const lock = await acquireFileLock(path, { signal: sig() });
        inside++;
        most = Math.max(most, inside);
        await new Promise((r) => setTimeout(r, 5));
        inside--;
        await lock.release();
      }),
    );
    expect(most).toBe(1);
  });

  it('breaks a lock left by a dead process', async () => {
    const path = join(tmp, 'stale.lock');
    const dead = spawnSync(process.execPath, [
      '-e',
      'process.stdout.write(String(process.pid))',
    ]).stdout.toString();
    await writeFile(path, JSON.stringify({ owner: formatOwner({ ...currentOwner(), pid: Number(dead) }) }));
    const started = Date.now();
    const lock = await acquireFileLock(path, { signal: sig(), timeoutMs: 2000 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it('waits for a live holder, then fails with UNAVAILABLE naming the lock file', async () => {
    const path = join(tmp, 'live.lock');
    const holder = spawn('sleep', ['30']);
    try {
      const owner = formatOwner({ ...currentOwner(), pid: holder.pid ?? 0, start: '' });
      await writeFile(path, JSON.stringify({ owner }));
      await expect(acquireFileLock(path, { signal: sig(), timeoutMs: 300 })).rejects.toMatchObject({
        code: 'UNAVAILABLE',
        hint: expect.stringContaining(path),
      });
      const ctl = new AbortController();
      setTimeout(() => ctl.abort(new Error('user pressed ^C')), 50);
      await expect(acquireFileLock(path, { signal: ctl.signal })).rejects.toMatchObject({
        code: 'CANCELLED',
      });
    } finally {
      holder.kill();
    }
  });
});
