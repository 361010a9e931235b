// Readers nobody on this project wrote, for checking the zstd:chunked blobs tsconvert writes:
// - checkZstdChunked: our Go oracle test/interop/zstdchunked-check (vbatts/tar-split's archive/tar fork
//   and asm, stargz-snapshotter's reader; docs/format.md checked strictly, first difference named);
// - verifyWithSharedTools: ../shared/interop's zstdchunked-verify (stargz-snapshotter 0.12, or
//   containers/storage 1.43 with --cstorage).
// Both are built offline from Debian's Go packages by ensureInteropTools(); a failed build throws, so
// a test that needs them fails instead of skipping.
import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUR_BUILD = join(REPO, 'test', 'interop', 'build.sh');
const SHARED_BUILD = join(REPO, '..', 'shared', 'interop', 'build.sh');

/** Where both builds put their binaries ($TSCONVERT_INTEROP_BIN, default ~/.cache/tsconvert-interop/bin). */
export const INTEROP_BIN =
  process.env.TSCONVERT_INTEROP_BIN ?? join(homedir(), '.cache', 'tsconvert-interop', 'bin');
export const ZSTDCHUNKED_CHECK = join(INTEROP_BIN, 'zstdchunked-check');
export const ZSTDCHUNKED_VERIFY = join(INTEROP_BIN, 'zstdchunked-verify');
/** test/interop/stargz-grpc: stargz-snapshotter's snapshotter as a containerd proxy plugin. */
export const STARGZ_GRPC = join(INTEROP_BIN, 'stargz-grpc');

/** Options of zstdchunked-check; each one given is checked against the blob. */
export interface CheckOptions {
  /** containerd.io/snapshot/stargz/toc.digest: sha256 of the uncompressed TOC JSON. */
  tocDigest?: string;
  /** …zstd-chunked.manifest-checksum: sha256 of the compressed TOC. */
  manifestChecksum?: string;
  /** Which annotation set the layer carries; makes the matching digest option mandatory. */
  annotations?: 'stargz' | 'containers';
  /** …zstd-chunked.manifest-position (`offset:length:uncompressedLength:1`). */
  manifestPosition?: string;
  /** io.github.containers.zstd-chunked.tarsplit-position (`offset:length:uncompressedLength`). */
  tarSplitPosition?: string;
  /** The fixed chunk size the blob must use (default: inferred). */
  chunkSize?: number;
  /** The uncompressed source tar the blob must decompress to, byte for byte. */
  sourceTar?: string;
}

export interface CheckResult {
  result: 'OK' | 'FAIL';
  /** The first difference found (entry index, field, both values), when FAIL. */
  error?: string;
  /** TOC entries (chunk entries included). */
  entries: number;
  /** Regular files. */
  files: number;
  /** Payload chunks (one frame each). */
  chunks: number;
  members?: number;
  frames?: number;
  diffId?: string;
  tocDigest?: string;
  manifestChecksum?: string;
  manifestPosition?: string;
  tarSplitPosition?: string;
  tarSplitDigest?: string;
}

function checkArgs(blobPath: string, o: CheckOptions): string[] {
  const args: string[] = [];
  const add = (flag: string, v: string | number | undefined): void => {
    if (v !== undefined) args.push(flag, String(v));
  };
  add('--toc-digest', o.tocDigest);
  add('--manifest-checksum', o.manifestChecksum);
  add('--annotations', o.annotations);
  add('--manifest-position', o.manifestPosition);
  add('--tarsplit-position', o.tarSplitPosition);
  add('--chunk-size', o.chunkSize);
  add('--source-tar', o.sourceTar);
  return [...args, blobPath];
}

/** Runs a JSON-printing tool; exit status 1 (FAIL) still yields its JSON, anything else throws. */
async function runJson<T>(tool: string, args: string[]): Promise<T> {
  let stdout: string;
  try {
    ({ stdout } = await run(tool, args, { maxBuffer: 64 << 20, timeout: 600_000 }));
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if ((e.code !== 1 && e.code !== 2) || !e.stdout) {
      throw new Error(`${tool} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`, { cause: err });
    }
    stdout = e.stdout;
  }
  try {
    return JSON.parse(stdout) as T;
  } catch (err) {
    throw new Error(`${tool} printed no JSON: ${stdout.slice(0, 500)}`, { cause: err });
  }
}

