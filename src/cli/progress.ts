// `--progress auto|tty|plain|none` and `--quiet`: picks the progress view for a run and builds the logger
// that writes around it. `auto` draws in place when stderr is a terminal (and logs are text), and prints a
// line per layer state change otherwise. `--quiet` keeps errors only: log level "error" and, unless a
// progress mode was asked for, no progress. stdout is never touched: it carries the result alone.

import type { LayerEventSink } from '../convert/progress.js';
import type { Logger } from '../util/log.js';
import { createCliLogger, type LogFormat } from './logger.js';
import { PlainProgress } from './progress-plain.js';
import { TtyProgress, type TtyStream } from './progress-tty.js';

export const PROGRESS_MODES = ['auto', 'tty', 'plain', 'none'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

export interface OutputFlags {
  logFormat: LogFormat;
  debug: boolean;
  quiet: boolean;
  progress: ProgressMode;
  /** Whether --progress was on the command line (TSCONVERT_PROGRESS does not override --quiet). */
  progressGiven: boolean;
}

/** What the run reports its layers to; stop() ends the display before the result is printed. */
export interface Progress {
  readonly sink: LayerEventSink;
  stop(): void;
}

export interface CommandOutput {
  logger: Logger;
  progress: Progress | undefined;
}

/** The view `mode` means on this stderr. */
export function resolveMode(
  flags: OutputFlags,
  stderr: TtyStream,
  term = process.env.TERM,
): 'tty' | 'plain' | 'none' {
  if (flags.quiet && !flags.progressGiven) return 'none';
  if (flags.progress !== 'auto') return flags.progress;
  const terminal = stderr.isTTY === true && term !== 'dumb' && flags.logFormat === 'text';
  return terminal ? 'tty' : 'plain';
}

/** The logger and progress view of one command. */
export function openOutput(flags: OutputFlags, stderr: NodeJS.WritableStream & TtyStream): CommandOutput {
  const level = flags.quiet ? 'error' : flags.debug ? 'debug' : 'info';
  const mode = resolveMode(flags, stderr);
  if (mode === 'tty') {
    const view = new TtyProgress(stderr);
    const logger = createCliLogger(flags.logFormat, level, { write: (s: string) => view.write(s) });
    return { logger, progress: view };
  }
  const logger = createCliLogger(flags.logFormat, level, stderr);
  return { logger, progress: mode === 'plain' ? new PlainProgress(logger) : undefined };
}
