// The daemon-less ImageBackend: an OCI image layout directory (`oci:DIR`) or a layout in a tar file
// (`oci-archive:FILE`). A directory is used in place. An archive source is extracted into a private temp
// directory; an archive destination is built in one (starting from the existing archive, so its other
// images are kept) and only written, atomically, when the caller calls finish() after a successful run.
// close() always removes the temp directory, so an abandoned run leaves the target untouched. A destination
// archive is locked (.NAME.lock beside it) from open to close, so concurrent runs writing one archive take
// turns and each adds its image to what the one before wrote.
//
//   const src = await openOciLayout({ path: 'in', mode: 'read', signal });
//   const dst = await openOciLayout({ path: 'out.tar', archive: true, mode: 'write', signal });
//   try { ...convert...; await dst.finish({ signal }); } finally { await dst.close(); await src.close(); }

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { malformed, notFound, throwIfAborted, TsconvertError } from '../errors.js';
import { asErrno, explainMkdirError, fileError } from '../file-errors.js';
import type { CallOptions } from '../store/content-store.js';
import type {
  BackendHints,
  DeadRunCleanupOptions,
  ImageBackend,
  LeaseManager,
} from '../store/image-store.js';
import { noLeases } from '../store/no-leases.js';
import { silentLogger, type Logger } from '../util/log.js';
import { archiveWriteError, extractArchive, packArchive } from './archive.js';
import { LayoutContentStore } from './content.js';
import {
  atomicWriteFile,
  exists,
  isENOENT,
  realDir,
  realDirIfPresent,
  realFileIfPresent,
} from './fs-util.js';
import { emptyIndex, LayoutImageStore } from './images.js';
import { cleanupArchiveDir, cleanupLayout, cleanupTempDirs } from './dead-runs.js';
import { readJsonFile } from './json-file.js';
import { acquireFileLock, type FileLock } from './lock.js';
import { LayoutReuseStore } from './reuse-records.js';
import { tempDirPrefix } from './temp-names.js';
import {
  blobsDir,
  IMAGE_LAYOUT_VERSION,
  INDEX_FILE,
  INDEX_LOCK_FILE,
  INGEST_DIR,
  OCI_LAYOUT_FILE,
  REUSE_DIR,
} from './paths.js';

export interface OpenOciLayoutOptions {
  /** The layout directory, or the tar file when `archive` is true. */
  path: string;
  /** `path` is an oci-archive tar file rather than a directory. */
  archive?: boolean;
  /** 'read' refuses every write; 'write' creates the layout (or archive) if it is missing. */
  mode: 'read' | 'write';
  signal: AbortSignal;
  /** Parent of the private directory an archive is extracted into or built in; default os.tmpdir(). */
  tempDir?: string;
  logger?: Logger;
}

/** How long a run waits for another run writing the same archive (a whole conversion) before giving up. */
export const ARCHIVE_LOCK_TIMEOUT_MS = 30 * 60_000;

export class OciLayoutBackend implements ImageBackend {
  readonly kind = 'oci layout';
  readonly content: LayoutContentStore;
  readonly images: LayoutImageStore;
  readonly leases: LeaseManager = noLeases('oci-layout');
  readonly hints: BackendHints;
  /** Reuse records of a writable layout directory; an archive is rewritten whole and keeps none. */
  readonly reuse: LayoutReuseStore | undefined;
  /** The directory that holds the layout (for an archive: the private temp directory). */
  readonly root: string;
  /** The archive file this layout came from or goes to, if any. */
  readonly archive: string | undefined;
  readonly mode: 'read' | 'write';
  readonly #tempRoot: string | undefined;
  readonly #lock: FileLock | undefined;
  /** Where archive work directories are made (and dead runs' ones are looked for). */
  readonly #tempParent: string;
  readonly #logger: Logger;
  #closed = false;

