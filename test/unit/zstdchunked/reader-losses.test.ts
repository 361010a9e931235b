// The zstd:chunked format's warning about containers/storage 1.43 (src/layers/zstdchunked/reader-losses.ts):
// one line per layer naming the first entry whose name or link name needs a JSON escape, none otherwise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { zstdChunkedFormat } from '../../../src/layers/zstdchunked/format.js';
import { MemoryBudget } from '../../../src/util/memory-budget.js';
import { CompressPool } from '../../../src/zstd/compress-pool.js';
import { END, member } from './tars.js';

const pool = new CompressPool(1);
const scratchDir = mkdtempSync(join(tmpdir(), 'reader-losses-test-'));
afterAll(async () => {
  await pool.close();
  rmSync(scratchDir, { recursive: true, force: true });
});

async function warningsOf(tar: Buffer): Promise<string[]> {
  const format = zstdChunkedFormat({ pool, budget: new MemoryBudget(Number.POSITIVE_INFINITY) });
  async function* input(): AsyncGenerator<Uint8Array> {
    yield tar;
  }
  const encoded = format.encode(input(), { directory: () => scratchDir });
  for await (const _ of encoded.output) void _;
  return encoded.warnings?.() ?? [];
}

describe('zstd:chunked warning about names containers/storage 1.43 stops at', () => {
  it('is silent for names JSON writes without escapes (HTML characters, U+2028, non-ASCII included)', async () => {
    const tar = Buffer.concat([
      member({ name: 'a<b>&c', data: Buffer.from('x') }),
      member({ name: 'line\u2028sep', data: Buffer.from('y') }),
      member({ name: 'naïve', type: '2', linkname: 'a<b>&c' }),
      END,
    ]);
    expect(await warningsOf(tar)).toEqual([]);
  });

  for (const [what, name, linkname] of [
    ['a double quote', 'q"uote', undefined],
    ['a backslash', 'back\\slash', undefined],
    ['a newline', 'new\nline', undefined],
    ['a tab', 'tab\there', undefined],
    ['a control character in the link name only', 'plain-link', 'target\u0001'],
  ] as const) {
    it(`names the first entry with ${what}, once, and the readers that lose it`, async () => {
      const tar = Buffer.concat([
        member({ name: 'before', data: Buffer.from('x') }),
        linkname === undefined
          ? member({ name, data: Buffer.from('y') })
          : member({ name, type: '2', linkname }),
        member({ name: 'second"escaped', data: Buffer.from('z') }),
        END,
      ]);
      const warnings = await warningsOf(tar);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`entry ${JSON.stringify(name)} has a`);
      expect(warnings[0]).toContain('containers/storage 1.43 (podman 4.3, skopeo 1.9)');
      expect(warnings[0]).toContain('drop it and every entry after it');
    });
  }
});
