// Runs the built tsconvert binary (dist/bin/tsconvert.js) under the project's Node, with the Node flags of
// its shebang line, as a user's shell would.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { binNodeFlags } from '../../scripts/bin-flags.js';

export const NODE = resolve('node_modules/.bin/node');
export const BIN = resolve('dist/bin/tsconvert.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  done: Promise<CliResult>;
}

/**
 * Runs the binary with stderr on a pipe. Progress lines (plain mode, the default off a terminal) are off
 * unless `env` or the arguments ask for them, so tests that count stderr lines see only logs and errors;
 * test/e2e/progress.test.ts covers the progress views.
 */
export function startTsconvert(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const child = spawn(NODE, [...binNodeFlags(BIN), BIN, ...args], {
    env: { ...process.env, TSCONVERT_PROGRESS: 'none', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr }));
  });
  return { child, stderr: () => stderr, done };
}

export function tsconvert(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startTsconvert(args, env).done;
}
