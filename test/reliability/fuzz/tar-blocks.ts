// Byte-level building blocks of the tar fuzzer: the header field table (offsets and widths of every field
// of the ustar, GNU and star layouts), numeric encodings (octal, base-256), the checksum (unsigned or the
// signed sum Go also accepts) and PAX records whose length, '=' and newline can each be made wrong.

export const BLOCK = 512;

/** [offset, width] of each header field; GNU and star reuse the ustar prefix area differently. */
export const FIELDS = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
  gnuAtime: [345, 12],
  gnuCtime: [357, 12],
  gnuSparse: [386, 96],
  gnuExtended: [482, 1],
  gnuRealsize: [483, 12],
  starAtime: [476, 12],
  starCtime: [488, 12],
  starTrailer: [508, 4],
} as const satisfies Record<string, readonly [number, number]>;

export type FieldName = keyof typeof FIELDS;
export const FIELD_NAMES = Object.keys(FIELDS) as FieldName[];

/** Octal digits right-aligned with a NUL, or base-256 when asked or when the value does not fit. */
export function numeric(value: bigint, width: number, base256 = false): Buffer {
  const digits = value >= 0n ? value.toString(8) : '';
  if (!base256 && value >= 0n && digits.length <= width - 1) {
    return Buffer.from(digits.padStart(width - 1, '0') + '\0', 'latin1');
  }
  const out = Buffer.alloc(width);
  let x = BigInt.asUintN(width * 8, value);
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  out[0] = (out[0] ?? 0) | 0x80;
  return out;
}

export function put(block: Buffer, field: FieldName, bytes: Uint8Array): void {
  const [at, width] = FIELDS[field];
  block.fill(0, at, at + width);
  Buffer.from(bytes.subarray(0, width)).copy(block, at);
}

/** Writes the checksum field; `signed` sums bytes as int8 when that sum is not negative (Go accepts both). */
export function fixChecksum(block: Buffer, signed = false): void {
  block.fill(0x20, 148, 156);
  let unsigned = 0;
  let high = 0;
  for (const c of block) {
    unsigned += c;
    high += c >> 7;
  }
  const signedSum = unsigned - 256 * high;
  const text = (signed && signedSum >= 0 ? signedSum : unsigned).toString(8).padStart(6, '0');
  block.write(`${text}\0 `.slice(0, 8), 148, 'latin1');
}

export type HeaderFormat = 'ustar' | 'gnu' | 'v7' | 'star';

export function setMagic(block: Buffer, format: HeaderFormat): void {
  if (format === 'ustar' || format === 'star') block.write('ustar\u000000', 257, 'latin1');
  if (format === 'gnu') block.write('ustar  \u0000', 257, 'latin1');
  if (format === 'star') block.write('tar\u0000', 508, 'latin1');
}

export interface PaxRecord {
  key: Uint8Array;
  value: Uint8Array;
  /** Added to the record's self-counting length (0 = correct). */
  lengthDelta: number;
  /** Leave out the '=' or the final newline. */
  noEquals: boolean;
  noNewline: boolean;
}

/** PAX data: "%d %s=%s\n" per record, the length counting itself. */
export function paxData(records: readonly PaxRecord[]): Buffer {
  return Buffer.concat(
    records.map((r) => {
      const body = Buffer.concat([
        Buffer.from(' '),
        r.key,
        Buffer.from(r.noEquals ? '' : '='),
        r.value,
        Buffer.from(r.noNewline ? '' : '\n'),
      ]);
      let n = body.length + 1;
      while (String(n).length + body.length !== n) n++;
      return Buffer.concat([Buffer.from(String(Math.max(0, n + r.lengthDelta))), body]);
    }),
  );
}

export const padTo = (n: number): number => (BLOCK - (n % BLOCK)) % BLOCK;

/** Data followed by zero padding to the next block boundary. */
export const padded = (data: Uint8Array): Buffer => Buffer.concat([data, Buffer.alloc(padTo(data.length))]);
