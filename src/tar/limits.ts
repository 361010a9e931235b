// Limits for untrusted tar input. A layer is hostile: every size read from it is checked against one of
// these before anything is allocated or read, so a crafted header can neither exhaust memory nor make the
// scanner loop without consuming input.

/** Size of one tar block; headers, extension data and padding are counted in these. */
export const BLOCK_SIZE = 512;

/**
 * Largest data section of a PAX `x` or `g` header that is read into memory (Go's archive/tar caps these
 * "special files" at 1 MiB too; vbatts/tar-split's fork does not cap them at all).
 */
export const MAX_PAX_HEADER_SIZE = 1 << 20;

/** Largest data section of a GNU `L` (long name) or `K` (long link) header. */
export const MAX_GNU_LONG_NAME_SIZE = 1 << 20;

/**
 * Most 512-byte blocks of header data one member may carry: its own header, the extension headers before
 * it and their data and padding, and old-GNU sparse extension blocks. 8 MiB leaves room for a maximal PAX
 * header plus maximal long name and link; an endless chain of extension headers stops here.
 */
export const MAX_HEADER_BLOCKS_PER_MEMBER = 16_384;
