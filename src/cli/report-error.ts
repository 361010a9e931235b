// Errors end the run here, in one place: a known error prints one line naming what failed and what to do;
// anything else prints its message (and with --debug, the stack). Returns the exit code.

import { TsconvertError } from '../errors.js';

export interface ErrorOutput {
  stderr: NodeJS.WritableStream;
  debug: boolean;
  json: boolean;
}

function describeError(err: unknown): string {
  if (err instanceof TsconvertError) return err.hint ? `${err.message}; ${err.hint}` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function reportError(err: unknown, out: ErrorOutput): number {
  const line = describeError(err);
  if (out.json) {
    const code = err instanceof TsconvertError ? err.code : 'INTERNAL';
    out.stderr.write(`${JSON.stringify({ level: 50, time: Date.now(), code, msg: line })}\n`);
  } else {
    out.stderr.write(`tsconvert: error: ${line}\n`);
  }
  if (out.debug && err instanceof Error && err.stack) out.stderr.write(`${err.stack}\n`);
  if (out.debug && err instanceof Error && err.cause instanceof Error && err.cause.stack) {
    out.stderr.write(`caused by: ${err.cause.stack}\n`);
  }
  return 1;
}
