// The CLI's logger: pino writing to fd 2. `--log-format json` gives pino's JSON lines as they are; the
// default renders each record as one readable line ("tsconvert: warning: ..."). The only home of pino.

import { pino } from 'pino';
import type { Logger } from '../util/log.js';
import { escapeForTerminal, escapeJsonForTerminal } from './escape.js';

export type LogFormat = 'text' | 'json';
/** `error` is --quiet, `debug` is --debug. */
export type LogLevel = 'error' | 'info' | 'debug';

/** Where log lines go: stderr, or the progress view that prints them above its block. */
export interface LineSink {
  write(text: string): unknown;
}

const LEVEL_WORDS: Readonly<Record<number, string>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warning',
  50: 'error',
  60: 'fatal',
};
const HIDDEN_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

/** One readable line for a pino JSON record; extra fields are appended as key=value (debug only). */
export function renderTextLine(line: string, withFields: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${escapeForTerminal(line.endsWith('\n') ? line.slice(0, -1) : line)}\n`;
  }
  const level = LEVEL_WORDS[Number(rec.level)] ?? 'info';
  let text = `tsconvert: ${level === 'info' ? '' : `${level}: `}${String(rec.msg ?? '')}`;
  if (withFields) {
    for (const [k, v] of Object.entries(rec)) {
      if (!HIDDEN_KEYS.has(k)) text += ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
    }
  }
  return `${escapeForTerminal(text)}\n`;
}

export function createCliLogger(
  format: LogFormat,
  level: LogLevel,
  stderr: LineSink = process.stderr,
): Logger {
  const debug = level === 'debug';
  if (format === 'json') {
    return pino(
      { level, base: { pid: process.pid } },
      { write: (line: string) => void stderr.write(escapeJsonForTerminal(line)) },
    );
  }
  return pino(
    { level, base: null, timestamp: false },
    { write: (line: string) => void stderr.write(renderTextLine(line, debug)) },
  );
}
