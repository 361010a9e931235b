// vitest globalSetup: makes sure the external tools exist (scripts/ensure-tools.sh; a failure fails the run,
// integration tests never skip silently), starts a private containerd on its own socket in a fresh
// directory under /tmp, provides its address, log and directory to the tests, and stops and removes it
// afterwards. TSCONVERT_TEST_ADDRESS=<socket> uses an already running daemon instead (for debugging).
// Every vitest project that needs containerd lists this file (the containerd and big tiers, see
// vitest.config.ts): the first one to set up starts the daemon, the others share it, the last one stops it.
// It also points XDG_CACHE_HOME (inherited by the test workers and the CLIs they run) at a fresh directory,
// removed at the end, so no test writes reuse records of registry destinations into the real home.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const run = promisify(execFile);
const scripts = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts');

declare module 'vitest' {
  export interface ProvidedContext {
    /** Socket of the containerd the tests talk to. */
    containerdAddress: string;
    /** Its log file ('' when an external daemon is used). */
    containerdLog: string;
    /** Its private directory ('' when an external daemon is used). */
    containerdDir: string;
  }
}

async function script(name: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('bash', [join(scripts, name), ...args], { timeout: 600_000 });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`scripts/${name} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, {
      cause: err,
    });
  }
}

interface Daemon {
  address: string;
  log: string;
  dir: string;
}

// Shared through globalThis: vitest may load this file once per project.
const shared = globalThis as {
  tsconvertTestContainerd?: { daemon: Promise<Daemon>; users: number; cache: string };
};

async function startDaemon(): Promise<Daemon> {
  const external = process.env.TSCONVERT_TEST_ADDRESS;
  if (external !== undefined && external !== '') return { address: external, log: '', dir: '' };
  await script('ensure-tools.sh', []);
  // Short path: the socket must fit in a unix socket address (108 bytes).
  const dir = await mkdtemp('/tmp/tsc-');
  try {
    const socket = await script('containerd-private.sh', ['start', dir]);
    return { address: socket, log: join(dir, 'containerd.log'), dir };
  } catch (err) {
    // The start script already printed the log tail into the error; do not leave the directory behind.
    await script('containerd-private.sh', ['stop', dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

export async function setup(project: TestProject): Promise<void> {
  let state = shared.tsconvertTestContainerd;
  if (state === undefined) {
    const cache = await mkdtemp('/tmp/tsc-cache-');
    process.env.XDG_CACHE_HOME = cache;
    state = { daemon: startDaemon(), users: 0, cache };
    shared.tsconvertTestContainerd = state;
    state.daemon.catch(() => (shared.tsconvertTestContainerd = undefined));
  }
  const daemon = await state.daemon;
  state.users++;
  project.provide('containerdAddress', daemon.address);
  project.provide('containerdLog', daemon.log);
  project.provide('containerdDir', daemon.dir);
}

export async function teardown(): Promise<void> {
  const state = shared.tsconvertTestContainerd;
  if (state === undefined || --state.users > 0) return;
  shared.tsconvertTestContainerd = undefined;
  await rm(state.cache, { recursive: true, force: true });
  const { dir } = await state.daemon;
  if (dir === '') return;
  try {
    await script('containerd-private.sh', ['stop', dir]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
