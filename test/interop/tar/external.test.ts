// Scans tars written by GNU tar, bsdtar, Python's tarfile and tar-stream, and checks every member against
// two readers nobody here wrote: vbatts/tar-split's archive/tar (the Go reader containers/storage uses,
// compared field by field and on the raw header bytes it consumed) and Python's tarfile. Also checks that
// the events give back the input byte for byte, whatever the input chunk sizes, and that seeded corruptions
// of these archives get the same verdict as tar-split's.

import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { TsconvertError } from '../../../src/errors.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  comparable,
  prng,
  scanBuffer,
  type ScanResult,
  type ScannedMember,
} from '../../helpers/tar/collect.js';
import { compareWithGo, tarSplitRejects } from './helpers/compare.js';
import { makeSourceTree, PY_MAKE, pythonDump, run, tempDir, type PythonMember } from './helpers/tools.js';

const work = tempDir('tar-external-');
const src = path.join(work, 'src');
const archives = new Map<string, string>();

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

async function tarStreamArchive(file: string): Promise<void> {
  const p = pack();
  p.entry({ name: 'ts/', type: 'directory', mode: 0o755, mtime: new Date(1_600_000_000_500) });
  p.entry({ name: 'ts/file.txt', mode: 0o600, uid: 1000, gid: 1000, uname: 'me', gname: 'us' }, 'content');
  p.entry({ name: 'ts/' + 'x'.repeat(120) + '/y'.repeat(80), mode: 0o644 }, Buffer.alloc(70_000, 7));
  p.entry({ name: 'ts/link', type: 'symlink', linkname: 'l'.repeat(200) });
  p.entry({ name: 'ts/pax', pax: { 'SCHILY.xattr.user.k': 'v', comment: 'hi' } }, 'x');
  p.finalize();
  const parts: Buffer[] = [];
  for await (const c of Readable.from(p)) parts.push(c as Buffer);
  fs.writeFileSync(file, Buffer.concat(parts));
}

