// Runs a tool for the real-client helpers: resolves with its output, rejects with one message naming the
// command, its exit status and the end of its stderr. Every call has a deadline.
import { execFile } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** A failed run; `stderr` is all of it (the message has its end only). */
export class RunError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'RunError';
  }
}

export function run(
  cmd: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        env: options.env ?? process.env,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 300_000,
        maxBuffer: 256 << 20,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (err === null) return resolve({ stdout, stderr });
        const tail = stderr.trim().split('\n').slice(-8).join('\n');
        reject(
          new RunError(
            `${cmd} ${args.join(' ')} failed (${String(err.code ?? err.signal)}): ${tail}`,
            stderr,
          ),
        );
      },
    );
  });
}
