// A bounded buffer between a producer and a slow consumer: pulls from the source while the consumer is
// still busy with earlier chunks, so the two overlap instead of taking turns. Made for the content writer,
// whose write() waits for the daemon to acknowledge every byte: without it the encoder stood still for each
// round trip. What it holds it copies into one ring of `maxBytes` allocated once, so:
//   - the source may reuse a chunk's memory as soon as it is asked for the next one (the zstd:chunked
//     encoder hands out views of its frame slots that way);
//   - a chunk it yields is a view of the ring, valid until the consumer asks for the next one;
//   - no buffer is allocated per chunk: fresh buffers on the main thread cost V8 a full collection per
//     ~25 MB (measured on the bench image: ~100 of them per run, whatever the young generation's size).

export async function* readAhead(
  source: AsyncIterable<Uint8Array>,
  maxBytes: number,
): AsyncGenerator<Uint8Array> {
  // A chunk larger than the ring is handed on in pieces, so any bound works (0 is taken as 1 byte).
  const ring = new Uint8Array(Math.max(maxBytes, 1));
  // Views of the ring waiting for the consumer, oldest first; `held` bytes of the ring are in use (the
  // queued views and the one the consumer has), from `tail` on.
  const queue: Uint8Array[] = [];
  let tail = 0;
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

  /** Copies `chunk` into the ring, in pieces where it wraps or is larger than the room left. */
  async function store(chunk: Uint8Array): Promise<void> {
    for (let at = 0; at < chunk.length && !stopped;) {
      const head = (tail + held) % ring.length;
      // Contiguous room: up to the ring's end, or up to the tail when the used part wraps.
      const room = held === ring.length ? 0 : head >= tail ? ring.length - head : tail - head;
      if (room === 0) {
        await new Promise<void>((resolve) => (producerWaits = resolve));
        continue;
      }
      const n = Math.min(room, chunk.length - at);
      ring.set(chunk.subarray(at, at + n), head);
      queue.push(ring.subarray(head, head + n));
      held += n;
      at += n;
      wakeConsumer();
    }
  }

  const pump = (async () => {
    try {
      while (!stopped) {
        const r = await it.next();
        if (r.done) break;
        await store(r.value);
      }
    } catch (err) {
      failure = { err };
    } finally {
      ended = true;
      wakeConsumer();
    }
  })();

  try {
    let lent = 0;
    for (;;) {
      // The consumer is done with the view it had: its bytes are free again.
      if (lent > 0) {
        held -= lent;
        // An empty ring starts over at 0, so the next chunk need not be cut where the ring ends.
        tail = held === 0 ? 0 : (tail + lent) % ring.length;
        lent = 0;
        wakeProducer();
      }
      const chunk = queue.shift();
      if (chunk !== undefined) {
        lent = chunk.length;
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
