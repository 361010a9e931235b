// A source that reuses a piece's memory once asked for the next, as a file read into reused buffers or a
// decoder's ring does, and scribbles over it then: anything downstream that keeps a view too long reads
// garbage instead of passing by luck.

/** Yields `data` in pieces of the given sizes (cycling), each a view of one buffer reused for every piece. */
export async function* scribbling(data: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  const buffer = new Uint8Array(Math.max(...sizes));
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length] as number, data.length - at);
    buffer.set(data.subarray(at, at + n));
    yield buffer.subarray(0, n);
    buffer.fill(0xa5);
    at += n;
  }
}
