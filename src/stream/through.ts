// Runs an async iterable through a Node Transform (a zlib or zstd codec) and gives back an async iterable,
// with errors from either side surfacing in the consumer's loop and backpressure kept end to end.

import { pipeline, Readable, type Transform } from 'node:stream';

export function through(source: AsyncIterable<Uint8Array>, transform: Transform): AsyncIterable<Uint8Array> {
  // The callback is required by the API; errors reach the consumer because pipeline destroys the transform.
  return pipeline(
    Readable.from(source, { objectMode: false }),
    transform,
    () => {},
  ) as AsyncIterable<Uint8Array>;
}
