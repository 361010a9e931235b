// Bytes that must be held until later (a zstd:chunked layer's compressed TOC and tar-split, written after
// all its data frames): kept in memory up to a limit, then in a file of their own in a scratch directory,
// so a layer of millions of entries does not hold hundreds of megabytes. Appends are synchronous (the
// writer produces metadata inside synchronous event handlers) and rare: one per compressed block. Memory
// held comes from the run's budget a step at a time; when the budget has none to give, the bytes spill
// early instead of waiting (the output is the same either way).

import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { TsconvertError } from '../errors.js';
import { fileError } from '../file-errors.js';
import type { MemoryBudget } from '../util/memory-budget.js';

/** Read-back piece size once the bytes are in a file. */
const READ_PIECE = 1 << 20;
/** Memory is asked of the budget this much at a time. */
const GRANT_STEP = 1 << 20;

export class SpillBuffer {
  private pieces: Uint8Array[] = [];
  private held = 0;
  /** Bytes the budget granted for pieces held in memory. */
  private granted = 0;
  private file: { fd: number; path: string } | undefined;
  /** Bytes appended so far. */
  size = 0;

  /**
   * @param limit bytes kept in memory before everything moves to a file
   * @param directory where the file goes, asked for only when the limit is passed
   * @param name the file's name in that directory
   * @param budget the run's memory budget, which pieces held in memory draw from
   */
  constructor(
    private readonly limit: number,
    private readonly directory: () => string,
    private readonly name: string,
    private readonly budget?: MemoryBudget,
  ) {}

  /** Whether the bytes have moved to a file. */
  get spilled(): boolean {
    return this.file !== undefined;
  }

  push(piece: Uint8Array): void {
    this.size += piece.length;
    if (this.file === undefined) {
      if (this.held + piece.length <= this.limit && this.grant(this.held + piece.length)) {
        this.pieces.push(piece);
        this.held += piece.length;
        return;
      }
      const path = join(this.directory(), this.name);
      try {
        this.file = { fd: openSync(path, 'wx+', 0o600), path };
      } catch (err) {
        throw spillError(path, err);
      }
      for (const p of this.pieces) this.write(p);
      this.pieces = [];
      this.held = 0;
      this.giveBack();
    }
    this.write(piece);
  }

  /** Makes sure the budget granted `bytes` in all; false when it has no more to give. */
  private grant(bytes: number): boolean {
    if (this.budget === undefined) return true;
    while (this.granted < bytes) {
      const step = Math.max(GRANT_STEP, bytes - this.granted);
      if (!this.budget.tryAcquire(step)) return false;
      this.granted += step;
    }
    return true;
  }

  private giveBack(): void {
    this.budget?.release(this.granted);
    this.granted = 0;
  }

  private write(bytes: Uint8Array): void {
    const { fd, path } = this.file as { fd: number; path: string };
    try {
      for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
    } catch (err) {
      throw spillError(path, err);
    }
  }

  /** The bytes, in order; pieces in memory are let go as they are handed out. Read once. */
  async *read(): AsyncGenerator<Uint8Array> {
    const file = this.file;
    if (file === undefined) {
      for (let p = this.pieces.shift(); p !== undefined; p = this.pieces.shift()) {
        this.held -= p.length;
        yield p;
      }
      return;
    }
    const failed = (err: unknown): never => {
      throw spillError(file.path, err);
    };
    const handle = await open(file.path, 'r').catch(failed);
    try {
      for (let at = 0; at < this.size;) {
        const piece = new Uint8Array(Math.min(READ_PIECE, this.size - at));
        const { bytesRead } = await handle.read(piece, 0, piece.length, at).catch(failed);
        if (bytesRead === 0) failed(`it ends at byte ${at} of ${this.size}`);
        at += bytesRead;
        yield piece.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }

  /** Lets go of the bytes and removes the file, if any. Safe to call more than once. */
  close(): void {
    this.pieces = [];
    this.held = 0;
    this.giveBack();
    const f = this.file;
    this.file = undefined;
    if (f === undefined) return;
    // Best effort: this runs on error paths too, and the scratch directory's owner removes what is left.
    try {
      closeSync(f.fd);
      unlinkSync(f.path);
    } catch {
      // already gone with its directory
    }
  }
}

/** A temporary file that failed: says which, why, and what to do (usually a full or missing $TMPDIR). */
export function spillError(path: string, err: unknown): TsconvertError {
  const failure = fileError(err, 'temporary', 'temporary file', path);
  if (failure instanceof TsconvertError) return failure;
  const why = err instanceof Error ? err.message : String(err);
  return new TsconvertError('UNAVAILABLE', `temporary file ${path}: ${why}`, {
    cause: err,
    hint: 'check that $TMPDIR exists, is writable and has free space, or point TMPDIR elsewhere',
  });
}
