// Shared steps of the OCI-layout fault scenarios: a fresh work directory and $TMPDIR per test, the binary
// run with that $TMPDIR, read-only mounts made with the real mount(8), and the checks every scenario ends
// with (one clear error line, nothing left in $TMPDIR or beside the target).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { startTsconvert, tsconvert, type CliResult, type CliRun } from '../helpers/cli.js';

export const SAMPLE = resolve('examples/sample.tar');

export interface Scenario {
  /** A fresh directory for sources and destinations. */
  dir: string;
  /** The $TMPDIR the binary runs with (empty at the start). */
  tmp: string;
  run(args: readonly string[]): Promise<CliResult>;
  start(args: readonly string[]): CliRun;
  /** Mounts a read-only tmpfs at a new directory `name` under `dir` (unmounted by cleanup()). */
  readOnlyDir(name: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function scenario(): Promise<Scenario> {
  const dir = await mkdtemp(join(tmpdir(), 'tsc-rel-layout-'));
  const tmp = join(dir, 'tmp');
  await mkdir(tmp);
  const mounts: string[] = [];
  const env = { TMPDIR: tmp };
  return {
    dir,
    tmp,
    run: (args) => tsconvert(args, env),
    start: (args) => startTsconvert(args, env),
    async readOnlyDir(name) {
      const at = join(dir, name);
      await mkdir(at);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', at]);
      mounts.push(at);
      return at;
    },
    async cleanup() {
      for (const m of mounts.splice(0)) execFileSync('umount', [m]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The run failed with exit code 1 and exactly one line on stderr, an error line matching `pattern`. */
export function expectOneErrorLine(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tsconvert: error: /);
  expect(lines[0]).toMatch(pattern);
}

/** Names in `dir` (recursively, relative), for "nothing left" checks. */
export async function listTree(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const name = rel === '' ? e.name : `${rel}/${e.name}`;
    out.push(name);
    if (e.isDirectory()) out.push(...(await listTree(dir, name)));
  }
  return out.sort();
}

/** Total size of the regular files under `dir` (0 when it is gone). */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  let names: string[];
  try {
    names = await listTree(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    try {
      const st = await stat(join(dir, n));
      if (st.isFile()) total += st.size;
    } catch {
      // removed while counting
    }
  }
  return total;
}

/** Polls `probe` every 20 ms until it returns true; fails after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** skopeo, as the e2e tests run it (the fixtures are linux/amd64 whatever the host). */
export function skopeo(args: string[]): string {
  return execFileSync('skopeo', ['--override-os', 'linux', '--override-arch', 'amd64', ...args], {
    encoding: 'utf8',
  });
}

/** A PID that no process holds now: a child that has exited (and been reaped). */
export async function deadPid(): Promise<number> {
  const child = spawn('true', { stdio: 'ignore' });
  await new Promise((r) => child.on('close', r));
  return child.pid ?? 0;
}

/** A live process to stand for another run (or for a reused PID); `later` gets its kill. */
export function sleeper(later: Array<() => Promise<void>>): ChildProcess {
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  later.push(async () => void child.kill('SIGKILL'));
  return child;
}

/** A process's start time as run-owner records it (field 22 of /proc/PID/stat). */
export async function startTimeOf(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ')[19] ?? '';
}