beforeAll(async () => {
  fs.mkdirSync(src);
  makeSourceTree(src);
  const out = (name: string): string => {
    const f = path.join(work, name);
    archives.set(name, f);
    return f;
  };
  for (const fmt of ['gnu', 'oldgnu', 'posix', 'ustar', 'v7']) {
    run('tar', [`--format=${fmt}`, '--sort=name', '-cf', out(`gnutar-${fmt}.tar`), '-C', src, '.']);
  }
  run('tar', [
    '--format=posix',
    '--xattrs',
    '--sort=name',
    '-cf',
    out('gnutar-posix-xattrs.tar'),
    '-C',
    src,
    '.',
  ]);
  run('tar', [
    '--format=gnu',
    '--sparse',
    '--sort=name',
    '-cf',
    out('gnutar-gnu-sparse.tar'),
    '-C',
    src,
    '.',
  ]);
  run('tar', [
    '--format=posix',
    '--sparse',
    '--sort=name',
    '-cf',
    out('gnutar-posix-sparse.tar'),
    '-C',
    src,
    '.',
  ]);
  run('tar', ['--format=gnu', '-G', '--sort=name', '-cf', out('gnutar-gnu-incremental.tar'), '-C', src, '.']);
  for (const fmt of ['pax', 'ustar', 'gnutar', 'v7']) {
    run('bsdtar', ['--format', fmt, '-cf', out(`bsdtar-${fmt}.tar`), '-C', src, '.']);
  }
  run('python3', [PY_MAKE, src, work]);
  for (const f of ['py-gnu', 'py-pax', 'py-ustar', 'py-v7', 'py-special', 'py-gnu-special']) out(`${f}.tar`);
  await tarStreamArchive(out('tar-stream.tar'));
}, 120_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function compareWithPython(file: string, r: ScanResult): void {
  const py = pythonDump(file);
  const ours = r.members.filter((m) => m.member.typeflag !== 'g');
  expect(ours.length).toBe(py.length);
  const strip = (s: string, dir: boolean): string =>
    dir ? Buffer.from(s, 'base64').toString('latin1').replace(/\/+$/, '') : s;
  py.forEach((p: PythonMember, i) => {
    const s = ours[i] as ScannedMember;
    const m = s.member;
    expect(m.headerOffset).toBe(p.offset);
    if (p.sparse || m.facts.sparse) return; // Python's offset_data skips the PAX 1.0 sparse map
    expect(m.payloadOffset).toBe(p.offset_data);
    const dir = m.typeflag === '5';
    // Python reads the GNU atime/ctime area as a ustar prefix; Go (and we) read the times
    if (m.format !== 'gnu' || m.atime === undefined)
      expect(strip(b64(m.name.raw), dir)).toBe(strip(p.name, dir));
    expect(b64(m.linkname.raw)).toBe(p.linkname);
    expect(m.typeflag).toBe(p.type === '\0' ? '0' : p.type);
    expect([m.mode, m.uid, m.gid, m.size]).toEqual([p.mode, p.uid, p.gid, p.size].map(BigInt));
    expect(m.mtime.sec).toBe(BigInt(Math.floor(p.mtime)));
    expect([b64(m.uname.raw), b64(m.gname.raw)]).toEqual([p.uname, p.gname]);
    if (m.format !== 'v7') expect([m.devMajor, m.devMinor]).toEqual([BigInt(p.devmajor), BigInt(p.devminor)]);
    const pax = [...m.pax].map(([k, v]) => [b64(Buffer.from(k, 'latin1')), b64(v)]).sort();
    expect(pax).toEqual([...p.pax].sort());
  });
}

describe('tars from other writers', () => {
  it('were all produced', () => {
    for (const [name, file] of archives) expect(fs.existsSync(file), name).toBe(true);
    expect(archives.size).toBeGreaterThanOrEqual(20);
  });

  const names = [
    ...[
      'gnu',
      'oldgnu',
      'posix',
      'ustar',
      'v7',
      'posix-xattrs',
      'gnu-sparse',
      'posix-sparse',
      'gnu-incremental',
    ].map((f) => `gnutar-${f}.tar`),
    ...['pax', 'ustar', 'gnutar', 'v7'].map((f) => `bsdtar-${f}.tar`),
    ...['py-gnu', 'py-pax', 'py-ustar', 'py-v7', 'py-special', 'py-gnu-special', 'tar-stream'].map(
      (f) => `${f}.tar`,
    ),
  ];
  for (const name of names) {
    it(`${name}: byte-exact, same values as tar-split and Python, same result for any chunking`, async () => {
      const file = archives.get(name) as string;
      const tar = fs.readFileSync(file);
      const r = await scanBuffer(tar);
      expect(r.rebuilt.equals(tar)).toBe(true);
      if (name === 'gnutar-gnu-sparse.tar') {
        const holes = r.members.find((m) => m.member.name.text === './holes.bin')?.member;
        expect(holes?.headerSize).toBeGreaterThan(512); // extension blocks are header bytes
        expect([holes?.typeflag, holes?.size, r.summary.gnuSparse]).toEqual(['S', 237576n, true]);
      }
      expect(r.members.length).toBeGreaterThan(0);
      compareWithGo(tar, r);
      compareWithPython(file, r);
      const expected = comparable(r);
      for (const chunking of [511, 513, 'random'] as const) {
        expect(comparable(await scanBuffer(tar, chunking, tar.length))).toEqual(expected);
      }
      if (tar.length <= 600_000) expect(comparable(await scanBuffer(tar, 1))).toEqual(expected);
    });
  }
});

/** One seeded corruption of a real archive: overwritten bytes, truncation, or a header byte with its checksum fixed. */
function corrupt(base: Buffer, rand: () => number, mode: number): Buffer {
  const t = Buffer.from(base);
  if (mode === 1) return t.subarray(0, Math.floor(rand() * t.length));
  if (mode === 0) {
    for (let j = 0; j < 3; j++) t[Math.floor(rand() * Math.min(t.length, 8192))] = Math.floor(rand() * 256);
    return t;
  }
  const b = Math.floor((rand() * Math.min(t.length, 8192)) / 512) * 512;
  t[b + Math.floor(rand() * 512)] = Math.floor(rand() * 256);
  t.fill(0x20, b + 148, b + 156);
  let sum = 0;
  for (const c of t.subarray(b, b + 512)) sum += c;
  t.write(sum.toString(8).padStart(6, '0') + '\0', b + 148, 'latin1');
  return t;
}

describe('corrupted tars from other writers (seeded)', () => {
  it('reach the same verdict and values as tar-split, or a MALFORMED error naming an offset', async () => {
    const disagreements: string[] = [];
    for (const [name, file] of archives) {
      const base = fs.readFileSync(file).subarray(0, 40_000);
      const rand = prng(name.length * 31 + 7);
      for (let k = 0; k < 12; k++) {
        const tar = corrupt(base, rand, k % 3);
        const r = await scanBuffer(tar, 'random', k).catch((e: unknown) => {
          if (!(e instanceof TsconvertError) || e.code !== 'MALFORMED' || !/offset \d+/.test(e.message))
            throw e;
          return undefined;
        });
        if ((r === undefined) !== tarSplitRejects(tar)) disagreements.push(`${name} #${k}`);
        if (r) {
          expect(r.rebuilt.equals(tar)).toBe(true);
          compareWithGo(tar, r);
        }
      }
    }
    expect(disagreements).toEqual([]);
  });
});
