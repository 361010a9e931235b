// vitest globalSetup: makes sure the external tools exist (scripts/ensure-tools.sh; a failure fails the run,
// integration tests never skip silently), starts a private containerd on its own socket in a fresh
// directory under /tmp, provides its address, log and directory to the tests, and stops and removes it
// afterwards. TSCONVERT_TEST_ADDRESS=<socket> uses an already running daemon instead (for debugging).
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

let privateDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  const external = process.env.TSCONVERT_TEST_ADDRESS;
  if (external !== undefined && external !== '') {
    project.provide('containerdAddress', external);
    project.provide('containerdLog', '');
    project.provide('containerdDir', '');
    return;
  }
  await script('ensure-tools.sh', []);
  // Short path: the socket must fit in a unix socket address (108 bytes).
  const dir = await mkdtemp('/tmp/tsc-');
  let socket: string;
  try {
    socket = await script('containerd-private.sh', ['start', dir]);
  } catch (err) {
    // The start script already printed the log tail into the error; do not leave the directory behind.
    await script('containerd-private.sh', ['stop', dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  privateDir = dir;
  project.provide('containerdAddress', socket);
  project.provide('containerdLog', join(dir, 'containerd.log'));
  project.provide('containerdDir', dir);
}

export async function teardown(): Promise<void> {
  if (privateDir === undefined) return;
  const dir = privateDir;
  privateDir = undefined;
  try {
    await script('containerd-private.sh', ['stop', dir]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
