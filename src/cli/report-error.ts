// Errors end the run here, in one place: a known error prints one line naming what failed and what to do;
// anything else prints its message (and with --debug, the stack). Returns the exit code.

import { TsconvertError } from '../errors.js';
import { escapeForTerminal, escapeJsonForTerminal } from './escape.js';

export interface ErrorOutput {
  stderr: NodeJS.WritableStream;
  debug: boolean;
  json: boolean;
}

export function describeError(err: unknown): string {
  if (err instanceof TsconvertError) return err.hint ? `${err.message}; ${err.hint}` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function reportError(err: unknown, out: ErrorOutput): number {
  const line = describeError(err);
  if (out.json) {
    const code = err instanceof TsconvertError ? err.code : 'INTERNAL';
    out.stderr.write(
      `${escapeJsonForTerminal(JSON.stringify({ level: 50, time: Date.now(), code, msg: line }))}\n`,
    );
  } else {
    out.stderr.write(`tsconvert: error: ${escapeForTerminal(line)}\n`);
  }
  // Stacks keep their line breaks; only what is inside each line is escaped.
  const stack = (text: string): string => text.split('\n').map(escapeForTerminal).join('\n');
  if (out.debug && err instanceof Error && err.stack) out.stderr.write(`${stack(err.stack)}\n`);
  if (out.debug && err instanceof Error && err.cause instanceof Error && err.cause.stack) {
    out.stderr.write(`caused by: ${stack(err.cause.stack)}\n`);
  }
  return 1;
}
