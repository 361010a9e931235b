// How a run says what it left behind (src/util/leftovers.ts): appended to the error line of a failed or
// interrupted run, as a warning after a successful one whose clean-up did not finish, and as the last line
// when a second signal ends the process at once.

import { TsconvertError } from '../errors.js';
import { Leftovers } from '../util/leftovers.js';

export { Leftovers };

/** "left behind: lease X (…), ingest Y; …", or undefined when nothing is left. */
export function leftoversText(items: readonly string[], destination?: string): string | undefined {
  if (items.length === 0) return undefined;
  const how =
    destination === undefined
      ? '`tsconvert cleanup` on the same destination removes them once this process has ended'
      : `\`tsconvert cleanup ${destination}\` (with the same global flags) removes them now`;
  return `left behind: ${items.join(', ')}; ${how}`;
}

/** The error with what the run left behind added to its hint (one line still). */
export function withLeftovers(err: unknown, items: readonly string[], destination: string): unknown {
  const text = leftoversText(items, destination);
  if (text === undefined) return err;
  if (err instanceof TsconvertError) {
    const hint = err.hint === undefined ? text : `${err.hint}; ${text}`;
    return new TsconvertError(err.code, err.message, { cause: err.cause ?? err, hint });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new TsconvertError('INTERNAL', message, { cause: err, hint: text });
}

/** The last line when a second signal ends the process before its clean-up finished. */
export function interruptedAgain(signal: string, leftovers: Leftovers): string {
  const text = leftoversText(leftovers.list());
  return `tsconvert: error: interrupted again by ${signal}, stopping at once${text === undefined ? '' : `; ${text}`}\n`;
}
