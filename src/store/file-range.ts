// Shared by the ContentStore implementations whose blobs are plain files (an OCI layout, and containerd's
// content directory when this process can read it, src/containerd/blob-files.ts): the byte range a read
// covers, by the contract's offset/size rules, and the range streamed in 1 MiB chunks, each read only when
// the consumer asks for it. File errors are passed on as they are; callers name them.

import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { abortError, TsconvertError } from '../errors.js';

/** Read chunk size: large enough to keep syscalls few, small enough to bound memory per reader. */
const FILE_READ_CHUNK = 1 << 20;

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

/** The bytes of `range` of a file (a path, or an open handle this call then owns and closes). */
export async function* fileChunks(
  file: string | FileHandle,
  range: ByteRange,
  signal: AbortSignal,
): AsyncGenerator<Buffer> {
  if (range.end <= range.start) {
    if (typeof file !== 'string') await file.close();
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
