// Ingest refs are unique per run (the blob's role and digest, then the run's owner token), so a run never
// resumes, truncates or takes over a half-written ingest an earlier run left: committed blobs are what later
// runs reuse. In process, on the OCI-layout backend, with the bundled sample image.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertImage } from '../../../src/convert/convert-image.js';
import { zstdFormat } from '../../../src/layers/zstd.js';
import { openOciLayout } from '../../../src/oci-layout/index.js';
import { ingestDir } from '../../../src/oci-layout/paths.js';
import { allPlatforms } from '../../../src/oci/platform.js';
import type { Manifest } from '../../../src/oci/types.js';
import { silentLogger } from '../../../src/util/log.js';
import { currentOwner } from '../../../src/util/run-owner.js';
import { refOwner } from '../../../src/util/run-tags.js';

const sig = (): AbortSignal => AbortSignal.timeout(60_000);
const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('ingest refs', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsconvert-refs-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("never resume an earlier run's ingest, and carry the run's owner token", async () => {
    const src = await openOciLayout({
      path: 'examples/sample.tar',
      archive: true,
      mode: 'read',
      signal: sig(),
    });
    const out = join(dir, 'out');
    const dst = await openOciLayout({ path: out, mode: 'write', signal: sig() });
    try {
      const image = await src.images.get('', { signal: sig() });
      const manifest = JSON.parse(
        await readFile(join(src.root, 'blobs', 'sha256', image.target.digest.slice(7)), 'utf8'),
      ) as Manifest;
      const layer = manifest.layers[0]?.digest ?? '';
      // What an interrupted earlier run left under the ref this layer would have had without a run token.
      const stale = ingestDir(out, `tsconvert-zstd-from-${layer}`);
      await mkdir(stale, { recursive: true });
      await writeFile(join(stale, 'data'), 'half-written bytes of another run');
      await writeFile(join(stale, 'meta.json'), JSON.stringify({ ref: `tsconvert-zstd-from-${layer}` }));

      const opened: string[] = [];
      const openWriter = dst.content.openWriter.bind(dst.content);
      dst.content.openWriter = (options) => {
        opened.push(options.ref);
        return openWriter(options);
      };
      const result = await convertImage({
        source: { backend: src, name: '' },
        destination: { backend: dst, name: 'z' },
        layerFormat: zstdFormat(),
        oci: true,
        platforms: allPlatforms(),
        jobs: 2,
        logger: silentLogger,
        signal: sig(),
      });

      expect(opened.length).toBeGreaterThan(0);
      for (const ref of opened) expect(refOwner(ref), ref).toEqual(currentOwner());
      expect(await readFile(join(stale, 'data'), 'utf8')).toBe('half-written bytes of another run');
      const ingests = await dst.content.listIngests({ signal: sig() });
      expect(ingests.map((i) => i.ref)).toEqual([`tsconvert-zstd-from-${layer}`]);

      const converted = JSON.parse(
        await readFile(join(out, 'blobs', 'sha256', result.digest.slice(7)), 'utf8'),
      ) as Manifest;
      const config = JSON.parse(
        await readFile(join(out, 'blobs', 'sha256', converted.config.digest.slice(7)), 'utf8'),
      ) as { rootfs: { diff_ids: string[] } };
      const first = await readFile(
        join(out, 'blobs', 'sha256', (converted.layers[0]?.digest ?? '').slice(7)),
      );
      expect(sha256(zstdDecompressSync(first))).toBe(config.rootfs.diff_ids[0]);
    } finally {
      await dst.close();
      await src.close();
    }
  });
});
