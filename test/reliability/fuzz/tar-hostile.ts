// What the tar fuzzer does to otherwise well-formed archives: hostile PAX records (every keyword the
// scanner interprets, with values and self-counting lengths that are wrong in each way a record can be),
// single header fields overwritten with hostile contents and the checksum fixed again (or not), sizes that
// lie, blocks dropped or repeated, and cuts at every block boundary and inside header blocks.

import fc from 'fast-check';
import { BLOCK, FIELD_NAMES, FIELDS, fixChecksum, numeric, type PaxRecord } from './tar-blocks.js';

const KEYS = [
  'path',
  'linkpath',
  'size',
  'mtime',
  'atime',
  'ctime',
  'uid',
  'gid',
  'uname',
  'gname',
  'SCHILY.xattr.user.x',
  'SCHILY.xattr.',
  'GNU.sparse.major',
  'GNU.sparse.minor',
  'GNU.sparse.name',
  'GNU.sparse.size',
  'GNU.sparse.realsize',
  'GNU.sparse.numblocks',
  'GNU.sparse.offset',
  'GNU.sparse.numbytes',
  'GNU.sparse.map',
  'comment',
  '',
  'k\u0000ey',
];

const VALUES = [
  '',
  '0',
  '1',
  '-1',
  '00000000000000000000001',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775808',
  '-9223372036854775809',
  '1e3',
  '0x10',
  ' 12',
  '+5',
  '1.5',
  '-1.5',
  '1.',
  '.5',
  '1.1234567890123',
  '1..2',
  '-0.000000001',
  'a/b',
  'x\u0000y',
  '0,0',
  '0,1,2',
  '1,0,0,1',
  '99999999999,1',
  '1.0',
];

const rarely = fc.oneof(
  { weight: 1, arbitrary: fc.constant(true) },
  { weight: 6, arbitrary: fc.constant(false) },
);
const mostly = rarely.map((b) => !b);
const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');

export const hostilePaxRecord: fc.Arbitrary<PaxRecord> = fc.record({
  key: fc.oneof(fc.constantFrom(...KEYS).map(text), fc.uint8Array({ maxLength: 12 })),
  value: fc.oneof(fc.constantFrom(...VALUES).map(text), fc.uint8Array({ maxLength: 24 })),
  lengthDelta: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.integer({ min: -6, max: 6 }) },
    { weight: 1, arbitrary: fc.constantFrom(-1_000, 1_000, 1 << 20, 2 ** 40) },
  ),
  noEquals: rarely,
  noNewline: rarely,
});

/** What to write over one field (fast-check picks; `apply` turns it into bytes). */
export type FieldValue =
  | { kind: 'octal'; value: bigint }
  | { kind: 'base256'; value: bigint }
  | { kind: 'text'; value: string }
  | { kind: 'bytes'; value: Uint8Array };

const fieldValue: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.record({ kind: fc.constant('octal' as const), value: fc.bigInt(0n, (1n << 64n) - 1n) }),
  fc.record({ kind: fc.constant('base256' as const), value: fc.bigInt(-(1n << 70n), 1n << 70n) }),
  fc.record({
    kind: fc.constant('text' as const),
    value: fc.constantFrom('', ' ', '   7 ', '8', '0000009', '7777777777777777777777', 'ustar', 'x', '/'),
  }),
  fc.record({ kind: fc.constant('bytes' as const), value: fc.uint8Array({ maxLength: 16 }) }),
);

export type Mutation =
  | { kind: 'field'; block: number; field: number; value: FieldValue; refix: boolean; signed: boolean }
  | { kind: 'byte'; at: number; value: number; refix: boolean }
  | { kind: 'drop-block' | 'repeat-block'; at: number };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('field' as const),
      block: fc.nat(),
      field: fc.nat(FIELD_NAMES.length - 1),
      value: fieldValue,
      refix: mostly,
      signed: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('byte' as const),
      at: fc.nat(),
      value: fc.nat(255),
      refix: mostly,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('drop-block' as const, 'repeat-block' as const),
      at: fc.nat(),
    }),
  },
);

function fieldBytes(v: FieldValue, width: number): Uint8Array {
  if (v.kind === 'octal')
    return Buffer.from(v.value.toString(8).padStart(width, '0').slice(-width), 'latin1');
  if (v.kind === 'base256') return numeric(v.value, width, true);
  if (v.kind === 'text') return Buffer.from(v.value, 'latin1');
  return v.value;
}

/** Applies one mutation to a copy of `bytes`; `headerBlocks` are the offsets of header-like blocks. */
export function mutate(bytes: Buffer, headerBlocks: readonly number[], m: Mutation): Buffer {
  const blocks = bytes.length / BLOCK;
  if (m.kind === 'drop-block' || m.kind === 'repeat-block') {
    if (blocks === 0) return bytes;
    const at = (m.at % blocks) * BLOCK;
    const block = bytes.subarray(at, at + BLOCK);
    const rest = bytes.subarray(at + BLOCK);
    return Buffer.concat([bytes.subarray(0, at), ...(m.kind === 'repeat-block' ? [block, block] : []), rest]);
  }
  // Earlier drops may have moved blocks: only header offsets still inside the input are targets.
  const targets = headerBlocks.filter((h) => h + BLOCK <= bytes.length);
  if (targets.length === 0) return bytes;
  const out = Buffer.from(bytes);
  if (m.kind === 'byte') {
    const start = targets[m.at % targets.length] ?? 0;
    out[start + (m.at % BLOCK)] = m.value;
    if (m.refix) fixChecksum(out.subarray(start, start + BLOCK));
    return out;
  }
  if (m.kind !== 'field') return out;
  const start = targets[m.block % targets.length] ?? 0;
  const [at, width] = FIELDS[FIELD_NAMES[m.field] ?? 'name'];
  const block = out.subarray(start, start + BLOCK);
  block.fill(0, at, at + width);
  Buffer.from(fieldBytes(m.value, width)).subarray(0, width).copy(block, at);
  if (m.refix) fixChecksum(block, m.signed);
  return out;
}

/** The cut points of an archive: every block boundary, and one point inside each header block. */
export function cutPoints(length: number, headerBlocks: readonly number[], salt: number): number[] {
  const cuts: number[] = [];
  for (let at = 0; at < length; at += BLOCK) cuts.push(at);
  headerBlocks.forEach((h, i) => cuts.push(h + 1 + ((salt * 7919 + i * 104_729) % (BLOCK - 1))));
  return cuts;
}
