// oci-archive support: a layout in a tar file. Extraction reads entries (this project's tar reader) into a
// private directory and treats names as hostile: absolute names, ".." components, NUL bytes, links and device
// entries are refused, and only regular files and directories are created, so nothing can land outside
// the directory. Packing writes oci-layout, index.json and the blobs tree (never tsconvert's private
// dot-entries) to a temporary name next to the target and renames it into place.

import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack as tarPack, type Pack } from 'tar-stream';
import { abortError, InvalidDataError, malformed, throwIfAborted, TsconvertError } from '../errors.js';
import { fileChunks } from '../store/file-range.js';
import { scanTarBatches, type TarMember } from '../tar/index.js';
import { errnoCode, fsyncDir, openRegularFile } from './fs-util.js';
import { tempName } from './temp-names.js';
import { INDEX_FILE, OCI_LAYOUT_FILE } from './paths.js';

/** The entry name as a safe relative path, or undefined for "the directory itself" (".", "./"). */
export function safeEntryPath(name: string, archive: string): string | undefined {
  const refuse = (why: string): never => {
    throw malformed(`archive ${archive}: entry ${JSON.stringify(name)} ${why}; refusing to extract`, {
      hint: 'an oci-archive holds only oci-layout, index.json and blobs/',
    });
  };
  if (name.includes('\0')) refuse('contains a NUL byte');
  if (name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name)) refuse('is an absolute path');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) refuse('would be written outside the layout (".." component)');
  return parts.length === 0 ? undefined : posix.join(...parts);
}

/** What a member that is not a regular file or a directory is, in the refusal's words. */
const REFUSED_TYPES: Record<string, string> = {
  symlink: 'symlink',
  hardlink: 'hard link',
  char: 'character device',
  block: 'block device',
  fifo: 'FIFO',
};

/** Creates a directory member, or opens the file a regular member's payload goes to; refuses the rest. */
async function startEntry(member: TarMember, dest: string, archive: string): Promise<FileHandle | undefined> {
  const name = member.name.text;
  const rel = safeEntryPath(name, archive);
  if (member.type === 'dir') {
    if (rel !== undefined) await mkdir(join(dest, rel), { recursive: true });
    return undefined;
  }
  if (member.type !== 'reg' || member.facts.sparse) {
    const what = member.facts.sparse
      ? 'sparse file'
      : (REFUSED_TYPES[member.type ?? ''] ?? `type ${member.typeflag} entry`);
    throw malformed(
      `archive ${archive}: entry ${JSON.stringify(name)} is a ${what}; an OCI layout holds only files and directories`,
    );
  }
  if (rel === undefined) throw malformed(`archive ${archive}: a file entry has an empty name`);
  const target = join(dest, rel);
  await mkdir(dirname(target), { recursive: true });
  return open(target, 'w', 0o644);
}

async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  for (let done = 0; done < data.length;)
    done += (await fh.write(data, done, data.length - done)).bytesWritten;
}

/**
 * Extracts the oci-archive `file` into the existing empty directory `dest`: the archive is read into two
 * reused buffers and scanned by this project's tar reader (src/tar), each payload piece written where it
 * belongs. tar-stream did this with a fresh buffer per piece and per stream step: ~0.75 s of the main
 * thread's CPU for the bench's 463 MB archive, before any layer could start.
 */
export async function extractArchive(file: string, dest: string, signal: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  const archive = await openRegularFile(file, 'OCI archive');
  const { size } = await archive.stat();
  let out: FileHandle | undefined;
  try {
    for await (const batch of scanTarBatches(fileChunks(archive, { start: 0, end: size }, signal, true), {
      signal,
    })) {
      for (const ev of batch) {
        if (ev.kind === 'member') {
          await out?.close();
          out = undefined;
          out = await startEntry(ev.member, dest, file);
        } else if (ev.kind === 'payload' && out !== undefined) await writeAll(out, ev.data);
        else if (
          ev.kind === 'end' &&
          (ev.summary.ending !== 'two-zero-blocks' || ev.summary.truncatedPadding)
        )
          // Go's reader (and so the scanner) takes an input that stops at a block boundary, after one zero
          // block or inside padding as ended; every archive writer ends with two zero blocks, so here it is
          // a copy cut short.
          throw truncated(file);
      }
    }
  } catch (err) {
    if (signal.aborted) throw abortError(signal);
    throw archiveError(err, file);
  } finally {
    await out?.close().catch(() => undefined);
  }
}

