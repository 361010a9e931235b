// Hostile OCI layouts for the input scenarios (issue 17: F6, F7, F11, F12, F14), written file by file so
// a test can put anything anywhere (a wrong media type, a mislabelled layer, a huge document), and the
// checks every scenario ends with: exit code, one stderr line, nothing left in $TMPDIR, no image written
// into the destination, and the source byte for byte as it was.

import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { tsconvert, type CliResult } from '../helpers/cli.js';

export const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string };
}

/** A layout directory being built: blobs are added, then `finish` writes index.json and oci-layout. */
export class LayoutBuilder {
  constructor(readonly root: string) {}

  static async create(parent: string, name = 'src'): Promise<LayoutBuilder> {
    const root = join(parent, name);
    await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
    return new LayoutBuilder(root);
  }

  async blob(data: Uint8Array | string, mediaType: string): Promise<Desc> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = sha256(bytes);
    await writeFile(join(this.root, 'blobs', 'sha256', digest.slice(7)), bytes);
    return { mediaType, digest, size: bytes.byteLength };
  }

  json(value: unknown, mediaType: string): Promise<Desc> {
    return this.blob(JSON.stringify(value), mediaType);
  }

  /** A config for linux/amd64 whose diff_ids are given (omitted: no rootfs at all). */
  config(diffIds?: string[], mediaType = 'application/vnd.oci.image.config.v1+json'): Promise<Desc> {
    const body: Record<string, unknown> = { architecture: 'amd64', os: 'linux' };
    if (diffIds !== undefined) body.rootfs = { type: 'layers', diff_ids: diffIds };
    return this.json(body, mediaType);
  }

  manifest(
    config: Desc,
    layers: Desc[],
    mediaType = 'application/vnd.oci.image.manifest.v1+json',
  ): Promise<Desc> {
    return this.json({ schemaVersion: 2, mediaType, config, layers }, mediaType);
  }

  async finish(entries: Array<{ desc: Desc; ref?: string }>): Promise<string> {
    const manifests = entries.map(({ desc, ref }) =>
      ref === undefined
        ? desc
        : { ...desc, annotations: { ...desc.annotations, 'org.opencontainers.image.ref.name': ref } },
    );
    await writeFile(join(this.root, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(this.root, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
    return this.root;
  }
}

/** A GNU-tar-like archive of one file, made by hand (512-byte header, payload, padding, two zero blocks). */
export function tarOfOneFile(name: string, body: Uint8Array): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${body.byteLength.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const pad = Buffer.alloc((512 - (body.byteLength % 512)) % 512);
  return Buffer.concat([header, body, pad, Buffer.alloc(1024)]);
}

/** Every file under `dir` (relative path → sha256), to tell that a tree did not change. */
export async function treeDigest(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      // Links are recorded by target and never followed: a source may link to /dev/zero on purpose.
      if (e.isDirectory()) await walk(p);
      else if (e.isSymbolicLink()) out.set(relative(dir, p), `link to ${await readlink(p)}`);
      else if (e.isFile()) out.set(relative(dir, p), sha256(await readFile(p)));
      else out.set(relative(dir, p), 'not a regular file');
    }
  };
  await walk(dir);
  return out;
}

/** A scenario's private directories: its own $TMPDIR, and a parent for the source and destination. */
export interface Scenario {
  dir: string;
  tmp: string;
  run(args: readonly string[]): Promise<CliResult>;
  /** `tsconvert image convert ARGS…` with the scenario's $TMPDIR. */
  convert(args: readonly string[]): Promise<CliResult>;
  dispose(): Promise<void>;
}

export async function scenario(): Promise<Scenario> {
  const dir = await mkdtemp(join(tmpdir(), 'tsc-input-'));
  const tmp = join(dir, 'tmp');
  await mkdir(tmp);
  return {
    dir,
    tmp,
    run: (args) => tsconvert(args, { TMPDIR: tmp }),
    convert: (args) => tsconvert(['image', 'convert', ...args], { TMPDIR: tmp }),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Non-zero exit with exactly one stderr line matching `pattern`; no control byte reached stderr. */
export function expectOneLineFailure(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  // Control bytes other than the line feed are what F11 forbids on stderr.
  // eslint-disable-next-line no-control-regex
  expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
}

/** $TMPDIR is empty, the destination layout (if any) has no image and no ingest, the source is unchanged. */
export async function expectNothingLeft(
  s: Scenario,
  source: { root: string; before: Map<string, string> },
  destination?: string,
): Promise<void> {
  expect(await readdir(s.tmp)).toEqual([]);
  expect(await treeDigest(source.root)).toEqual(source.before);
  if (destination === undefined) return;
  const names = await readdir(destination).catch(() => [] as string[]);
  expect(names.filter((n) => n.startsWith('.tsconvert-ingest') && n !== '.tsconvert-ingest')).toEqual([]);
  const ingests = await readdir(join(destination, '.tsconvert-ingest')).catch(() => [] as string[]);
  expect(ingests).toEqual([]);
  const index = await readFile(join(destination, 'index.json'), 'utf8').catch(() => '{"manifests":[]}');
  expect((JSON.parse(index) as { manifests: unknown[] }).manifests).toEqual([]);
}
