// The zstd-napi package's home (with frame-decoder.ts, which decodes with its binding): the streaming
// encoder as a Node Transform stream, and the decoder's limits. Decoding is frame-decoder.ts's, pulled
// piece by piece: it handles multi-frame input and skippable frames (every zstd:chunked layer has both);
// node:zlib's zstd decoder stops at the second frame (nodejs/node#64741), and zstd-napi's DecompressStream
// decodes each written piece whole, whatever its reader asked for.

import type { Transform } from 'node:stream';
import { CompressStream } from 'zstd-napi';
import * as binding from 'zstd-napi/binding.js';

/**
 * Largest match window the decoder accepts, as log2 bytes. 27 (128 MiB) covers `zstd --long` output;
 * a larger window would let a hostile layer make the decoder allocate gigabytes.
 */
export const ZSTD_MAX_WINDOW_LOG = 27;

/**
 * Memory libzstd's multithreaded compressor adds at level 3: a base for the first worker and its job
 * buffers, then about 8 MiB per further worker (measured: 36 MiB with 1 worker, 62 with 4, 93 with 8).
 */
export const ZSTD_MT_BASE_BYTES = 28 << 20;
export const ZSTD_MT_THREAD_BYTES = 8 << 20;

/**
 * A streaming compressor producing one zstd frame, like `zstd -<level>`. With `threads` > 0, libzstd
 * compresses on that many threads of its own, off the JavaScript thread; its output does not depend on
 * how many (zstd's multithreaded mode is deterministic for a given level).
 */
export function createZstdEncoder(level: number, threads = 0): Transform {
  return new CompressStream({
    compressionLevel: level,
    checksumFlag: true,
    ...(threads > 0 ? { nbWorkers: threads } : {}),
  });
}

/** The version of the libzstd tsconvert links (its output may change between versions). */
export function zstdVersion(): string {
  // The binding is a CommonJS native module: ESM sees its exports as the default export only.
  return (binding as unknown as { default: typeof binding }).default.versionString();
}
