// `--progress auto|tty|plain|none` and `--quiet`: picks the progress view for a run and builds the logger
// that writes around it. `auto` draws in place when stderr is a terminal (and logs are text), and prints a
// line per layer state change otherwise. `--quiet` keeps errors only: log level "error" and, unless a
// progress mode was asked for, no progress. stdout is never touched: it carries the result alone.

import type { LayerEventSink } from '../convert/progress.js';
import type { Logger } from '../util/log.js';
import { createCliLogger, type LineSink, type LogFormat } from './logger.js';
import { PlainProgress } from './progress-plain.js';
import type { TtyStream } from './progress-tty.js';

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

/**
 * The logger and progress view of one command. The terminal view (and log-update with its dependencies,
 * slower to load than the rest of the CLI) is loaded only when it is used.
 */
export async function openOutput(
  flags: OutputFlags,
  stderr: NodeJS.WritableStream & TtyStream,
): Promise<CommandOutput> {
  const mode = resolveMode(flags, stderr);
  if (mode === 'tty') {
    const { TtyProgress } = await import('./progress-tty.js');
    const view = new TtyProgress(stderr);
    return { logger: commandLogger(flags, { write: (s: string) => view.write(s) }), progress: view };
  }
  const logger = commandLogger(flags, stderr);
  return { logger, progress: mode === 'plain' ? new PlainProgress(logger) : undefined };
}

/** The logger of a command without progress: errors only with --quiet, debug lines with --debug. */
export function commandLogger(flags: OutputFlags, out: LineSink): Logger {
  return createCliLogger(flags.logFormat, flags.quiet ? 'error' : flags.debug ? 'debug' : 'info', out);
}
