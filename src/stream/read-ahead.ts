// A bounded buffer between a producer and a slow consumer: pulls from the source while the consumer is
// still busy with earlier chunks, up to `maxBytes` held, so the two overlap instead of taking turns. Made
// for the content writer, whose write() waits for the daemon to acknowledge every byte: without it the
// encoder stood still for each round trip. Chunks must not be reused by the source once yielded.

export async function* readAhead(
  source: AsyncIterable<Uint8Array>,
  maxBytes: number,
): AsyncGenerator<Uint8Array> {
  const queue: Uint8Array[] = [];
  let held = 0;
  let ended = false;
  let failure: { err: unknown } | undefined;
  let stopped = false;
  // Who is parked waiting for the other side, if anyone; waking clears it.
  let consumerWaits: (() => void) | undefined;
  let producerWaits: (() => void) | undefined;
  const wakeConsumer = (): void => {
    consumerWaits?.();
    consumerWaits = undefined;
  };
  const wakeProducer = (): void => {
    producerWaits?.();
    producerWaits = undefined;
  };
  const it = source[Symbol.asyncIterator]();

  const pump = (async () => {
    try {
      while (!stopped) {
        // An empty queue always takes the next chunk, so a bound of 0 means no read-ahead, not a deadlock.
        if (held > 0 && held >= maxBytes) {
          await new Promise<void>((resolve) => (producerWaits = resolve));
          continue;
        }
        const r = await it.next();
        if (r.done) break;
        queue.push(r.value);
        held += r.value.byteLength;
        wakeConsumer();
      }
    } catch (err) {
      failure = { err };
    } finally {
      ended = true;
      wakeConsumer();
    }
  })();

  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk !== undefined) {
        held -= chunk.byteLength;
        wakeProducer();
        yield chunk;
        continue;
      }
      if (failure !== undefined) throw failure.err;
      if (ended) return;
      await new Promise<void>((resolve) => (consumerWaits = resolve));
    }
  } finally {
    stopped = true;
    wakeProducer();
    await pump;
    // Lets the source run its own clean-up when the consumer stopped first (a failed source already did).
    if (failure === undefined) await it.return?.();
  }
}
