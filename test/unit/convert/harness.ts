// Runs the converter core (convertImage) in-process on the OCI-layout backend, as src/cli/run-convert.ts
// does but without the binary: a fixture archive (test/helpers/fixtures.ts) is the source, a fresh layout
// directory the destination, and $TMPDIR a fresh directory of its own. Both stores are wrapped so a test
// sees every source read (finished, returned or failed) and every destination commit, and can check that
// nothing temporary is left afterwards.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertImage } from '../../../src/convert/convert-image.js';
import type { ConvertResult } from '../../../src/convert/options.js';
import type { LayerEventSink } from '../../../src/convert/progress.js';
import type { LayerFormat } from '../../../src/layers/layer-format.js';
import type { PlatformMatcher } from '../../../src/oci/platform.js';
import type { Descriptor } from '../../../src/oci/types.js';
import { openOciLayout, type OciLayoutBackend } from '../../../src/oci-layout/index.js';
import { blobPath, blobsDir, INGEST_DIR } from '../../../src/oci-layout/paths.js';
import type { ContentStore, ContentWriter } from '../../../src/store/content-store.js';
import type { ImageBackend } from '../../../src/store/image-store.js';
import type { Logger } from '../../../src/util/log.js';
import { ensureFixtures, type FixtureName, type LoadedFixture } from '../../helpers/fixtures.js';

/** One read of a source blob, and how it ended (undefined: still open). */
export interface TrackedRead {
  /** Position in the run's list of reads. */
  seq: number;
  digest: string;
  chunks: number;
  closed: 'done' | 'returned' | 'failed' | undefined;
}

/** A destination commit, with the reads of the same source layer that were still open at that moment. */
export interface TrackedCommit {
  ref: string;
  source: string | undefined;
  openReads: TrackedRead[];
}

export interface RunOptions {
  fixture: FixtureName;
  layerFormat: LayerFormat | undefined;
  platforms: PlatformMatcher;
  /** Called after each chunk a source read hands out (e.g. to abort mid-layer). */
  onChunk?: (read: TrackedRead, dirs: RunDirs) => void;
  controller?: AbortController;
  jobs?: number;
  /** The converter's per-layer progress events (ConvertOptions.onLayerEvent). */
  onLayerEvent?: LayerEventSink;
}

export interface RunDirs {
  /** The run's $TMPDIR. */
  tmp: string;
  /** Where the source archive is extracted. */
  extract: string;
  /** The destination layout. */
  layout: string;
}

export interface Run {
  fixture: LoadedFixture;
  /** The result, or what convertImage rejected with. */
  result: ConvertResult | undefined;
  error: unknown;
  reads: TrackedRead[];
  commits: TrackedCommit[];
  warnings: string[];
  destination: OciLayoutBackend;
  dirs: RunDirs;
}

export const DESTINATION_NAME = 'converted';

function delegating(store: ContentStore): ContentStore {
  return {
    info: (digest, options) => store.info(digest, options),
    read: (digest, options) => store.read(digest, options),
    updateLabels: (digest, labels, options) => store.updateLabels(digest, labels, options),
    openWriter: (options) => store.openWriter(options),
    abortIngest: (ref, options) => store.abortIngest(ref, options),
    listIngests: (options) => store.listIngests(options),
  };
}

function trackedContent(
  store: ContentStore,
  reads: TrackedRead[],
  onChunk: ((read: TrackedRead) => void) | undefined,
): ContentStore {
  return {
    ...delegating(store),
    read(digest, options) {
      const inner = store.read(digest, options);
      return {
        [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
          const it = inner[Symbol.asyncIterator]();
          const read: TrackedRead = { seq: reads.length, digest, chunks: 0, closed: undefined };
          reads.push(read);
          return {
            async next() {
              try {
                const r = await it.next();
                if (r.done === true) read.closed ??= 'done';
                else {
                  read.chunks++;
                  onChunk?.(read);
                }
                return r;
              } catch (err) {
                read.closed ??= 'failed';
                throw err;
              }
            },
            async return(value?: unknown) {
              read.closed ??= 'returned';
              return (await it.return?.(value)) ?? { done: true, value: undefined };
            },
          };
        },
      };
    },
  };
}

function committing(store: ContentStore, reads: TrackedRead[], commits: TrackedCommit[]): ContentStore {
  return {
    ...delegating(store),
    async openWriter(options): Promise<ContentWriter> {
      const writer = await store.openWriter(options);
      const source = /sha256:[0-9a-f]{64}/.exec(options.ref)?.[0];
      return {
        get ref() {
          return writer.ref;
        },
        get offset() {
          return writer.offset;
        },
        write: (data) => writer.write(data),
        truncate: () => writer.truncate(),
        abort: () => writer.abort(),
        commit(commitOptions) {
          const openReads = reads.filter((r) => r.digest === source && r.closed === undefined);
          commits.push({ ref: options.ref, source, openReads: openReads.map((r) => ({ ...r })) });
          return writer.commit(commitOptions);
        },
      };
    },
  };
}

