// src/file-errors.ts: an errno becomes one line naming the path, with advice that fits whose file it is, and
// never a word about a corrupt source.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TsconvertError } from '../../src/errors.js';
import { explainMkdirError, fileError } from '../../src/file-errors.js';

const errno = (code: string, path?: string, syscall = 'write'): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: something, ${syscall}`), { code, syscall, ...(path ? { path } : {}) });

describe('fileError', () => {
  it('a full destination names it, ENOSPC, and says to free space or write elsewhere', () => {
    const err = fileError(errno('ENOSPC'), 'destination', 'writing OCI layout /mnt/out', '/mnt/out');
    expect(err).toBeInstanceOf(TsconvertError);
    expect(err).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'writing OCI layout /mnt/out: no space left on device (ENOSPC)',
      hint: 'free space on the file system of /mnt/out, or write the image elsewhere',
    });
  });

  it('a full $TMPDIR says to point TMPDIR elsewhere', () => {
    const err = fileError(errno('EDQUOT', '/tmp/x/f'), 'temporary', 'temporary file');
    expect(err).toMatchObject({ message: 'temporary file: /tmp/x/f: disk quota exceeded (EDQUOT)' });
    expect((err as TsconvertError).hint).toMatch(/TMPDIR/);
  });

  it('read-only and permission errors say what to change', () => {
    expect(fileError(errno('EROFS', '/ro/out'), 'destination', 'creating OCI layout /ro/out')).toMatchObject({
      code: 'PERMISSION_DENIED',
      hint: 'that file system is mounted read-only; choose a writable destination',
    });
    expect(fileError(errno('EACCES', '/d'), 'source', 'reading OCI layout /d')).toMatchObject({
      hint: 'fix the permissions of /d, or run as a user who may read it',
    });
  });

  it("an errno with no advice of its own takes the caller's, and ENOENT is NOT_FOUND", () => {
    const err = fileError(
      errno('EISDIR', '/l/blobs/sha256/ab'),
      'source',
      'reading OCI layout /l',
      undefined,
      'x',
    );
    expect(err).toMatchObject({
      message: 'reading OCI layout /l: /l/blobs/sha256/ab: is a directory (EISDIR)',
      hint: 'x',
    });
    expect(fileError(errno('ENOENT', '/gone'), 'source', 'reading')).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('leaves errors that are not errno errors alone', () => {
    const plain = new Error('Invalid tar header');
    expect(fileError(plain, 'destination', 'x')).toBe(plain);
    const node = Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    expect(fileError(node, 'destination', 'x')).toBe(node);
    const typed = new TsconvertError('MALFORMED', 'bad');
    expect(fileError(typed, 'destination', 'x')).toBe(typed);
  });
});

describe('explainMkdirError', () => {
  it('keeps an ENOENT whose nearest existing ancestor is writable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsconvert-mkdir-'));
    try {
      const err = errno('ENOENT', join(dir, 'a', 'b'), 'mkdir');
      expect(await explainMkdirError(err)).toBe(err);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('passes other errors through', async () => {
    const err = errno('ENOSPC', '/x', 'write');
    expect(await explainMkdirError(err)).toBe(err);
  });
});
