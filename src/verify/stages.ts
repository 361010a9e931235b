// Which check an error fails. A layer whose bytes do not decode, scan or match is a finding about that
// layer; a store that cannot be read (daemon gone, permission denied) or a cancelled run is not, and must
// end the run with its own error. Errors are marked where they arise, so they keep their meaning after
// passing through the decoder and scanner stages.

import { isErrorCode } from '../errors.js';
import type { CheckName } from './findings.js';

/** An error that fails `check` of the layer being verified. */
export class StageError extends Error {
  constructor(
    readonly check: CheckName,
    readonly inner: unknown,
  ) {
    super(inner instanceof Error ? inner.message : String(inner));
  }
}

/** An error of the store itself, carried unchanged through the stages and rethrown as it was. */
export class StoreError extends Error {
  constructor(readonly inner: unknown) {
    super(inner instanceof Error ? inner.message : String(inner));
  }
}

function passesThrough(err: unknown): boolean {
  return err instanceof StageError || err instanceof StoreError || isErrorCode(err, 'CANCELLED');
}

/** Errors of `source` fail `check`, unless they are the store's or a cancellation. */
export async function* tagged<T>(source: AsyncIterable<T>, check: CheckName): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (err) {
    if (passesThrough(err)) throw err;
    throw new StageError(check, err);
  }
}

/** The same, for one awaited step. */
export async function taggedStep<T>(check: CheckName, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (passesThrough(err)) throw err;
    throw new StageError(check, err);
  }
}

/** A store read whose errors are marked as the store's. */
export async function* fromStore(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* source;
  } catch (err) {
    if (isErrorCode(err, 'CANCELLED')) throw err;
    throw new StoreError(err);
  }
}

/** The original error of a store failure; anything else unchanged. */
export function unwrapStoreError(err: unknown): unknown {
  return err instanceof StoreError ? err.inner : err;
}
