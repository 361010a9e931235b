// The config rewrite containerd's converter applies when a layer's DiffID changes (none of tsconvert's
// formats change one today, so this is its only exercise): diff_ids replaced, legacy `Image` keys dropped,
// every other field kept, top-level keys sorted. Runs on a real OCI layout directory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext } from '../../src/convert/context.js';
import { convertConfig } from '../../src/convert/convert-config.js';
import { sha256Digest, type Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { allPlatforms } from '../../src/oci/platform.js';
import { openOciLayout } from '../../src/oci-layout/backend.js';
import { silentLogger } from '../../src/util/log.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const d = (c: string): Digest => `sha256:${c.repeat(64)}`;

async function setup(config: object) {
  const dir = await mkdtemp(join(tmpdir(), 'tsc-config-'));
  dirs.push(dir);
  const signal = new AbortController().signal;
  const backend = await openOciLayout({ path: dir, mode: 'write', signal });
  const bytes = Buffer.from(JSON.stringify(config));
  const desc = { mediaType: MediaType.ociConfig, digest: sha256Digest(bytes), size: bytes.length };
  const w = await backend.content.openWriter({ ref: 'cfg', signal });
  await w.write(bytes);
  await w.commit({ size: desc.size, expected: desc.digest });
  const options = {
    source: { backend, name: 'x' },
    destination: { backend, name: 'x' },
    layerFormat: undefined,
    oci: true,
    platforms: allPlatforms(),
    jobs: 1,
    logger: silentLogger,
    signal,
  };
  return { ctx: createContext(options, backend, backend, undefined, signal), desc, backend, signal };
}

async function read(
  backend: Awaited<ReturnType<typeof setup>>['backend'],
  digest: Digest,
  signal: AbortSignal,
) {
  const parts: Uint8Array[] = [];
  for await (const p of backend.content.read(digest, { signal })) parts.push(p);
  return Buffer.concat(parts).toString();
}

describe('convertConfig', () => {
  const config = {
    os: 'linux',
    architecture: 'amd64',
    rootfs: { type: 'layers', diff_ids: [d('a'), d('b')] },
    config: { Image: 'sha256:legacy', Env: ['A=1'] },
    container_config: { Image: 'x', Cmd: ['sh'] },
    history: [{ created_by: '<b>&' }],
    'x.unknown': 1,
  };

  it('replaces changed DiffIDs, drops legacy Image keys, keeps the rest, sorts top-level keys', async () => {
    const { ctx, desc, backend, signal } = await setup(config);
    const next = await convertConfig(ctx, desc, new Map([[d('b'), d('c')]]));
    expect(next).toBeDefined();
    expect(await read(backend, next?.digest as Digest, signal)).toBe(
      '{"architecture":"amd64","config":{"Env":["A=1"]},"container_config":{"Cmd":["sh"]},' +
        '"history":[{"created_by":"\\u003cb\\u003e\\u0026"}],"os":"linux",' +
        `"rootfs":{"type":"layers","diff_ids":["${d('a')}","${d('c')}"]},"x.unknown":1}`,
    );
  });

  it('leaves the config alone when no DiffID of it changed', async () => {
    const { ctx, desc } = await setup(config);
    expect(await convertConfig(ctx, desc, new Map())).toBeUndefined();
    expect(await convertConfig(ctx, desc, new Map([[d('e'), d('f')]]))).toBeUndefined();
  });
});
