// Numeric fields of tar headers, read exactly as Go's archive/tar (vbatts/tar-split's fork) reads them:
// octal text trimmed of spaces and NULs and cut at the first NUL, or GNU base-256 two's complement when the
// first byte has its high bit set; values are int64, kept as bigint so nothing is rounded. Also Go's
// strconv.ParseInt for PAX decimal values and the header checksum.

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const SPACE = 0x20;
const SAFE_OCTAL_DIGITS = 17;

/** Returns the bytes of `field` up to (not including) the first NUL. */
export function cutAtNul(field: Uint8Array): Uint8Array {
  const i = field.indexOf(0);
  return i < 0 ? field : field.subarray(0, i);
}

/** Octal field; `undefined` when Go's parser would report an error. */
export function parseOctal(field: Uint8Array): bigint | undefined {
  let start = 0;
  let end = field.length;
  while (start < end && (field[start] === 0 || field[start] === SPACE)) start++;
  while (end > start && (field[end - 1] === 0 || field[end - 1] === SPACE)) end--;
  if (start === end) return 0n;
  const digits = cutAtNul(field.subarray(start, end));
  // Up to 17 octal digits (51 bits) are exact in a double: most fields never need bigint arithmetic.
  if (digits.length <= SAFE_OCTAL_DIGITS) {
    let n = 0;
    for (const c of digits) {
      if (c < 0x30 || c > 0x37) return undefined;
      n = n * 8 + (c - 0x30);
    }
    return BigInt(n);
  }
  let x = 0n;
  for (const c of digits) {
    if (c < 0x30 || c > 0x37) return undefined;
    x = (x << 3n) | BigInt(c - 0x30);
    if (x >> 64n !== 0n) return undefined; // ParseUint overflow
  }
  return BigInt.asIntN(64, x); // Go converts the uint64 to int64
}

/** Octal or base-256 field; `undefined` when Go's parser would report an error (bad digit, overflow). */
export function parseNumeric(field: Uint8Array): bigint | undefined {
  const first = field[0];
  if (first === undefined || (first & 0x80) === 0) return parseOctal(field);
  const inv = (first & 0x40) !== 0 ? 0xff : 0;
  let x = 0n;
  for (let i = 0; i < field.length; i++) {
    let c = (field[i] ?? 0) ^ inv;
    if (i === 0) c &= 0x7f;
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
  const stored = parseOctal(block.subarray(148, 156));
  if (stored === undefined) return false;
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
  return stored === BigInt(unsigned) || stored === BigInt(unsigned - 256 * high);
}

/** True when every byte is zero. */
export function isAllZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
