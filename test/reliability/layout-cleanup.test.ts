// cleanupDeadRuns of the OCI-layout backend removes only what dead runs left: temp files, ingests and
// archive work directories whose owner src/util/run-owner.ts calls 'dead'. Leftovers of a live run, of
// another PID namespace (unknown) and files without an owner token are kept. Owners are real processes
// (a running `sleep`) or PIDs that have exited.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openOciLayout } from '../../src/oci-layout/backend.js';
import { currentOwner, formatOwner, type RunOwner } from '../../src/util/run-owner.js';
import { deadPid, sleeper, startTimeOf } from './layout-env.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
const signal = new AbortController().signal;

/** An ingest directory as a run `owner` leaves it: data, meta.json and (when `locked`) the lock. */
async function leaveIngest(root: string, name: string, owner: RunOwner, locked: boolean): Promise<string> {
  const dir = join(root, '.tsconvert-ingest', name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'data'), 'partial layer bytes');
  await writeFile(join(dir, 'meta.json'), JSON.stringify({ ref: name, owner: formatOwner(owner) }));
  if (locked) await writeFile(join(dir, 'lock'), JSON.stringify({ owner: formatOwner(owner) }));
  return dir;
}

describe('OCI layout cleanupDeadRuns', () => {
  it("removes dead runs' leftovers in a layout and $TMPDIR, and keeps live, unknown and foreign ones", async () => {
    const base = await mkdtemp(join(tmpdir(), 'tsc-rel-cleanup-'));
    cleanups.push(() => rm(base, { recursive: true, force: true }));
    const root = join(base, 'layout');
    const temp = join(base, 'tmp');
    await mkdir(temp);
    const layout = await openOciLayout({ path: root, mode: 'write', signal, tempDir: temp });
    cleanups.push(() => layout.close());
    const live = sleeper(cleanups);
    const dead: RunOwner = { ...currentOwner(), pid: await deadPid(), start: '1' };
    const reused: RunOwner = { ...currentOwner(), pid: live.pid ?? 0, start: '1' };
    const alive: RunOwner = {
      ...currentOwner(),
      pid: live.pid ?? 0,
      start: await startTimeOf(live.pid ?? 0),
    };
    const otherNs: RunOwner = { ...dead, pidNamespace: '1' };
    const tok = (o: RunOwner): string => formatOwner(o);
    await writeFile(join(root, `.index.json.tmp-${tok(dead)}-0123456789ab`), 'x');
    await writeFile(join(root, `.index.json.tmp-${tok(reused)}-0123456789ab`), 'x');
    await writeFile(join(root, `.index.json.tmp-${tok(alive)}-0123456789ab`), 'x');
    await writeFile(join(root, `.index.json.tmp-${tok(otherNs)}-0123456789ab`), 'x');
    await writeFile(join(root, `.index.json.tmp-1234-0123456789ab`), 'x');
    await leaveIngest(root, 'killed-while-writing', dead, true);
    await leaveIngest(root, 'interrupted-then-killed', dead, false);
    await leaveIngest(root, 'writing-now', alive, true);
    await leaveIngest(root, 'other-namespace', otherNs, true);
    await mkdir(join(temp, `tsconvert-oci-${tok(dead)}-AbC123`));
    await writeFile(join(temp, `tsconvert-oci-${tok(dead)}-AbC123`, 'big'), 'x');
    await mkdir(join(temp, `tsconvert-oci-${tok(alive)}-AbC123`));
    await mkdir(join(temp, `tsconvert-oci-${tok(otherNs)}-AbC123`));
    await mkdir(join(temp, 'tsconvert-oci-XyZ789'));

    const lines = await layout.cleanupDeadRuns({ signal });
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line).toMatch(/^removed .*, left by dead run pid \d+ on /);
    expect((await readdir(root)).filter((n) => n.includes('.tmp-')).sort()).toEqual(
      [
        `.index.json.tmp-${tok(alive)}-0123456789ab`,
        `.index.json.tmp-${tok(otherNs)}-0123456789ab`,
        `.index.json.tmp-1234-0123456789ab`,
      ].sort(),
    );
    expect((await readdir(join(root, '.tsconvert-ingest'))).sort()).toEqual([
      'other-namespace',
      'writing-now',
    ]);
    expect((await readdir(temp)).sort()).toEqual(
      [
        `tsconvert-oci-${tok(alive)}-AbC123`,
        `tsconvert-oci-${tok(otherNs)}-AbC123`,
        'tsconvert-oci-XyZ789',
      ].sort(),
    );
    expect(await layout.cleanupDeadRuns({ signal })).toEqual([]);
  });
});
