// Removes what runs that are now dead (SIGKILL, OOM, reboot) left behind around an OCI layout: temp files
// beside their targets (in the layout, and among its reuse records), ingests under .tsconvert-ingest, and
// archive work directories in $TMPDIR. Every
// thing is judged by its owner's run-owner token (temp-names.ts, the ingest's lock or meta.json) with
// src/util/run-owner.ts's ownerState: only 'dead' is removed, never a live or unknown owner's, never a blob.

import { lstat, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ownerState, parseOwner, type RunOwner } from '../util/run-owner.js';
import { isENOENT } from './fs-util.js';
import { acquireFileLock, lockOwner, readLockText } from './lock.js';
import { INGEST_DATA, INGEST_DIR, INGEST_LOCK, INGEST_META, REUSE_DIR } from './paths.js';
import { parseTempDirName, parseTempName } from './temp-names.js';
import { readMeta, removeIngestDir } from './ingest-dir.js';

const isDead = (owner: RunOwner | undefined): owner is RunOwner =>
  owner !== undefined && ownerState(owner) === 'dead';

const leftBy = (owner: RunOwner): string => `left by dead run pid ${owner.pid} on ${owner.host}`;

async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if (isENOENT(err)) return [];
    throw err;
  }
}

/** Removes dead runs' temp files in `dir` (only those whose target's name passes `keep`). */
async function removeDeadTempFiles(
  dir: string,
  keep: (target: string) => boolean = () => true,
): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await names(dir)) {
    const temp = parseTempName(name);
    if (temp === undefined || !keep(temp.target) || !isDead(temp.owner)) continue;
    const path = join(dir, name);
    if ((await lstat(path).catch(() => undefined))?.isDirectory() !== false) continue;
    await rm(path, { force: true });
    removed.push(`removed temporary file ${path}, ${leftBy(temp.owner)}`);
  }
  return removed;
}

/** The run an ingest belongs to: its lock's holder while locked, else the last run that opened it. */
async function ingestOwner(dir: string): Promise<RunOwner | undefined> {
  const text = await readLockText(join(dir, INGEST_LOCK)).catch(() => '');
  if (text !== undefined) return lockOwner(text);
  const { owner } = (await readMeta(dir)) as { owner?: unknown };
  return typeof owner === 'string' ? parseOwner(owner) : undefined;
}

/** Removes one ingest if a dead run owns it; takes its lock first so a live writer is never disturbed. */
async function removeDeadIngest(dir: string, signal: AbortSignal): Promise<string | undefined> {
  const owner = await ingestOwner(dir);
  if (!isDead(owner)) return undefined;
  let lock;
  try {
    // A dead holder's lock is broken here; a live one that took the ingest meanwhile keeps it.
    lock = await acquireFileLock(join(dir, INGEST_LOCK), { signal, timeoutMs: 0, what: `ingest ${dir}` });
  } catch {
    return undefined;
  }
  try {
    const { owner: now } = (await readMeta(dir)) as { owner?: unknown };
    if (typeof now === 'string' && !isDead(parseOwner(now))) return undefined;
    await rm(join(dir, INGEST_DATA), { force: true });
    await rm(join(dir, INGEST_META), { force: true });
  } finally {
    await lock.release();
  }
  await removeIngestDir(dir);
  return `removed ingest ${dir}, ${leftBy(owner)}`;
}

/** Dead runs' leftovers in the layout directory `root`: temp files (records' too) and ingests. */
export async function cleanupLayout(root: string, signal: AbortSignal): Promise<string[]> {
  const removed = await removeDeadTempFiles(root);
  removed.push(...(await removeDeadTempFiles(join(root, REUSE_DIR))));
  const ingests = join(root, INGEST_DIR);
  const st = await lstat(ingests).catch(() => undefined);
  if (st?.isDirectory() !== true) return removed;
  for (const name of await names(ingests)) {
    const dir = join(ingests, name);
    if ((await lstat(dir).catch(() => undefined))?.isDirectory() !== true) continue;
    removed.push(...(await removeDeadTempFiles(dir)));
    const line = await removeDeadIngest(dir, signal);
    if (line !== undefined) removed.push(line);
  }
  return removed;
}

/** Dead runs' temp files beside the archive `file` (its packed tars and lock temp files). */
export function cleanupArchiveDir(file: string): Promise<string[]> {
  const base = basename(file);
  return removeDeadTempFiles(dirname(file), (target) => target === base || target === `.${base}.lock`);
}

/** Dead runs' archive work directories directly under `parent` (normally $TMPDIR). */
export async function cleanupTempDirs(parent: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await names(parent)) {
    const owner = parseTempDirName(name);
    if (!isDead(owner)) continue;
    const path = join(parent, name);
    await rm(path, { recursive: true, force: true });
    removed.push(`removed temporary directory ${path}, ${leftBy(owner)}`);
  }
  return removed;
}
