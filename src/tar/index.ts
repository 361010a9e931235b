// Public surface of the tar scanner. `scanTar` reads uncompressed tar bytes from any async iterable of
// chunks and yields events whose bytes, concatenated in order, are the input exactly:
//
//   for await (const ev of scanTar(fs.createReadStream(layerPath), { signal })) {
//     switch (ev.kind) {
//       case 'member':  // ev.header: all header blocks of ev.member (extension headers included)
//       case 'payload': // ev.data: a view of an input chunk, never copied
//       case 'padding': // zero bytes up to the next 512-byte boundary
//       case 'trailer': // end-of-archive blocks and anything after them, streamed
//       case 'end':     // ev.summary: how the archive ended, facts for docs/format.md#fallback-to-plain-zstd
//     }
//   }
//
// Values are those of Go's archive/tar as forked by vbatts/tar-split (what containers/storage checks a TOC
// against). Events hold views of the input chunks, so the source must not reuse a chunk's memory after
// yielding it (Node streams never do). `scanTarBatches` yields the same events in arrays, one per stretch
// of input the scanner could handle without waiting, for consumers that handle events synchronously.
export { scanTar, scanTarBatches, type ScanTarOptions } from './scanner.js';
export { formatRfc3339, GO_ZERO_TIME_SECONDS, type TarTime } from './time.js';
export { MAX_HEADER_BLOCKS_PER_MEMBER } from './limits.js';
export type { HeaderFormat } from './header.js';
export type { PaxRecords } from './pax.js';
export type * from './types.js';
