import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TsconvertError } from '../../src/errors.js';
import { SpillBuffer } from '../../src/stream/spill-buffer.js';

const dir = mkdtempSync(join(tmpdir(), 'spill-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(b: SpillBuffer): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const p of b.read()) out.push(p);
  return Buffer.concat(out);
}

describe('SpillBuffer', () => {
  it('keeps bytes under its limit in memory and never asks for a directory', async () => {
    const b = new SpillBuffer(
      1000,
      () => {
        throw new Error('asked for a directory');
      },
      'x',
    );
    const pieces = [randomBytes(400), randomBytes(600)];
    for (const p of pieces) b.push(p);
    expect(b.spilled).toBe(false);
    expect(b.size).toBe(1000);
    expect((await readAll(b)).equals(Buffer.concat(pieces))).toBe(true);
  });

  it('moves everything to a file past its limit, reads it back in order, and removes it on close', async () => {
    const b = new SpillBuffer(1000, () => dir, 'meta.zst');
    const pieces = Array.from({ length: 40 }, (_, i) => randomBytes(100_000 + i));
    for (const p of pieces) b.push(p);
    expect(b.spilled).toBe(true);
    expect(readdirSync(dir)).toEqual(['meta.zst']);
    expect((await readAll(b)).equals(Buffer.concat(pieces))).toBe(true);
    b.close();
    b.close();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('fails with the file and what to do when the spilled bytes cannot be read back', async () => {
    const b = new SpillBuffer(10, () => dir, 'gone.zst');
    b.push(randomBytes(100));
    rmSync(join(dir, 'gone.zst'));
    const err = await readAll(b).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TsconvertError);
    expect((err as TsconvertError).message).toMatch(
      /^temporary file: .*gone\.zst: no such file or directory \(ENOENT\)$/,
    );
    b.close();
  });

  it('fails with the file, the cause and what to do when the file cannot be made', () => {
    const b = new SpillBuffer(10, () => join(dir, 'missing'), 'toc.zst');
    b.push(new Uint8Array(5));
    const err = (() => {
      try {
        b.push(new Uint8Array(6));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(TsconvertError);
    expect((err as TsconvertError).message).toMatch(
      /^temporary file: .*missing\/toc\.zst: no such file or directory \(ENOENT\)$/,
    );
    expect((err as TsconvertError).hint).toMatch(/TMPDIR/);
  });
});
