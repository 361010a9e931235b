// Writes a generated archive spec (tar-gen.ts) as tar bytes, block by block, and says what each member of
// a valid archive must read as: the name after the ustar prefix, PAX `path`, GNU `L` or sparse name is
// applied, Go's type flag ("\0" → "5" or "0"), the payload, the size (PAX `size`, a sparse real size or
// the header's), the PAX mtime with its fraction, uid and xattrs.

import { BLOCK, fixChecksum, numeric, padded, paxData, put, setMagic, type PaxRecord } from './tar-blocks.js';
import type { ArchiveSpec, EncodedArchive, Ending, ExpectedMember, MemberSpec } from './tar-gen.js';

const HEADER_ONLY = new Set([...'123456'].map((c) => c.charCodeAt(0)));
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const record = (key: string, value: Uint8Array): PaxRecord => ({
  key: utf8(key),
  value,
  lengthDelta: 0,
  noEquals: false,
  noNewline: false,
});

class Writer {
  readonly parts: Buffer[] = [];
  readonly headerBlocks: number[] = [];
  private length = 0;
  header(block: Buffer): void {
    this.headerBlocks.push(this.length);
    this.data(block);
  }
  data(bytes: Buffer): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }
  /** An extension header (`x`, `g`, `L`, `K`) and its padded data. */
  extension(typeflag: string, name: string, data: Buffer): void {
    const h = Buffer.alloc(BLOCK);
    put(h, 'name', utf8(name));
    put(h, 'mode', numeric(0o644n, 8));
    put(h, 'size', numeric(BigInt(data.length), 12));
    put(h, 'mtime', numeric(0n, 12));
    put(h, 'typeflag', utf8(typeflag));
    setMagic(h, typeflag === 'L' || typeflag === 'K' ? 'gnu' : 'ustar');
    fixChecksum(h);
    this.header(h);
    this.data(padded(data));
  }
}

/** Splits a long name at a '/' so that the ustar (or star) prefix and name fields can hold it. */
function prefixSplit(name: Uint8Array, prefixWidth: number): [Uint8Array, Uint8Array] | undefined {
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== 0x2f) continue;
    const rest = name.length - i - 1;
    if (rest > 100) return undefined;
    if (i <= prefixWidth && rest >= 1) return [name.subarray(0, i), name.subarray(i + 1)];
  }
  return undefined;
}

function sparseBlocks(h: Buffer, m: MemberSpec): Buffer[] {
  put(h, 'gnuRealsize', numeric(m.sparseRealSize, 12));
  const entry = ([offset, length]: [bigint, bigint]): Buffer =>
    Buffer.concat([numeric(offset, 12), numeric(length, 12)]);
  m.sparseEntries.slice(0, 4).forEach((e, i) => entry(e).copy(h, 386 + 24 * i));
  const extra: Buffer[] = [];
  for (let i = 4; i < m.sparseEntries.length; i += 21) {
    const b = Buffer.alloc(BLOCK);
    m.sparseEntries.slice(i, i + 21).forEach((e, j) => entry(e).copy(b, 24 * j));
    extra.push(b);
  }
  extra.forEach((b, i) => (b[504] = i + 1 < extra.length ? 1 : 0));
  h[482] = extra.length > 0 ? 1 : 0;
  return extra;
}