  constructor(
    root: string,
    mode: 'read' | 'write',
    archive?: { file: string; tempRoot: string; lock?: FileLock },
    logger?: Logger,
    tempParent: string = tmpdir(),
  ) {
    this.root = root;
    this.mode = mode;
    this.archive = archive?.file;
    this.#tempRoot = archive?.tempRoot;
    this.#lock = archive?.lock;
    this.#tempParent = tempParent;
    this.#logger = logger ?? silentLogger;
    const where = archive === undefined ? `OCI layout ${root}` : `OCI archive ${archive.file}`;
    // A layout is written by a copy tool, not pulled: the fix is to copy again, never to contact a registry.
    this.hints = {
      missingContent: () =>
        `the ${where} is incomplete; copy the image into it again (e.g. skopeo copy) or re-create it`,
      damagedContent: `the ${where} is damaged; copy the image into it again (e.g. skopeo copy) or re-create it`,
    };
    const role = archive !== undefined ? 'temporary' : mode === 'read' ? 'source' : 'destination';
    this.content = new LayoutContentStore(
      root,
      mode === 'read',
      { where, role, damagedHint: this.hints.damagedContent },
      this.#logger,
    );
    this.images = new LayoutImageStore(root, mode === 'read', where);
    this.reuse =
      archive === undefined && mode === 'write' ? new LayoutReuseStore(root, this.content) : undefined;
  }

  /** Leases mean nothing here, so the same backend serves every lease. */
  withLease(_leaseId: string): ImageBackend {
    return this;
  }