function truncated(file: string, cause?: unknown): TsconvertError {
  return malformed(`OCI archive ${file} ends inside an entry: the file is truncated`, {
    cause,
    hint: 'copy the image into it again (e.g. skopeo copy) or re-create it',
  });
}

/** The tar reader's complaint as the archive's: one cut short is said to be so, whatever was cut. */
function archiveError(err: unknown, file: string): unknown {
  if (!(err instanceof InvalidDataError)) return err;
  if (/input ends/.test(err.message)) return truncated(file, err);
  return malformed(`OCI archive ${file} is not a valid tar file: ${err.message}`, { cause: err });
}

/** `p`, or a rejection with the signal's reason as soon as it fires (`p` is left to settle unobserved). */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}

/** Adds one file; every wait ends when `signal` fires (the caller fires it when the output fails too). */
async function addFile(pack: Pack, name: string, path: string, signal: AbortSignal): Promise<void> {
  const st = await stat(path);
  let settle!: (err?: Error | null) => void;
  const done = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  // Observed now, awaited below: an interrupted copy must not leave this rejection unhandled.
  done.catch(() => undefined);
  const entry = pack.entry({ name, size: st.size, mode: 0o644, mtime: st.mtime, type: 'file' }, settle);
  entry.on('error', settle);
  for await (const chunk of createReadStream(path, { signal })) {
    if (!entry.write(chunk)) await once(entry, 'drain', { signal });
  }
  entry.end(undefined);
  await unlessAborted(done, signal);
}

/** Files of the blobs tree, depth-first and sorted, as archive-relative names. */
async function blobEntries(root: string, rel = 'blobs'): Promise<{ dirs: string[]; files: string[] }> {
  const dirs = [rel];
  const files: string[] = [];
  const items = await readdir(join(root, rel), { withFileTypes: true });
  for (const item of items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const child = `${rel}/${item.name}`;
    if (item.isDirectory()) {
      const sub = await blobEntries(root, child);
      dirs.push(...sub.dirs);
      files.push(...sub.files);
    } else if (item.isFile()) {
      files.push(child);
    }
  }
  return { dirs, files };
}

async function writeTar(dir: string, out: string, signal: AbortSignal): Promise<void> {
  // Opened here, not by the stream, so a file that cannot be created fails at once with its own error.
  const fh = await open(out, 'wx', 0o644);
  const pack = tarPack();
  // A failing output (EROFS, ENOSPC, ...) ends every wait of the packing side, which would otherwise wait
  // for a 'drain' that never comes.
  const broken = new AbortController();
  const written = pipeline(pack, fh.createWriteStream(), { signal });
  written.catch((err: unknown) => broken.abort(err));
  const inner = AbortSignal.any([signal, broken.signal]);
  try {
    await addFile(pack, OCI_LAYOUT_FILE, join(dir, OCI_LAYOUT_FILE), inner);
    await addFile(pack, INDEX_FILE, join(dir, INDEX_FILE), inner);
    const { dirs, files } = await blobEntries(dir);
    for (const d of dirs) pack.entry({ name: `${d}/`, type: 'directory', mode: 0o755 });
    for (const f of files) await addFile(pack, f, join(dir, f), inner);
    pack.finalize();
    await written;
  } catch (err) {
    pack.destroy();
    await written.catch(() => undefined);
    if (signal.aborted) throw abortError(signal);
    throw broken.signal.aborted ? (broken.signal.reason as Error) : err;
  }
}

/** Packs the layout at `dir` into `file`, atomically: a temp file next to it, fsync, rename. */
export async function packArchive(dir: string, file: string, signal: AbortSignal): Promise<void> {
  const tmp = tempName(file);
  try {
    await writeTar(dir, tmp, signal);
    const fh = await open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    throwIfAborted(signal);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw archiveWriteError(err, file);
  }
  await fsyncDir(dirname(file));
}

/** A file-system error met while writing next to the archive `file`, as one line naming the archive. */
export function archiveWriteError(err: unknown, file: string): unknown {
  if (err instanceof TsconvertError || errnoCode(err) === undefined) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TsconvertError('FAILED_PRECONDITION', `cannot write OCI archive ${file}: ${message}`, {
    cause: err,
    hint: `check that ${dirname(file)} is writable and has free space`,
  });
}
