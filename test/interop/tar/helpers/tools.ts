// Test helpers that run tools nobody here wrote: GNU tar, bsdtar, Python's tarfile and a Go program using
// vbatts/tar-split's archive/tar (the reader containers/storage uses), and build the source tree they pack.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PY_DUMP = path.join(HERE, 'tar_dump.py');
export const PY_MAKE = path.join(HERE, 'make_tars.py');
const ORACLE_SRC = path.join(HERE, '..', 'oracle', 'main.go');
const GOPATH = '/usr/share/gocode';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs a command; returns its exit status (some archivers exit 2 after skipping names they cannot hold). */
export function run(cmd: string, args: string[], cwd?: string): number {
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error) throw r.error;
  return r.status ?? -1;
}

/**
 * Source tree: empty, small and multi-chunk files, names over 100 and 255 bytes, a long symlink target,
 * non-ASCII names, hard and symbolic links, directories, a fifo, devices (root only), xattrs (one value
 * with NUL bytes), sub-second times and sparse files (one with more regions than a GNU header holds).
 */
export function makeSourceTree(root: string): void {
  const p = (...parts: string[]): string => path.join(root, ...parts);
  fs.mkdirSync(p('dir', 'sub'), { recursive: true });
  fs.writeFileSync(p('empty.txt'), '');
  fs.writeFileSync(p('small.txt'), 'hello\n');
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
  fs.writeFileSync(p('dir', 'big.bin'), big);
  const long1 = 'a'.repeat(60) + '/' + 'b'.repeat(70);
  fs.mkdirSync(p('a'.repeat(60)));
  fs.writeFileSync(p(long1), 'long name\n');
  const deep = ['c'.repeat(90), 'd'.repeat(90), 'e'.repeat(90)];
  fs.mkdirSync(p(...deep), { recursive: true });
  fs.writeFileSync(p(...deep, 'f'.repeat(40) + '.txt'), 'deep\n');
  fs.symlinkSync('t'.repeat(150) + '/target', p('longlink'));
  fs.symlinkSync('small.txt', p('sym'));
  fs.linkSync(p('small.txt'), p('hard.txt'));
  fs.writeFileSync(p('ünïcødé-名前.txt'), 'utf8\n');
  execFileSync('mkfifo', [p('fifo')]);
  if (process.getuid?.() === 0) {
    execFileSync('mknod', [p('chardev'), 'c', '1', '3']);
    execFileSync('mknod', [p('blockdev'), 'b', '7', '200']);
  }
  execFileSync('python3', [
    '-c',
    'import os,sys; os.setxattr(sys.argv[1], "user.nul", b"a\\x00b\\x00"); os.setxattr(sys.argv[1], "user.plain", b"v")',
    p('small.txt'),
  ]);
  const fd = fs.openSync(p('sparse.bin'), 'w');
  fs.writeSync(fd, Buffer.from('start'), 0, 5, 0);
  fs.writeSync(fd, Buffer.from('end'), 0, 3, 64 * 1024);
  fs.closeSync(fd);
  // 30 data regions: more than the 4 an old-GNU sparse header holds, so GNU tar adds extension blocks
  const holes = fs.openSync(p('holes.bin'), 'w');
  for (let i = 0; i < 30; i++) fs.writeSync(holes, Buffer.from(`region ${i}`), 0, 8, i * 8192);
  fs.closeSync(holes);
  fs.utimesSync(p('small.txt'), 1_700_000_000.25, 1_700_000_000.123456);
}

let oracleBinary: string | undefined;

/**
 * Builds the tar-split oracle (offline, from Debian's Go sources) into a cache directory named after the
 * source's hash, so test files and runs share one binary and nothing is left behind per run.
 */
export function tarSplitOracle(): string {
  if (oracleBinary) return oracleBinary;
  const hash = createHash('sha256').update(fs.readFileSync(ORACLE_SRC)).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `tsconvert-tar-oracle-${hash}`);
  const out = path.join(dir, 'oracle');
  if (!fs.existsSync(out)) {
    fs.mkdirSync(dir, { recursive: true });
    const partial = `${out}.${process.pid}`;
    execFileSync('go', ['build', '-o', partial, ORACLE_SRC], {
      env: { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOPROXY: 'off' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    fs.renameSync(partial, out);
  }
  oracleBinary = out;
  return out;
}

export interface OracleRecord {
  raw?: string;
  start?: number;
  end?: boolean;
  rest?: number;
  error?: string;
  [field: string]: unknown;
}

export function runOracle(tar: Uint8Array): OracleRecord[] {
  const out = execFileSync(tarSplitOracle(), [], { input: tar, maxBuffer: 1 << 30 });
  return out
    .toString()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as OracleRecord);
}

export interface PythonMember {
  name: string;
  linkname: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  pax: [string, string][];
  offset: number;
  offset_data: number;
  sparse: boolean;
}

export function pythonDump(file: string): PythonMember[] {
  const out = execFileSync('python3', [PY_DUMP, file], { maxBuffer: 1 << 30 })
    .toString()
    .trim();
  return out === '' ? [] : out.split('\n').map((l) => JSON.parse(l) as PythonMember);
}
