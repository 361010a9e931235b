// Test access to the generated fixture images: makes sure fixtures/out is current (the generator skips the
// work when its stamp matches), returns the typed fixtures.json, and imports a fixture archive into a real
// containerd with `ctr` so that every blob of every platform, attestations included, is in the content store.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root (this file is test/helpers/fixtures.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_FIXTURES_DIR = join(REPO_ROOT, 'fixtures', 'out');

export type FixtureName = 'multi' | 'docker' | 'dup8' | 'single' | 'chunked' | 'clients';
export type LayerCompression = 'none' | 'gzip' | 'zstd';
/** How a layer blob was made; `in-toto` is an attestation statement stored as is. */
export type LayerMadeBy = 'tar' | 'gzip' | 'zstd' | 'pzstd' | 'zstd-long' | 'zstd-skippable' | 'in-toto';

export interface FixturePlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface FixtureDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** Frame counts of a zstd blob as the generator's own frame walker saw them. */
export interface FixtureFrames {
  data: number;
  skippable: number;
  /** Largest window any data frame declares (134217728 for the `zstd --long` layer). */
  windowSize: number;
}

/**
 * What `--zstdchunked` must write for a layer: zstd:chunked, or plain zstd with a Reason containing `reason`
 * (a layer the format cannot carry, docs/format.md#fallback-to-plain-zstd).
 */
export type ChunkedExpectation =
  { format: 'zstd:chunked'; oldReaderStopsAt?: string } | { format: 'zstd'; reason: string };

export interface FixtureLayer extends FixtureDescriptor {
  position: number;
  compression: LayerCompression;
  made: LayerMadeBy;
  /** sha256 of the uncompressed tar (the digest itself for uncompressed and in-toto layers). */
  diffId: string;
  uncompressedSize: number;
  frames?: FixtureFrames;
  /** The expected `--zstdchunked` result; null for blobs that are not tar layers (attestations). */
  zstdchunked: ChunkedExpectation | null;
  /** First position in the same manifest with the same digest, or null for a first occurrence. */
  duplicateOf: number | null;
}

export interface FixtureManifest extends FixtureDescriptor {
  platform: FixturePlatform;
  /** The index entry's annotations (attestations: vnd.docker.reference.type / .digest); {} otherwise. */
  annotations: Record<string, string>;
  config: FixtureDescriptor;
  layers: FixtureLayer[];
  /** Groups of layer positions sharing one digest, e.g. [[0, 2]]. */
  duplicates: number[][];
}

export interface Fixture {
  name: FixtureName;
  /** Full image name, e.g. docker.io/tsconvert-fixtures/multi:latest. */
  image: string;
  /** The OCI layout archive, relative to fixtures.json. */
  archive: string;
  /** What index.json points at: an OCI index, a Docker manifest list or a single manifest. */
  target: FixtureDescriptor;
  manifests: FixtureManifest[];
}

/** fixtures/out/fixtures.json as written by fixtures/make.mjs. */
export interface FixturesJson {
  schemaVersion: 1;
  /** Stamp of the generator sources and zstd/pzstd versions; a mismatch regenerates. */
  generator: string;
  fixtures: Record<FixtureName, Fixture>;
}

export interface LoadedFixture extends Fixture {
  /** Absolute path of the archive. */
  archivePath: string;
}

export interface FixtureSet extends Omit<FixturesJson, 'fixtures'> {
  dir: string;
  fixtures: Record<FixtureName, LoadedFixture>;
}

const loaded = new Map<string, Promise<FixtureSet>>();

async function generateAndLoad(dir: string): Promise<FixtureSet> {
  const node = join(REPO_ROOT, 'node_modules', '.bin', 'node');
  await run(node, [join(REPO_ROOT, 'fixtures', 'make.mjs'), '--out', dir], { cwd: REPO_ROOT });
  const json = JSON.parse(await readFile(join(dir, 'fixtures.json'), 'utf8')) as FixturesJson;
  const fixtures = {} as Record<FixtureName, LoadedFixture>;
  for (const [name, f] of Object.entries(json.fixtures) as [FixtureName, Fixture][]) {
    fixtures[name] = { ...f, archivePath: join(dir, f.archive) };
  }
  return { ...json, dir, fixtures };
}

/** Generates the fixtures when missing or stale (once per process and directory) and returns fixtures.json. */
export function ensureFixtures(dir: string = DEFAULT_FIXTURES_DIR): Promise<FixtureSet> {
  const key = resolve(dir);
  let set = loaded.get(key);
  if (!set) {
    set = generateAndLoad(key);
    set.catch(() => loaded.delete(key));
    loaded.set(key, set);
  }
  return set;
}

/** Every distinct digest an image references: target, manifests, configs and layers. */
export function fixtureDigests(fixture: Fixture): string[] {
  const all = [fixture.target.digest];
  for (const m of fixture.manifests) all.push(m.digest, m.config.digest, ...m.layers.map((l) => l.digest));
  return [...new Set(all)];
}

export interface ImportOptions {
  /** containerd socket. */
  address: string;
  namespace: string;
  /** Unpack the host platform into snapshots too (default false: content only). */
  unpack?: boolean;
  /** Fixture directory (default fixtures/out). */
  dir?: string;
  /** The ctr binary (default `ctr` on PATH). */
  ctr?: string;
}

/**
 * Imports a fixture with `ctr images import --all-platforms --no-unpack`, then checks with `ctr content ls`
 * that every blob it references landed (ctr's own `images check` only looks at the host platform).
 * Without --all-platforms, ctr keeps only the host platform's blobs and the GC drops the rest.
 * @returns the image name
 */
export async function importFixture(name: FixtureName, opts: ImportOptions): Promise<string> {
  const fixture = (await ensureFixtures(opts.dir)).fixtures[name];
  const ctr = opts.ctr ?? 'ctr';
  const base = ['-a', opts.address, '-n', opts.namespace];
  const flags = ['--all-platforms', ...(opts.unpack ? [] : ['--no-unpack'])];
  await run(ctr, [...base, 'images', 'import', ...flags, fixture.archivePath], { maxBuffer: 16 << 20 });
  const { stdout } = await run(ctr, [...base, 'content', 'ls', '-q'], { maxBuffer: 64 << 20 });
  const present = new Set(stdout.split('\n').map((l) => l.trim()));
  const missing = fixtureDigests(fixture).filter((d) => !present.has(d));
  if (missing.length > 0) {
    throw new Error(`importFixture(${name}): blobs missing after import: ${missing.join(', ')}`);
  }
  return fixture.image;
}
