// The CLI's logger: pino writing to fd 2. `--log-format json` gives pino's JSON lines as they are; the
// default renders each record as one readable line ("tsconvert: warning: ..."). The only home of pino.

import { pino } from 'pino';
import type { Logger } from '../util/log.js';

export type LogFormat = 'text' | 'json';

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
function renderTextLine(line: string, withFields: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = LEVEL_WORDS[Number(rec.level)] ?? 'info';
  let text = `tsconvert: ${level === 'info' ? '' : `${level}: `}${String(rec.msg ?? '')}`;
  if (withFields) {
    for (const [k, v] of Object.entries(rec)) {
      if (!HIDDEN_KEYS.has(k)) text += ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
    }
  }
  return `${text}\n`;
}

export function createCliLogger(
  format: LogFormat,
  debug: boolean,
  stderr: NodeJS.WritableStream = process.stderr,
): Logger {
  const level = debug ? 'debug' : 'info';
  if (format === 'json') {
    return pino({ level, base: { pid: process.pid } }, { write: (line: string) => void stderr.write(line) });
  }
  return pino(
    { level, base: null, timestamp: false },
    { write: (line: string) => void stderr.write(renderTextLine(line, debug)) },
  );
}
