// Metadata text compressed on the pool's workers: each frame decodes with the zstd CLI to exactly the text
// written, in order, with the digests the TOC and annotations need; frames written side by side on one
// worker stay apart; more text than the queue bound goes through without a deadlock; an abandoned frame
// is gone and a closed pool fails what it still owed.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CompressPool } from '../../../src/zstd/compress-pool.js';
import type { TextFrame } from '../../../src/zstd/text-frames.js';

const pool = new CompressPool(2);
afterAll(() => pool.close());

const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
const joined = (f: TextFrame): Buffer => Buffer.concat(f.pieces);

describe('TextFrames on the compression pool', () => {
  it('gives one zstd frame that decodes to the text, with the sha256 of the text and of the frame', async () => {
    const parts = [
      '{"version":1,"entries":[',
      '{"name":"é\\n\\"q\\""}',
      ...Array(2000).fill(',{"x":1}'),
      ']}',
    ];
    const frame = pool.text.open(3, true);
    for (const p of parts) frame.write(p);
    const f = await frame.end();
    const text = parts.join('');
    const payload = joined(f);
    expect(payload.length).toBe(f.length);
    expect(execFileSync('zstd', ['-dc'], { input: payload }).toString('utf8')).toBe(text);
    expect(f.size).toBe(Buffer.byteLength(text, 'utf8'));
    expect(f.textSha256).toBe(sha(Buffer.from(text, 'utf8')));
    expect(f.payloadSha256).toBe(sha(payload));
    // One frame, not several: the CLI's listing (which reads files only) says so.
    const dir = mkdtempSync(join(tmpdir(), 'tsc-text-'));
    try {
      writeFileSync(join(dir, 'toc.zst'), payload);
      expect(execFileSync('zstd', ['-lv', join(dir, 'toc.zst')]).toString()).toMatch(
        /# Zstandard Frames: 1\b/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps frames on the same worker apart, and the output does not depend on the pool size', async () => {
    const frames = [0, 1, 2, 3].map(() => pool.text.open(3, false));
    const texts = frames.map((_, i) => `frame ${i}:` + randomBytes(3000).toString('base64'));
    for (let at = 0; at < texts[0]!.length; at += 500)
      frames.forEach((f, i) => f.write(texts[i]!.slice(at, at + 500)));
    const done = await Promise.all(frames.map((f) => f.end()));
    done.forEach((f, i) =>
      expect(execFileSync('zstd', ['-dc'], { input: joined(f) }).toString()).toBe(texts[i]),
    );

    const single = new CompressPool(1);
    try {
      const again = single.text.open(3, false);
      again.write(texts[0]!);
      expect(sha(joined(await again.end()))).toBe(sha(joined(done[0]!)));
    } finally {
      await single.close();
    }
  });

  it('takes more text than its queue bound without deadlocking', async () => {
    const frame = pool.text.open(1, true);
    const hash = createHash('sha256');
    const piece = 'a'.repeat(60_000) + '\n';
    for (let i = 0; i < 200; i++) {
      frame.write(piece); // 12 MB in all: several times the bound, so write() has to wait for the workers
      hash.update(piece);
    }
    const f = await frame.end();
    expect(f.size).toBe(200 * piece.length);
    expect(f.textSha256).toBe(hash.digest('hex'));
  });

  it('fails an end still owed when the pool closes, and frames opened after it', async () => {
    const closing = new CompressPool(1);
    const abandoned = closing.text.open(3, false);
    abandoned.write('dropped');
    abandoned.abandon();
    const owed = closing.text.open(3, false);
    owed.write('x'.repeat(1000));
    const ending = expect(owed.end()).rejects.toThrow(/closed/);
    await closing.close();
    await ending;
    await expect(closing.text.open(3, false).end()).rejects.toThrow(/closed/);
  });
});
