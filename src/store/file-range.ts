// Shared by the ContentStore implementations whose blobs are plain files (an OCI layout, and containerd's
// content directory when this process can read it, src/containerd/blob-files.ts): the byte range a read
// covers, by the contract's offset/size rules, and the range streamed in 1 MiB chunks: fresh ones read as
// the consumer asks for them, or (for a consumer done with each chunk once it asks for the next) two
// buffers read into in turn. File errors are passed on as they are; callers name them.

import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { abortError, TsconvertError } from '../errors.js';

/** Read chunk size: large enough to keep syscalls few, small enough to bound memory per reader. */
const FILE_READ_CHUNK = 1 << 20;
/**
 * Chunk size when the two buffers are reused: smaller, so the gunzip output each piece makes at once
 * (~4× its size) is handed on before V8's next young-generation collection would move it to the old one.
 */
const REUSED_READ_CHUNK = 256 << 10;

export interface ByteRange {
  start: number;
  /** Exclusive. */
  end: number;
}

/** The range a read at `offset` of `size` bytes (omitted: to the end) covers in a blob of `blobSize` bytes. */
export function readRange(what: string, blobSize: number, offset = 0, size?: number): ByteRange {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > blobSize) {
    throw new TsconvertError(
      'OUT_OF_RANGE',
      `read of ${what} at offset ${offset}: blob has ${blobSize} bytes`,
    );
  }
  return { start: offset, end: size === undefined ? blobSize : Math.min(blobSize, offset + size) };
}

/**
 * The bytes of `range` of a file (a path, or an open handle this call then owns and closes). With `reuse`,
 * each chunk is a view of one of two buffers, valid until the next chunk is asked for.
 */
export async function* fileChunks(
  file: string | FileHandle,
  range: ByteRange,
  signal: AbortSignal,
  reuse = false,
): AsyncGenerator<Buffer> {
  if (range.end <= range.start) {
    if (typeof file !== 'string') await file.close();
    return;
  }
  if (reuse) {
    yield* reusedChunks(typeof file === 'string' ? await open(file, 'r') : file, range, signal);
    return;
  }
  const options = { start: range.start, end: range.end - 1, highWaterMark: FILE_READ_CHUNK, signal };
  const stream = typeof file === 'string' ? createReadStream(file, options) : file.createReadStream(options);
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    if (signal.aborted) throw abortError(signal);
    throw err;
  } finally {
    stream.destroy();
  }
}

/**
 * The range read into two buffers in turn: the next chunk is read while the consumer has the current one,
 * and a buffer is read into again only once the consumer has asked for the chunk after the one it held.
 */
async function* reusedChunks(fh: FileHandle, range: ByteRange, signal: AbortSignal): AsyncGenerator<Buffer> {
  const size = Math.min(REUSED_READ_CHUNK, range.end - range.start);
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  const readAt = async (i: number, position: number): Promise<Buffer> => {
    const buffer = buffers[i % 2] as Buffer;
    const length = Math.min(buffer.length, range.end - position);
    const { bytesRead } = await fh.read(buffer, 0, length, position);
    return buffer.subarray(0, bytesRead);
  };
  // The read ahead is always awaited (or its failure observed) before this generator settles.
  let next: Promise<Buffer> | undefined = readAt(0, range.start);
  try {
    for (let i = 0, position = range.start; next !== undefined; i++) {
      if (signal.aborted) throw abortError(signal);
      const chunk: Buffer = await next;
      next = undefined;
      // A file cut short since its size was read ends the stream early, as a read stream would: the
      // caller's size and digest checks say what is wrong.
      if (chunk.length === 0) return;
      position += chunk.length;
      if (position < range.end) next = readAt(i + 1, position);
      yield chunk;
    }
  } finally {
    await next?.catch(() => undefined);
    await fh.close();
  }
}
