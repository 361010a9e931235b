// Structure-aware tar generator for the fuzzer: fast-check arbitraries for members in every header format
// the scanner reads (v7, ustar, GNU, star), with long names carried by the ustar prefix, PAX `path` or GNU
// `L`/`K` headers, PAX records (fractional and negative mtimes, size, uid, xattrs, uname), PAX global
// headers, old-GNU (`S`) and PAX 1.0 sparse members, payloads that cross block boundaries, and every way
// an archive may end. `encodeArchive` writes the bytes (checksums correct) and, next to them, what Go's
// archive/tar would report for each member, so a valid archive can be compared field by field. Hostile
// PAX records (wrong lengths, no '=', no newline, bad values) make an archive "not valid": it is then only
// held to the general property.

import fc from 'fast-check';
import type { HeaderFormat, PaxRecord } from './tar-blocks.js';
import { hostilePaxRecord } from './tar-hostile.js';

export interface PaxTime {
  text: string;
  sec: bigint;
  nsec: number;
}

export interface MemberSpec {
  kind: 'plain' | 'global' | 'old-sparse' | 'pax-sparse';
  format: HeaderFormat;
  typeflag: number;
  name: Uint8Array;
  linkname: Uint8Array;
  payloadSize: number;
  /** Size field of header-only types (the scanner reads no payload for them whatever it says). */
  headerOnlySize: bigint;
  uid: bigint;
  mtime: bigint;
  base256: boolean;
  /** Names over 100 bytes: the ustar prefix when it can hold them, else PAX or GNU long names. */
  usePrefix: boolean;
  paxSize: boolean;
  paxMtime: PaxTime | undefined;
  xattrs: [string, Uint8Array][];
  uname: Uint8Array | undefined;
  sparseEntries: [bigint, bigint][];
  sparseRealSize: bigint;
  signedChecksum: boolean;
  hostile: PaxRecord[];
}

export type Ending = 'two' | 'one' | 'none' | 'four' | 'two+garbage' | 'two+partial';

export interface ArchiveSpec {
  members: MemberSpec[];
  ending: Ending;
}

/** What the scanner must report for a member of a valid archive. */
export interface ExpectedMember {
  name: Uint8Array;
  linkname: Uint8Array | undefined;
  typeflag: string;
  payload: Buffer;
  size: bigint;
  mtime: PaxTime | undefined;
  uid: bigint | undefined;
  xattrs: [string, Uint8Array][];
  sparse: boolean;
}

export interface EncodedArchive {
  bytes: Buffer;
  /** Offsets of every header-like block: member headers, extension headers, sparse extension blocks. */
  headerBlocks: number[];
  /** Set when the archive is valid: what each member must read as. */
  expected: ExpectedMember[] | undefined;
}

const ASCII = [...'abcxyz019-_.'];
const WIDE = [...ASCII, 'ü', '名', '\u00ff', ' '];
/** Mostly ASCII names, as real layers have; a fifth mix in UTF-8, Latin-1 and spaces. */
const nameBytes = (min: number, max: number): fc.Arbitrary<Uint8Array> =>
  fc
    .oneof({ weight: 4, arbitrary: fc.constant(ASCII) }, { weight: 1, arbitrary: fc.constant(WIDE) })
    .chain((alphabet) => fc.array(fc.constantFrom(...alphabet), { minLength: min, maxLength: max }))
    .chain((parts) =>
      fc.boolean().map((latin1) => Buffer.from(parts.join(''), latin1 ? 'latin1' : 'utf8').subarray(0, max)),
    )
    .filter((b) => b.length >= min && !b.includes(0));

const withSlashes = (min: number, max: number): fc.Arbitrary<Uint8Array> =>
  fc
    .tuple(nameBytes(1, 40), fc.array(nameBytes(1, 60), { maxLength: 5 }), fc.boolean())
    .map(([head, rest, dir]) => {
      const joined = Buffer.from(
        [head, ...rest].map((p) => Buffer.from(p).toString('latin1')).join('/'),
        'latin1',
      );
      return Buffer.concat([joined, Buffer.from(dir ? '/' : '')]);
    })
    .filter((b) => b.length >= min && b.length <= max);