/** Checks a zstd:chunked blob with our Go oracle (test/interop/zstdchunked-check). */
export async function checkZstdChunked(blobPath: string, opts: CheckOptions = {}): Promise<CheckResult> {
  return runJson<CheckResult>(ZSTDCHUNKED_CHECK, checkArgs(blobPath, opts));
}

export type SharedVerifyOptions =
  | { mode: 'stargz'; tocDigest: string; list?: boolean }
  | { mode: 'cstorage'; manifestChecksum: string; manifestPosition?: string; list?: boolean };

/** What ../shared/interop's zstdchunked-verify prints (its own field names). */
export interface SharedVerifyResult {
  mode: string;
  result: 'OK' | 'FAIL';
  error?: string;
  blob_digest: string;
  blob_size: number;
  diff_id?: string;
  toc_digest?: string;
  toc_digest_checked: boolean;
  manifest_checksum?: string;
  /** Raw TOC entries (stargz) or merged entries (cstorage). */
  entries: number;
  types: Record<string, number>;
  regular_files: number;
  total_payload: number;
  chunks_verified: number;
  files_verified: number;
  list?: string[];
}

/**
 * Verifies a blob with ../shared/interop's zstdchunked-verify: stargz-snapshotter 0.12 with the TOC digest
 * annotation, or containers/storage 1.43 (`--cstorage`) with the manifest checksum.
 */
export async function verifyWithSharedTools(
  blobPath: string,
  opts: SharedVerifyOptions,
): Promise<SharedVerifyResult> {
  const args =
    opts.mode === 'stargz'
      ? ['--toc-digest', opts.tocDigest]
      : [
          '--cstorage',
          '--manifest-checksum',
          opts.manifestChecksum,
          ...(opts.manifestPosition === undefined ? [] : ['--manifest-position', opts.manifestPosition]),
        ];
  if (opts.list === true) args.push('--list');
  return runJson<SharedVerifyResult>(ZSTDCHUNKED_VERIFY, [...args, blobPath]);
}

async function mtime(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
}

/** Newest modification time of the Go sources behind our checker. */
async function newestSource(): Promise<number> {
  let newest = (await mtime(OUR_BUILD)) ?? 0;
  for (const dir of ['zstdchunked-check', 'testdata-gen', 'stargz-grpc']) {
    const d = join(REPO, 'test', 'interop', dir);
    for (const f of await readdir(d)) newest = Math.max(newest, (await mtime(join(d, f))) ?? 0);
  }
  return newest;
}

async function build(cmd: string, script: string): Promise<void> {
  try {
    await run(cmd, [script], { cwd: REPO, timeout: 900_000, maxBuffer: 64 << 20 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const out = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n');
    throw new Error(
      `${script} failed (install the Go packages with: sh ${script} --deps, as root):\n${out || e.message}`,
      { cause: err },
    );
  }
}

let ensured: Promise<void> | undefined;

/**
 * Builds what is missing: our checker (also when its sources are newer than the binary) with
 * test/interop/build.sh, and the shared tools with ../shared/interop/build.sh. Throws when a build fails.
 */
export function ensureInteropTools(): Promise<void> {
  ensured ??= (async () => {
    const [check, gen, stargz, newest] = await Promise.all([
      mtime(ZSTDCHUNKED_CHECK),
      mtime(join(INTEROP_BIN, 'zstdchunked-testgen')),
      mtime(STARGZ_GRPC),
      newestSource(),
    ]);
    const built = [check, gen, stargz];
    if (built.includes(undefined) || Math.min(...(built as number[])) < newest) {
      await build('bash', OUR_BUILD);
    }
    const shared = await Promise.all(
      ['zstdchunked-verify', 'reference-convert'].map((b) => mtime(join(INTEROP_BIN, b))),
    );
    if (shared.includes(undefined)) await build('sh', SHARED_BUILD);
  })();
  ensured.catch(() => {
    ensured = undefined;
  });
  return ensured;
}
