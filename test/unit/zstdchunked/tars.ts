// Hand-built tar archives for the zstd:chunked unit tests: exact bytes, no external tool.
import { Buffer } from 'node:buffer';

function octal(h: Buffer, off: number, width: number, value: number): void {
  h.write(`${value.toString(8).padStart(width - 1, '0')}\0`, off, width, 'latin1');
}

export interface RawEntry {
  name: string;
  type?: string;
  data?: Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  uname?: string;
  gname?: string;
}

/** One ustar header block with a correct checksum. */
export function header(e: RawEntry): Buffer {
  const h = Buffer.alloc(512);
  h.write(e.name, 0, 100, 'utf8');
  octal(h, 100, 8, e.mode ?? 0o644);
  octal(h, 108, 8, e.uid ?? 0);
  octal(h, 116, 8, e.gid ?? 0);
  octal(h, 124, 12, e.data?.length ?? 0);
  octal(h, 136, 12, e.mtime ?? 0);
  h.write(e.type ?? '0', 156, 1, 'latin1');
  h.write(e.linkname ?? '', 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 8, 'latin1');
  h.write(e.uname ?? '', 265, 32, 'utf8');
  h.write(e.gname ?? '', 297, 32, 'utf8');
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);

export function member(e: RawEntry): Buffer {
  const data = e.data ?? Buffer.alloc(0);
  return Buffer.concat([header(e), data, pad(data.length)]);
}

/** A PAX `x` header carrying the given records (values may be binary). */
export function pax(name: string, records: Array<[string, Buffer | string]>): Buffer {
  const parts = records.map(([k, v]) => {
    const value = Buffer.isBuffer(v) ? v : Buffer.from(v);
    const body = Buffer.concat([Buffer.from(` ${k}=`), value, Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    return Buffer.concat([Buffer.from(String(len)), body]);
  });
  return member({ name, type: 'x', data: Buffer.concat(parts) });
}

export const END = Buffer.alloc(1024);

/** A PAX file with fractional times and binary xattrs, then a directory, then the end blocks. */
export function paxTar(): Buffer {
  return Buffer.concat([
    pax('PaxHeaders/a', [
      ['mtime', '1700000000.5'],
      ['atime', '1700000001.25'],
      ['ctime', '1700000002'],
      ['SCHILY.xattr.user.b', ''],
      ['SCHILY.xattr.user.a', Buffer.from([0x78, 0x00, 0x79])],
    ]),
    member({
      name: 'a<b>&"q".txt',
      data: Buffer.from('abc'),
      uid: 1000,
      gid: 1000,
      uname: 'u',
      gname: 'g',
      mtime: 1700000000,
    }),
    member({ name: 'd/', type: '5', mode: 0o755 }),
    END,
  ]);
}
