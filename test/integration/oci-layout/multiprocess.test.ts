// Several writers on one layout at once (two child processes and two in-process writers) never lose an
// index.json entry; a writer killed with SIGKILL at arbitrary points never leaves index.json pointing at a
// missing or half-written blob, and the stale locks it leaves behind do not block the next writer.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOciLayout } from '../../../src/oci-layout/index.js';
import { sig, verifyLayout, writeSampleImage } from '../../helpers/oci-sample.js';

const here = fileURLToPath(new URL('.', import.meta.url));

function child(...args: string[]): ChildProcess {
  return spawn(
    process.execPath,
    ['--import', join(here, 'ts-hooks.ts'), join(here, 'layout-child.ts'), ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

async function finished(proc: ChildProcess): Promise<string> {
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(proc, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`child exited ${code}: ${err}`);
  return out;
}

/** Resolves once the child has printed `lines` "put" lines. */
async function waitForPuts(proc: ChildProcess, lines: number): Promise<void> {
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    proc.stdout?.on('data', (d: Buffer) => {
      seen += d
        .toString()
        .split('\n')
        .filter((l) => l.startsWith('put ')).length;
      if (seen >= lines) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
}

describe('several writers on one layout', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsconvert-multi-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('two processes and two in-process writers adding different refs never lose an entry', async () => {
    const dir = join(tmp, 'shared');
    const count = 12;
    const procs = [child('put', dir, 'proc-a', String(count)), child('put', dir, 'proc-b', String(count))];
    const local = async (prefix: string): Promise<void> => {
      const layout = await openOciLayout({ path: dir, mode: 'write', signal: sig() });
      for (let i = 0; i < count; i++) {
        const target = await writeSampleImage(layout.content, `${prefix}-${i}`, 2, 512);
        await layout.images.put({ name: `${prefix}-${i}`, labels: {}, target }, { signal: sig() });
      }
      await layout.close();
    };
    await Promise.all([...procs.map(finished), local('local-a'), local('local-b')]);
    const names = await verifyLayout(dir);
    const want = ['proc-a', 'proc-b', 'local-a', 'local-b'].flatMap((p) =>
      Array.from({ length: count }, (_, i) => `${p}-${i}`),
    );
    expect([...names].sort()).toEqual([...want].sort());
  });

  it('a writer killed mid-write leaves no entry pointing at a missing or partial blob', async () => {
    const dir = join(tmp, 'crash');
    for (let round = 0; round < 4; round++) {
      const proc = child('loop', dir, `crash${round}`);
      const exited = once(proc, 'exit');
      await waitForPuts(proc, 1 + round);
      await new Promise((r) => setTimeout(r, 5 + round * 17)); // land the kill at different phases
      proc.kill('SIGKILL');
      await exited;
      const names = await verifyLayout(dir);
      expect(names.filter((n) => n.startsWith(`crash${round}-`)).length).toBeGreaterThanOrEqual(1 + round);
    }
    // The dead writers' locks (index lock, ingest locks) are stale and must not block the next writer.
    const layout = await openOciLayout({ path: dir, mode: 'write', signal: sig() });
    const target = await writeSampleImage(layout.content, 'after-crash');
    const started = Date.now();
    await layout.images.put({ name: 'after-crash', labels: {}, target }, { signal: sig() });
    expect(Date.now() - started).toBeLessThan(5_000);
    await layout.close();
    expect(await verifyLayout(dir)).toContain('after-crash');
  });
});
