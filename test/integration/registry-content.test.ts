// The registry backend's ContentStore against Debian's registry, as far as a registry can keep the
// content-store contract (test/contract/content-store-contract.ts; a registry has no listable or resumable
// ingests and no image list, so that suite is not run on it): blobs written in one request and in chunks,
// read whole and by offset/size (Range requests), existing blobs, a wrong digest or size at commit, missing
// blobs, an aborted signal, truncate, and manifests held until the image record is put.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Digest, type Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { openRegistry, type RegistryBackend } from '../../src/registry/backend.js';
import { parseRegistryReference } from '../../src/registry/reference.js';
import type { ContentStore } from '../../src/store/content-store.js';
import { silentLogger } from '../../src/util/log.js';
import { listTags, startRegistry, type TestRegistry } from '../helpers/registry.js';

let registry: TestRegistry;
let backend: RegistryBackend;
const signal = (): AbortSignal => AbortSignal.timeout(60_000);
const ref = (): string => `test-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  registry = await startRegistry({ mode: 'plain' });
  const reference = parseRegistryReference(registry.ref('content/app:1'));
  if (reference === null) throw new Error('not a docker:// reference');
  backend = await openRegistry({
    reference,
    side: 'destination',
    tlsVerify: false,
    env: {},
    logger: silentLogger,
    signal: signal(),
  });
});
afterAll(async () => {
  await backend.close();
  await registry.close();
});

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of it) parts.push(chunk);
  return Buffer.concat(parts);
}

async function put(store: ContentStore, data: Buffer, chunk = data.length): Promise<Digest> {
  const w = await store.openWriter({ ref: ref(), signal: signal() });
  for (let at = 0; at < data.length; at += chunk) await w.write(data.subarray(at, at + chunk));
  return (await w.commit({ size: data.length, expected: sha256Digest(data) })).digest;
}

describe('registry content store', () => {
  it('writes blobs in one request and in chunks, and reads them whole and by range', async () => {
    const store = backend.content;
    for (const data of [randomBytes(5000), randomBytes((19 << 20) + 12345)]) {
      const digest = await put(store, data, 777_777);
      expect(digest).toBe(sha256Digest(data));
      expect((await store.info(digest, { signal: signal() })).size).toBe(data.length);
      expect((await collect(store.read(digest, { signal: signal() }))).equals(data)).toBe(true);
      const part = await collect(store.read(digest, { signal: signal(), offset: 1000, size: 3000 }));
      expect(part.equals(data.subarray(1000, 4000))).toBe(true);
      const tail = await collect(store.read(digest, { signal: signal(), offset: data.length - 10 }));
      expect(tail.equals(data.subarray(data.length - 10))).toBe(true);
      expect(await collect(store.read(digest, { signal: signal(), offset: data.length }))).toHaveLength(0);
    }
  });

  it('reports existing blobs: ALREADY_EXISTS when opened by digest, existed when found at commit', async () => {
    const data = randomBytes(2048);
    const digest = await put(backend.content, data);
    await expect(
      backend.content.openWriter({ ref: ref(), expected: digest, total: data.length, signal: signal() }),
    ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    const w = await backend.content.openWriter({ ref: ref(), signal: signal() });
    await w.write(data);
    expect(await w.commit({ size: data.length })).toEqual({ digest, size: data.length, existed: true });
  });

  it('refuses a commit with the wrong digest or size, and starts again after truncate', async () => {
    const data = randomBytes(4096);
    const w = await backend.content.openWriter({ ref: ref(), signal: signal() });
    await w.write(data);
    const wrong = sha256Digest(randomBytes(8));
    await expect(w.commit({ size: data.length, expected: wrong })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
    await w.abort();
    await expect(backend.content.info(wrong, { signal: signal() })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const v = await backend.content.openWriter({ ref: ref(), signal: signal() });
    await v.write(data);
    await expect(v.commit({ size: data.length + 1 })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await v.truncate();
    const other = randomBytes(3000);
    await v.write(other);
    expect((await v.commit({ size: other.length })).digest).toBe(sha256Digest(other));
    await expect(backend.content.info(sha256Digest(data), { signal: signal() })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('answers NOT_FOUND for a missing digest and CANCELLED for an aborted signal', async () => {
    const missing = sha256Digest(randomBytes(16));
    await expect(backend.content.info(missing, { signal: signal() })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(collect(backend.content.read(missing, { signal: signal() }))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const digest = await put(backend.content, randomBytes(100));
    const aborted = AbortSignal.abort(new Error('stop'));
    await expect(backend.content.info(digest, { signal: aborted })).rejects.toMatchObject({
      code: 'CANCELLED',
    });
  });

  it('holds a written manifest (readable) until the image record is put, then tags it', async () => {
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    );
    const configDigest = await put(backend.content, config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length },
        layers: [],
      }),
    );
    const digest = await put(backend.content, manifest);
    expect((await collect(backend.content.read(digest, { signal: signal() }))).equals(manifest)).toBe(true);
    expect(await listTags(registry, 'content/app')).toEqual([]);
    const target = { mediaType: MediaType.ociManifest, digest, size: manifest.length };
    await backend.images.put({ name: 'v1', labels: {}, target }, { signal: signal() });
    expect(await listTags(registry, 'content/app')).toEqual(['v1']);
    expect((await backend.images.get('v1', { signal: signal() })).target).toEqual(target);
  });
});