function encodeMember(w: Writer, m: MemberSpec, index: number): ExpectedMember {
  const format = m.kind === 'old-sparse' ? 'gnu' : m.format;
  const h = Buffer.alloc(BLOCK);
  const pax: PaxRecord[] = [];
  const gnu: [string, Buffer][] = [];
  const name = format === 'v7' ? m.name.subarray(0, 100) : m.name;
  const linkname = format === 'v7' ? m.linkname.subarray(0, 100) : m.linkname;
  if (m.kind === 'pax-sparse') {
    put(h, 'name', utf8(`GNUSparseFile.0/${index}`));
    for (const [k, v] of [
      ['major', '1'],
      ['minor', '0'],
      ['realsize', String(m.sparseRealSize)],
    ])
      pax.push(record(`GNU.sparse.${k}`, utf8(v ?? '')));
    pax.push(record('GNU.sparse.name', Buffer.from(name)));
  } else if (name.length <= 100) {
    put(h, 'name', name);
  } else {
    const split =
      format === 'ustar' || format === 'star' ? prefixSplit(name, format === 'star' ? 131 : 155) : undefined;
    put(h, 'name', split?.[1] ?? name);
    if (split && m.usePrefix) put(h, 'prefix', split[0]);
    else if (format === 'gnu') gnu.push(['L', Buffer.concat([name, Buffer.alloc(1)])]);
    else pax.push(record('path', name));
  }
  put(h, 'linkname', linkname);
  if (linkname.length > 100) {
    if (format === 'gnu') gnu.push(['K', Buffer.from(linkname)]);
    else pax.push(record('linkpath', linkname));
  }
  const typeflag =
    m.kind === 'global' ? 0x67 : m.kind === 'old-sparse' ? 0x53 : m.kind === 'pax-sparse' ? 0x30 : m.typeflag;
  const goType = typeflag === 0 ? (name[name.length - 1] === 0x2f ? 0x35 : 0x30) : typeflag;
  const headerOnly = HEADER_ONLY.has(goType) || m.kind === 'global';
  const payloadSize = headerOnly ? 0 : m.payloadSize;
  let size = headerOnly ? m.headerOnlySize : BigInt(payloadSize);
  if (m.paxSize && !headerOnly) pax.push(record('size', utf8(String(payloadSize))));
  put(h, 'size', numeric(m.paxSize && !headerOnly ? 0n : size, 12, m.base256));
  put(h, 'mode', numeric(0o755n, 8));
  put(h, 'uid', numeric(m.uid, 8, m.base256));
  put(h, 'gid', numeric(0n, 8));
  put(h, 'mtime', numeric(m.mtime, 12, m.base256));
  put(h, 'typeflag', Buffer.of(typeflag));
  setMagic(h, format);
  if (format !== 'v7') put(h, 'uname', utf8('root'));
  if (m.paxMtime) pax.push(record('mtime', utf8(m.paxMtime.text)));
  for (const [k, v] of m.xattrs) pax.push(record(`SCHILY.xattr.${k}`, v));
  if (m.uname) pax.push(record('uname', m.uname));
  pax.push(...m.hostile);
  const extra = m.kind === 'old-sparse' ? sparseBlocks(h, m) : [];
  fixChecksum(h, m.signedChecksum);
  if (m.kind === 'global') {
    w.extension('g', `GlobalHead.${index}`, paxData([record('path', name), ...m.hostile]));
  } else {
    for (const [type, data] of gnu) w.extension(type, '././@LongLink', data);
    if (pax.length > 0) w.extension('x', `PaxHeaders.0/${index}`, paxData(pax));
    w.header(h);
    for (const b of extra) w.header(b);
  }
  const payload = Buffer.alloc(payloadSize, (index * 37 + 1) & 0xff);
  w.data(padded(payload));
  const xattrs = new Map(m.xattrs);
  if (m.kind === 'old-sparse' || m.kind === 'pax-sparse') size = m.sparseRealSize;
  return {
    name,
    linkname: m.kind === 'global' || m.kind === 'pax-sparse' ? undefined : linkname,
    typeflag: String.fromCharCode(goType),
    payload,
    size: m.kind === 'global' ? 0n : size,
    mtime: m.kind === 'global' ? undefined : (m.paxMtime ?? { text: '', sec: m.mtime, nsec: 0 }),
    uid: m.kind === 'global' ? undefined : m.uid,
    xattrs: m.kind === 'global' ? [] : [...xattrs].sort(([a], [b]) => Buffer.compare(utf8(a), utf8(b))),
    sparse: m.kind === 'old-sparse' || m.kind === 'pax-sparse',
  };
}

const GARBAGE = Buffer.from('not a tar block, just bytes after the end '.repeat(20));

function ending(kind: Ending): Buffer {
  const zeros = (n: number): Buffer => Buffer.alloc(n * BLOCK);
  if (kind === 'two') return zeros(2);
  if (kind === 'one') return zeros(1);
  if (kind === 'four') return zeros(4);
  if (kind === 'two+garbage') return Buffer.concat([zeros(2), GARBAGE]);
  if (kind === 'two+partial') return Buffer.concat([zeros(2), Buffer.alloc(100)]);
  return zeros(0);
}

export function encodeArchive(spec: ArchiveSpec): EncodedArchive {
  const w = new Writer();
  const expected = spec.members.map((m, i) => encodeMember(w, m, i));
  w.data(ending(spec.ending));
  const valid = spec.members.every((m) => m.hostile.length === 0);
  return {
    bytes: Buffer.concat(w.parts),
    headerBlocks: w.headerBlocks,
    expected: valid ? expected : undefined,
  };
}
