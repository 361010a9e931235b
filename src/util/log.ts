// The logging surface the core and the backends see: pino-compatible (object first, message second) so the
// CLI can pass its pino logger, and tests can pass `silentLogger` or a recording one.

export interface LogFn {
  (obj: Record<string, unknown>, msg: string): void;
  (msg: string): void;
}

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const noop = (): void => {};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
