// Public surface of the tar scanner (see scanner.ts for the event stream).
export { scanTar, type ScanTarOptions } from './scanner.js';
export { formatRfc3339, isRfc3339Representable, GO_ZERO_TIME_SECONDS, type TarTime } from './time.js';
export {
  BLOCK_SIZE,
  MAX_GNU_LONG_NAME_SIZE,
  MAX_HEADER_BLOCKS_PER_MEMBER,
  MAX_PAX_HEADER_SIZE,
} from './limits.js';
export type { HeaderFormat } from './header.js';
export type { PaxRecords } from './pax.js';
export type * from './types.js';
