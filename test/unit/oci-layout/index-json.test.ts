// A layout's index.json is read by the same parser, with the same strictness, as an index blob
// (src/oci/parse.ts): an entry an index blob would refuse is refused here too, naming the file.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOciLayout } from '../../../src/oci-layout/index.js';
import { parseIndex } from '../../../src/oci/parse.js';
import { sig } from '../../helpers/oci-sample.js';

const digest = `sha256:${'a'.repeat(64)}`;
const entry = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 10 };

describe('index.json of a layout', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsconvert-index-json-'));
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function list(index: unknown): Promise<unknown> {
    await writeFile(join(dir, 'index.json'), JSON.stringify(index));
    const layout = await openOciLayout({ path: dir, mode: 'read', signal: sig() });
    try {
      return await layout.images.list({ signal: sig() });
    } finally {
      await layout.close();
    }
  }

  const refusedByBoth = [
    ['annotations that are not strings', { ...entry, annotations: { a: 1 } }],
    ['an empty media type', { ...entry, mediaType: '' }],
    ['a platform without an architecture', { ...entry, platform: { os: 'linux' } }],
  ] as const;

  for (const [what, bad] of refusedByBoth) {
    it(`refuses an entry with ${what}, as an index blob is refused`, async () => {
      const index = { schemaVersion: 2, manifests: [bad] };
      expect(() => parseIndex(structuredClone(index), 'index blob')).toThrow();
      await expect(list(index)).rejects.toMatchObject({
        code: 'MALFORMED',
        message: expect.stringContaining(join(dir, 'index.json')) as unknown,
      });
    });
  }

  it('reads a valid one', async () => {
    await expect(list({ schemaVersion: 2, manifests: [entry] })).resolves.toHaveLength(1);
  });

  it('refuses one that is not a JSON object, naming the file', async () => {
    await writeFile(join(dir, 'index.json'), '[]');
    const layout = await openOciLayout({ path: dir, mode: 'read', signal: sig() });
    await expect(layout.images.list({ signal: sig() })).rejects.toThrow(
      `${join(dir, 'index.json')} is not a JSON object`,
    );
    await layout.close();
  });
});
