// Test helper: hand-built tar blocks for edge cases no archiver writes (checksums computed here).

export interface HeaderFields {
  name?: string | Buffer;
  mode?: number;
  uid?: number | Buffer;
  size?: number | Buffer;
  mtime?: number;
  typeflag?: string;
  linkname?: string;
  magic?: 'ustar' | 'gnu' | 'v7';
  prefix?: string;
  uname?: string;
  /** Raw bytes written at an offset after the fields above, before the checksum. */
  patch?: [number, Buffer][];
}

const octal = (n: number, width: number): Buffer =>
  Buffer.from(n.toString(8).padStart(width - 1, '0') + '\0');

export function header(f: HeaderFields): Buffer {
  const b = Buffer.alloc(512);
  Buffer.from(f.name ?? 'file').copy(b, 0);
  octal(f.mode ?? 0o644, 8).copy(b, 100);
  (Buffer.isBuffer(f.uid) ? f.uid : octal(f.uid ?? 0, 8)).copy(b, 108);
  octal(0, 8).copy(b, 116);
  (Buffer.isBuffer(f.size) ? f.size : octal(f.size ?? 0, 12)).copy(b, 124);
  octal(f.mtime ?? 1_700_000_000, 12).copy(b, 136);
  b.write(f.typeflag ?? '0', 156, 'latin1');
  Buffer.from(f.linkname ?? '').copy(b, 157);
  const magic = f.magic ?? 'ustar';
  if (magic === 'ustar') b.write('ustar\x0000', 257, 'latin1');
  if (magic === 'gnu') b.write('ustar  \x00', 257, 'latin1');
  if (magic !== 'v7') {
    b.write(f.uname ?? 'root', 265);
    octal(0, 8).copy(b, 329);
    octal(0, 8).copy(b, 337);
  }
  if (f.prefix) b.write(f.prefix, 345);
  for (const [at, bytes] of f.patch ?? []) bytes.copy(b, at);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  octal(sum, 7).copy(b, 148);
  return b;
}

export const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);

/** A member: header, data and padding (size taken from the data unless given). */
export function entry(f: HeaderFields, data: Buffer | string = ''): Buffer {
  const d = Buffer.from(data);
  return Buffer.concat([header({ size: d.length, ...f }), d, pad(d.length)]);
}

/** PAX record data with correct self-counting lengths. */
export function paxData(records: [string, string | Buffer][]): Buffer {
  return Buffer.concat(
    records.map(([k, v]) => {
      const body = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from('\n')]);
      let n = body.length + 1;
      while (String(n).length + body.length !== n) n++;
      return Buffer.concat([Buffer.from(String(n)), body]);
    }),
  );
}

export const pax = (records: [string, string | Buffer][], typeflag = 'x'): Buffer =>
  entry({ name: 'PaxHeaders/x', typeflag }, paxData(records));

export const EOA = Buffer.alloc(1024);

/** Base-256 field of `width` bytes holding `n` (two's complement). */
export function base256(n: bigint, width: number): Buffer {
  const b = Buffer.alloc(width);
  let x = BigInt.asUintN(width * 8, n);
  for (let i = width - 1; i >= 0; i--) {
    b[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  b[0] = (b[0] ?? 0) | 0x80;
  return b;
}