const paxTime: fc.Arbitrary<PaxTime> = fc
  .tuple(
    fc.boolean(),
    fc.bigInt(0n, 1n << 40n),
    fc.nat(999_999_999),
    fc.nat(12),
    fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 4 }),
  )
  .map(([neg, mag, nsec, digits, extra]) => {
    const frac =
      digits === 0 ? '' : `.${String(nsec).padStart(9, '0').slice(0, digits)}${digits > 9 ? extra : ''}`;
    const kept =
      digits === 0 ? 0 : Number(String(nsec).padStart(9, '0').slice(0, Math.min(digits, 9)).padEnd(9, '0'));
    const sec = neg ? -mag : mag;
    const t = neg && kept > 0 ? { sec: sec - 1n, nsec: 1_000_000_000 - kept } : { sec, nsec: kept };
    return { text: `${neg ? '-' : ''}${mag}${frac}`, ...t };
  });

const TYPEFLAGS = [...'0\u00001234567A'].map((c) => c.charCodeAt(0));

const sparseMap = (realSize: bigint): fc.Arbitrary<[bigint, bigint][]> =>
  fc.array(fc.bigInt(0n, realSize), { maxLength: 50 }).map((points) => {
    const sorted = [...points].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const out: [bigint, bigint][] = [];
    for (let i = 0; i + 1 < sorted.length; i += 2)
      out.push([sorted[i] ?? 0n, (sorted[i + 1] ?? 0n) - (sorted[i] ?? 0n)]);
    return out;
  });

export const memberSpec: fc.Arbitrary<MemberSpec> = fc
  .record({
    kind: fc.constantFrom('plain', 'plain', 'plain', 'plain', 'global', 'old-sparse', 'pax-sparse'),
    format: fc.constantFrom<HeaderFormat>('ustar', 'gnu', 'v7', 'star'),
    typeflag: fc.constantFrom(...TYPEFLAGS),
    name: fc.oneof(nameBytes(1, 100), withSlashes(1, 300)),
    linkname: fc.oneof(fc.constant(new Uint8Array(0)), nameBytes(1, 100), nameBytes(101, 200)),
    payloadSize: fc.oneof(fc.nat(600), fc.constantFrom(0, 511, 512, 513, 1024)),
    headerOnlySize: fc.oneof(fc.constant(0n), fc.bigInt(0n, 1n << 33n)),
    uid: fc.oneof(fc.bigInt(0n, 2_097_151n), fc.bigInt(0n, (1n << 62n) - 1n)),
    mtime: fc.oneof(fc.bigInt(0n, 8_589_934_591n), fc.bigInt(-(1n << 40n), 1n << 40n)),
    base256: fc.boolean(),
    usePrefix: fc.boolean(),
    paxSize: fc.boolean(),
    paxMtime: fc.option(paxTime, { nil: undefined }),
    xattrs: fc.array(
      fc.tuple(
        fc.constantFrom('user.a', 'user.b', 'security.capability', 'user.名'),
        fc.uint8Array({ maxLength: 20 }),
      ),
      { maxLength: 2 },
    ),
    uname: fc.option(nameBytes(1, 40), { nil: undefined }),
    sparseRealSize: fc.bigInt(0n, 1n << 34n),
    signedChecksum: fc.boolean(),
    hostile: fc.oneof(
      { weight: 5, arbitrary: fc.constant<PaxRecord[]>([]) },
      { weight: 1, arbitrary: fc.array(hostilePaxRecord, { minLength: 1, maxLength: 3 }) },
    ),
  })
  .chain((m) => sparseMap(m.sparseRealSize).map((sparseEntries) => ({ ...m, sparseEntries })));

export const archiveSpec: fc.Arbitrary<ArchiveSpec> = fc.record({
  members: fc.array(memberSpec, { minLength: 1, maxLength: 4 }),
  ending: fc.constantFrom<Ending>('two', 'two', 'one', 'none', 'four', 'two+garbage', 'two+partial'),
});
