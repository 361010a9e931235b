// Numeric fields of tar headers, read exactly as Go's archive/tar (vbatts/tar-split's fork) reads them:
// octal text trimmed of spaces and NULs and cut at the first NUL, or GNU base-256 two's complement when the
// first byte has its high bit set; values are int64, kept as bigint so nothing is rounded. Also Go's
// strconv.ParseInt for PAX decimal values and the header checksum. Fields are read in place in the header
// block (start and end offsets, no view per field): the scanner parses several per member.

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const SPACE = 0x20;
const SAFE_OCTAL_DIGITS = 17;

/** Returns the bytes of `field` up to (not including) the first NUL. */
export function cutAtNul(field: Uint8Array): Uint8Array {
  const i = field.indexOf(0);
  return i < 0 ? field : field.subarray(0, i);
}

/** Small values seen so far as bigint, so that common modes, ids and zeros are not allocated per header. */
const SMALL_BIGINT_LIMIT = 1 << 16;
const SMALL_BIGINTS = new Array<bigint | undefined>(SMALL_BIGINT_LIMIT);

function toBigInt(n: number): bigint {
  if (n >= SMALL_BIGINT_LIMIT) return BigInt(n);
  return (SMALL_BIGINTS[n] ??= BigInt(n));
}

/**
 * Octal digits of `bytes[start, end)` trimmed of spaces and NULs and cut at the first NUL, as a number
 * when there are at most 17 of them (51 bits, exact in a double); -1 for a bad digit, -2 for more digits.
 * Fields are read in place: no view is made per field.
 */
function octalNumber(bytes: Uint8Array, start: number, end: number): number {
  while (start < end && (bytes[start] === 0 || bytes[start] === SPACE)) start++;
  while (end > start && (bytes[end - 1] === 0 || bytes[end - 1] === SPACE)) end--;
  for (let i = start; i < end; i++) {
    if (bytes[i] === 0) {
      end = i;
      break;
    }
  }
  if (end - start > SAFE_OCTAL_DIGITS) return -2;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i] as number;
    if (c < 0x30 || c > 0x37) return -1;
    n = n * 8 + (c - 0x30);
  }
  return n;
}

/** Octal field `field[start, end)`; `undefined` when Go's parser would report an error. */
export function parseOctal(field: Uint8Array, start = 0, end = field.length): bigint | undefined {
  const n = octalNumber(field, start, end);
  if (n >= 0) return toBigInt(n);
  if (n === -1) return undefined;
  return octalBigInt(field.subarray(start, end));
}

/** An octal field of more than 17 digits (rare): bigint arithmetic, with Go's uint64 overflow check. */
function octalBigInt(field: Uint8Array): bigint | undefined {
  let start = 0;
  let end = field.length;
  while (start < end && (field[start] === 0 || field[start] === SPACE)) start++;
  while (end > start && (field[end - 1] === 0 || field[end - 1] === SPACE)) end--;
  let x = 0n;
  for (const c of cutAtNul(field.subarray(start, end))) {
    if (c < 0x30 || c > 0x37) return undefined;
    x = (x << 3n) | BigInt(c - 0x30);
    if (x >> 64n !== 0n) return undefined; // ParseUint overflow
  }
  return BigInt.asIntN(64, x); // Go converts the uint64 to int64
}

/**
 * Octal or base-256 field `field[start, end)`; `undefined` when Go's parser would report an error (bad
 * digit, overflow).
 */
export function parseNumeric(field: Uint8Array, start = 0, end = field.length): bigint | undefined {
  const first = field[start];
  if (start >= end || first === undefined || (first & 0x80) === 0) return parseOctal(field, start, end);
  const inv = (first & 0x40) !== 0 ? 0xff : 0;
  let x = 0n;
  for (let i = start; i < end; i++) {
    let c = (field[i] ?? 0) ^ inv;
    if (i === start) c &= 0x7f;
    if (x >> 56n !== 0n) return undefined;
    x = (x << 8n) | BigInt(c);
  }
  if (x >> 63n !== 0n) return undefined;
  return inv === 0xff ? -x - 1n : x;
}

/** Go's strconv.ParseInt(s, 10, 64) over raw bytes: optional sign, decimal digits, int64 range. */
export function parseDecimalInt64(bytes: Uint8Array): bigint | undefined {
  let i = 0;
  let negative = false;
  if (bytes[0] === 0x2b || bytes[0] === 0x2d) {
    negative = bytes[0] === 0x2d;
    i = 1;
  }
  if (i >= bytes.length) return undefined;
  let x = 0n;
  for (; i < bytes.length; i++) {
    const c = bytes[i] ?? 0;
    if (c < 0x30 || c > 0x39) return undefined;
    x = x * 10n + BigInt(c - 0x30);
    if (x > INT64_MAX + 1n) return undefined;
  }
  const value = negative ? -x : x;
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}

/** True when the block's checksum field matches its unsigned or signed byte sum (Go's getFormat check). */
export function checksumMatches(block: Uint8Array): boolean {
  const stored = octalNumber(block, 148, 156);
  if (stored < 0) return false;
  // Go sums the block with the checksum field read as spaces, once as unsigned and once as signed bytes;
  // a signed sum is the unsigned one less 256 for every byte with its high bit set.
  let unsigned = 0;
  let high = 0;
  for (let i = 0; i < block.length; i++) {
    const c = block[i] as number;
    unsigned += c;
    high += c >> 7;
  }
  for (let i = 148; i < 156 && i < block.length; i++) {
    const c = block[i] as number;
    unsigned += SPACE - c;
    high -= c >> 7;
  }
  return stored === unsigned || stored === unsigned - 256 * high;
}

/** True when every byte is zero. */
export function isAllZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