  /**
   * Makes the run's result durable where it is not already: for an archive destination, packs the layout
   * into a temp file next to the archive and renames it into place. A no-op for directories and sources.
   */
  async finish(options: CallOptions): Promise<void> {
    if (this.#closed) throw new TsconvertError('FAILED_PRECONDITION', 'finish() after close()');
    if (this.archive === undefined || this.mode === 'read') return;
    this.#logger.debug({ archive: this.archive }, 'writing OCI archive');
    try {
      await packArchive(this.root, this.archive, options.signal);
    } catch (err) {
      throw fileError(err, 'destination', `writing OCI archive ${this.archive}`, dirname(this.archive));
    }
  }

  /**
   * Removes dead runs' temp files and ingests of this destination (dead-runs.ts), and their archive work
   * directories in the temp directory. A conversion runs it on its destination before it starts
   * (src/cli/run-cleanup.ts), as `tsconvert cleanup` does.
   */
  async cleanupDeadRuns(options: DeadRunCleanupOptions): Promise<string[]> {
    throwIfAborted(options.signal);
    // A layout's runs hold no leases: all there is to do happens in the first phase.
    if (this.mode === 'read' || options.leases === 'only') return [];
    const here =
      this.archive === undefined
        ? await cleanupLayout(this.root, options.signal)
        : await cleanupArchiveDir(this.archive);
    return [...here, ...(await cleanupTempDirs(this.#tempParent))];
  }

  /** Releases the backend; removes an archive's temp directory (an unfinished archive is never written). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#tempRoot !== undefined) await rm(this.#tempRoot, { recursive: true, force: true });
    } finally {
      await this.#lock?.release();
    }
  }
}

/** Checks the `oci-layout` marker file of the layout at `root`; false when there is none. */
async function hasLayoutFile(root: string, signal: AbortSignal): Promise<boolean> {
  const where = join(root, OCI_LAYOUT_FILE);
  let text: string;
  try {
    text = (await readJsonFile(where, 'oci-layout', signal)).toString('utf8');
  } catch (err) {
    if (isENOENT(err)) return false;
    throw err;
  }
  let version: unknown;
  try {
    version = (JSON.parse(text) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch (err) {
    throw malformed(`${where}: not JSON`, { cause: err });
  }
  if (typeof version !== 'string' || !version.startsWith('1.')) {
    throw malformed(`${where}: unsupported imageLayoutVersion ${JSON.stringify(version)}, want 1.x`);
  }
  return true;
}

async function checkLayoutFile(root: string, signal: AbortSignal): Promise<void> {
  if (!(await hasLayoutFile(root, signal))) {
    throw malformed(`${root} is not an OCI image layout: it has no ${OCI_LAYOUT_FILE} file`);
  }
}

/** Creates whatever of the layout at `root` is missing: directory, marker file, blobs/, empty index.json. */
async function initLayout(root: string, signal: AbortSignal): Promise<void> {
  await mkdir(root, { recursive: true });
  await realDir(join(root, 'blobs'), 'directory');
  await realDir(blobsDir(root), 'directory');
  await realDirIfPresent(join(root, INGEST_DIR), 'ingest directory');
  await realDirIfPresent(join(root, REUSE_DIR), 'reuse record directory');
  for (const file of [OCI_LAYOUT_FILE, INDEX_FILE, INDEX_LOCK_FILE]) {
    await realFileIfPresent(join(root, file), 'layout file');
  }
  if (!(await hasLayoutFile(root, signal))) {
    const marker = JSON.stringify({ imageLayoutVersion: IMAGE_LAYOUT_VERSION });
    await atomicWriteFile(join(root, OCI_LAYOUT_FILE), marker, signal);
  }
  const index = join(root, INDEX_FILE);
  if (await exists(index)) return;
  const lock = await acquireFileLock(join(root, INDEX_LOCK_FILE), { signal, what: `OCI layout ${root}` });
  try {
    if (!(await exists(index))) await atomicWriteFile(index, `${JSON.stringify(emptyIndex())}\n`, signal);
  } finally {
    await lock.release();
  }
}

/**
 * Takes the lock of a destination archive, held from before its images are read until close(), so a second
 * run writing it waits and then adds its image to the first one's result instead of replacing it.
 */
async function lockArchive(file: string, options: OpenOciLayoutOptions): Promise<FileLock> {
  const path = join(dirname(file), `.${basename(file)}.lock`);
  try {
    return await acquireFileLock(path, {
      signal: options.signal,
      timeoutMs: ARCHIVE_LOCK_TIMEOUT_MS,
      what: `OCI archive ${file}`,
      onWait: () =>
        options.logger?.info(`OCI archive ${file} is being written by another run; waiting for it`),
    });
  } catch (err) {
    throw archiveWriteError(err, file);
  }
}

async function openArchive(options: OpenOciLayoutOptions, file: string): Promise<OciLayoutBackend> {
  const { signal } = options;
  if (!(await exists(file)) && options.mode === 'read') throw notFound(`OCI archive ${file} not found`);
  if (!(await exists(dirname(file))))
    throw notFound(`directory ${dirname(file)} of OCI archive ${file} not found`);
  const lock = options.mode === 'write' ? await lockArchive(file, options) : undefined;
  const what = `${options.mode === 'read' ? 'reading' : 'preparing'} OCI archive ${file}`;
  const temp = options.tempDir ?? tmpdir();
  let tempRoot: string | undefined;
  try {
    if (options.mode === 'read') {
      for (const line of await cleanupTempDirs(temp)) options.logger?.info(line);
    }
    tempRoot = await mkdtemp(tempDirPrefix(temp)).catch((err: unknown) => {
      throw fileError(err, 'temporary', what, temp);
    });
    const root = join(tempRoot, 'layout');
    await mkdir(root);
    // Looked at again under the lock: the run before us may have just created it.
    if (await exists(file)) {
      await extractArchive(file, root, signal).catch((err: unknown) => archiveError(err, file));
    }
    if (options.mode === 'write') await initLayout(root, signal);
    else await checkLayoutFile(root, signal);
    return new OciLayoutBackend(root, options.mode, { file, tempRoot, lock }, options.logger, temp);
  } catch (err) {
    if (tempRoot !== undefined) await rm(tempRoot, { recursive: true, force: true });
    await lock?.release();
    // Errors of the archive itself are named above; any other file error here is of its copy in $TMPDIR.
    throw fileError(err, 'temporary', what, temp);
  }
}

/**
 * An archive that cannot be extracted: a file error names the archive (reading it) or $TMPDIR (writing the
 * copy); anything else is the tar parser refusing the bytes, named after the archive.
 */
function archiveError(err: unknown, file: string): never {
  if (err instanceof TsconvertError) throw err;
  const errno = asErrno(err);
  if (errno !== undefined) {
    if (errno.path !== file) throw err;
    throw fileError(err, 'source', `reading OCI archive ${file}`, file);
  }
  const why = err instanceof Error ? err.message : String(err);
  throw malformed(`OCI archive ${file} is not a valid tar file: ${why}`, {
    cause: err,
    hint: 'copy the image into it again (e.g. skopeo copy) or re-create it',
  });
}

/** Opens an OCI image layout directory or archive as an ImageBackend. */
export async function openOciLayout(options: OpenOciLayoutOptions): Promise<OciLayoutBackend> {
  throwIfAborted(options.signal);
  const path = resolve(options.path);
  if (options.archive === true) return openArchive(options, path);
  if (options.mode === 'write') {
    try {
      await initLayout(path, options.signal);
    } catch (err) {
      throw fileError(await explainMkdirError(err), 'destination', `creating OCI layout ${path}`);
    }
  } else {
    if (!(await exists(path))) throw notFound(`OCI layout ${path} not found`);
    await checkLayoutFile(path, options.signal);
  }
  return new OciLayoutBackend(path, options.mode, undefined, options.logger, options.tempDir);
}