/** The same backend with its content store replaced (leases mean nothing to a layout: one object serves). */
function withContent(backend: ImageBackend, content: ContentStore): ImageBackend {
  const wrapped: ImageBackend = {
    kind: backend.kind,
    hints: backend.hints,
    content,
    images: backend.images,
    leases: backend.leases,
    withLease: () => wrapped,
    close: () => backend.close(),
  };
  return wrapped;
}

function recordingLogger(warnings: string[]): Logger {
  const noop = (): void => {};
  const warn = (a: unknown, b?: string): void => void warnings.push(typeof a === 'string' ? a : (b ?? ''));
  return { debug: noop, info: noop, warn, error: noop };
}

/** Converts a fixture with $TMPDIR pointed at a fresh directory; the source is closed, the destination not. */
export async function convertFixture(options: RunOptions): Promise<Run> {
  const fixture = (await ensureFixtures()).fixtures[options.fixture];
  const base = await mkdtemp(join(tmpdir(), 'tsconvert-core-'));
  const dirs: RunDirs = {
    tmp: join(base, 'tmp'),
    extract: join(base, 'extract'),
    layout: join(base, 'layout'),
  };
  await Promise.all([mkdir(dirs.tmp), mkdir(dirs.extract)]);
  const controller = options.controller ?? new AbortController();
  const signal = controller.signal;
  const source = await openOciLayout({
    path: fixture.archivePath,
    archive: true,
    mode: 'read',
    signal,
    tempDir: dirs.extract,
  });
  const destination = await openOciLayout({ path: dirs.layout, mode: 'write', signal });
  const run: Run = {
    fixture,
    result: undefined,
    error: undefined,
    reads: [],
    commits: [],
    warnings: [],
    destination,
    dirs,
  };
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = dirs.tmp;
  try {
    run.result = await convertImage({
      source: {
        backend: withContent(
          source,
          trackedContent(source.content, run.reads, (read) => options.onChunk?.(read, dirs)),
        ),
        name: '',
      },
      destination: {
        backend: withContent(destination, committing(destination.content, run.reads, run.commits)),
        name: DESTINATION_NAME,
      },
      layerFormat: options.layerFormat,
      oci: true,
      platforms: options.platforms,
      jobs: options.jobs ?? 2,
      logger: recordingLogger(run.warnings),
      signal,
      ...(options.onLayerEvent === undefined ? {} : { onLayerEvent: options.onLayerEvent }),
    });
  } catch (err) {
    run.error = err;
  } finally {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await source.close();
  }
  return run;
}

/** What is left of a run besides the destination's blobs and index: temp files, extraction dirs, ingests. */
export async function leftovers(run: Run): Promise<string[]> {
  const names = async (dir: string): Promise<string[]> =>
    (await readdir(dir).catch(() => [])).map((n) => join(dir, n));
  return [
    ...(await names(run.dirs.tmp)),
    ...(await names(run.dirs.extract)),
    ...(await names(join(run.dirs.layout, INGEST_DIR))),
  ];
}

/** Removes the run's directories. */
export async function removeRun(run: Run): Promise<void> {
  await run.destination.close();
  await rm(join(run.dirs.tmp, '..'), { recursive: true, force: true });
}

export async function readBlob(run: Run, digest: string): Promise<Buffer> {
  return readFile(blobPath(run.destination.root, digest));
}

export async function readJson<T>(run: Run, digest: string): Promise<T> {
  return JSON.parse((await readBlob(run, digest)).toString('utf8')) as T;
}

/** Every blob file in the destination layout. */
export async function blobDigests(run: Run): Promise<string[]> {
  return (await readdir(blobsDir(run.destination.root))).map((h) => `sha256:${h}`).sort();
}

/** Every digest reachable from `target` (index, manifests, configs, layers). */
export async function reachable(run: Run, target: Descriptor): Promise<string[]> {
  const seen = new Set<string>([target.digest]);
  if (target.mediaType.endsWith('index.v1+json') || target.mediaType.endsWith('list.v2+json')) {
    const index = await readJson<{ manifests: Descriptor[] }>(run, target.digest);
    for (const m of index.manifests) for (const d of await reachable(run, m)) seen.add(d);
  } else if (target.mediaType.endsWith('manifest.v1+json') || target.mediaType.endsWith('manifest.v2+json')) {
    const manifest = await readJson<{ config: Descriptor; layers: Descriptor[] }>(run, target.digest);
    seen.add(manifest.config.digest);
    for (const l of manifest.layers) seen.add(l.digest);
  }
  return [...seen].sort();
}

/** sha256 of a zstd blob's content, decompressed with the zstd CLI (a reader nobody here wrote). */
export async function zstdDiffId(run: Run, digest: string): Promise<string> {
  const tar = execFileSync('zstd', ['-dc', blobPath(run.destination.root, digest)], { maxBuffer: 256 << 20 });
  return `sha256:${createHash('sha256').update(tar).digest('hex')}`;
}
