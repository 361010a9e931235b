// The content-store contract, as vitest cases any ImageBackend must pass: the OCI-layout backend and the
// containerd backend run the same suite. Each case uses fresh random data and refs, so cases never depend
// on each other's blobs even though they share one backend. Capabilities a backend lacks (labels) are
// declared by the caller and show up as skipped cases, never as silently passing ones.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isErrorCode } from '../../src/errors.js';
import { sha256Digest, type Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor } from '../../src/oci/types.js';
import type { ContentStore, ContentWriter, WriterOptions } from '../../src/store/content-store.js';
import type { ImageBackend } from '../../src/store/image-store.js';

export interface ContractBackend {
  backend: ImageBackend;
  cleanup(): Promise<void>;
}

export interface ContractCapabilities {
  /** The backend stores content and image labels (containerd does; an OCI layout has nowhere to put them). */
  labels: boolean;
}

const signal = (): AbortSignal => new AbortController().signal;
const uniq = (what: string): string => `contract-${what}-${randomBytes(6).toString('hex')}`;

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of it) parts.push(chunk);
  return Buffer.concat(parts);
}

/** Writes `data` in chunks whose sizes cycle through `sizes`. */
async function writeChunks(
  w: ContentWriter,
  data: Uint8Array,
  sizes: number[] = [data.length],
): Promise<void> {
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length] ?? 1);
    await w.write(data.subarray(at, at + n));
    at += n;
  }
}

/** Opens a writer, retrying while another writer holds the ref's lock (docs/containerd.md#write-stream). */
export async function openWriterRetrying(
  store: ContentStore,
  options: WriterOptions,
): Promise<ContentWriter> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await store.openWriter(options);
    } catch (err) {
      if (!isErrorCode(err, 'UNAVAILABLE') || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function put(store: ContentStore, data: Uint8Array, ref = uniq('put')): Promise<Digest> {
  const w = await store.openWriter({ ref, signal: signal() });
  await writeChunks(w, data);
  const res = await w.commit({ size: data.length, expected: sha256Digest(data) });
  return res.digest;
}

async function ingestRefs(store: ContentStore): Promise<string[]> {
  return (await store.listIngests({ signal: signal() })).map((s) => s.ref);
}

/** A small but valid image: config + one layer + manifest, all in the store. */
async function putImage(store: ContentStore): Promise<Descriptor> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: uniq('cfg') }));
  const layer = randomBytes(1024);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: await put(store, config), size: config.length },
      layers: [{ mediaType: MediaType.ociLayer, digest: await put(store, layer), size: layer.length }],
    }),
  );
  return { mediaType: MediaType.ociManifest, digest: await put(store, manifest), size: manifest.length };
}

export function describeContentStoreContract(
  name: string,
  makeBackend: () => Promise<ContractBackend>,
  capabilities: ContractCapabilities,
): void {
  describe(`content-store contract: ${name}`, () => {
    let made: ContractBackend | undefined;
    const backend = (): ImageBackend => {
      if (made === undefined) throw new Error('backend not made');
      return made.backend;
    };
    const store = (): ContentStore => backend().content;
    beforeAll(async () => {
      made = await makeBackend();
    });
    afterAll(async () => {
      await made?.cleanup();
    });
    describeReadWrite(store);
    describeInterruptions(store);
    describeFailures(store);
    describeLabels(store, capabilities);
    describeImages(backend, capabilities);
  });
}

function describeReadWrite(store: () => ContentStore): void {
  it('writes, commits and reads back a blob, whole and by offset/size', async () => {
    const data = randomBytes(10_000);
    const w = await store().openWriter({ ref: uniq('rw'), signal: signal() });
    expect(w.offset).toBe(0);
    await writeChunks(w, data, [4096]);
    expect(w.offset).toBe(data.length);
    const res = await w.commit({ size: data.length, expected: sha256Digest(data) });
    expect(res).toEqual({ digest: sha256Digest(data), size: data.length, existed: false });
    const info = await store().info(res.digest, { signal: signal() });
    expect(info.digest).toBe(res.digest);
    expect(info.size).toBe(data.length);
    expect(await collect(store().read(res.digest, { signal: signal() }))).toEqual(data);
    const part = await collect(store().read(res.digest, { signal: signal(), offset: 1234, size: 4321 }));
    expect(part).toEqual(data.subarray(1234, 1234 + 4321));
    const tail = await collect(store().read(res.digest, { signal: signal(), offset: 9_000 }));
    expect(tail).toEqual(data.subarray(9_000));
    expect(await collect(store().read(res.digest, { signal: signal(), offset: data.length }))).toHaveLength(
      0,
    );
  });

  it('takes a multi-MiB blob in odd chunk sizes', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 7);
    const w = await store().openWriter({ ref: uniq('big'), signal: signal(), total: data.length });
    await writeChunks(w, data, [1, 7, 65_537, 1_000_003, 4093]);
    const res = await w.commit({ size: data.length, expected: sha256Digest(data) });
    expect(res.size).toBe(data.length);
    const back = await collect(store().read(res.digest, { signal: signal() }));
    expect(sha256Digest(back)).toBe(res.digest);
    const mid = await collect(
      store().read(res.digest, { signal: signal(), offset: 3_000_000, size: 1_500_000 }),
    );
    expect(mid).toEqual(data.subarray(3_000_000, 4_500_000));
  });

  it('reports an existing blob as existed, and refuses a writer for an expected blob that exists', async () => {
    const data = randomBytes(3000);
    const digest = await put(store(), data);
    const w = await store().openWriter({ ref: uniq('again'), signal: signal() });
    await writeChunks(w, data, [1000]);
    const res = await w.commit({ size: data.length, expected: digest });
    expect(res).toEqual({ digest, size: data.length, existed: true });
    expect(await ingestRefs(store())).not.toContain(w.ref);
    await expect(
      store().openWriter({ ref: uniq('exp'), expected: digest, signal: signal() }),
    ).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
    });
  });

  it('lets two concurrent writers of the same blob with different refs both succeed, leaving one blob', async () => {
    const data = randomBytes(256 * 1024);
    const [a, b] = await Promise.all([
      store().openWriter({ ref: uniq('twin-a'), signal: signal() }),
      store().openWriter({ ref: uniq('twin-b'), signal: signal() }),
    ]);
    await Promise.all([writeChunks(a, data, [4096]), writeChunks(b, data, [5000])]);
    const results = await Promise.all(
      [a, b].map((w) => w.commit({ size: data.length, expected: sha256Digest(data) })),
    );
    expect(results.map((r) => r.digest)).toEqual([sha256Digest(data), sha256Digest(data)]);
    expect(results.filter((r) => !r.existed)).toHaveLength(1);
    expect((await store().info(sha256Digest(data), { signal: signal() })).size).toBe(data.length);
    const refs = await ingestRefs(store());
    expect(refs).not.toContain(a.ref);
    expect(refs).not.toContain(b.ref);
  });
}

function describeInterruptions(store: () => ContentStore): void {
  it('resumes an interrupted writer: the offset is reported and the digest comes out right', async () => {
    const data = randomBytes(300_000);
    const ref = uniq('resume');
    const run1 = new AbortController();
    const first = await store().openWriter({ ref, signal: run1.signal, total: data.length });
    await writeChunks(first, data.subarray(0, 123_457), [10_000]);
    run1.abort(new Error('simulated interruption')); // dropped: neither committed nor aborted
    await expect(first.write(data.subarray(123_457, 123_458))).rejects.toMatchObject({ code: 'CANCELLED' });
    const second = await openWriterRetrying(store(), { ref, signal: signal(), total: data.length });
    expect(second.offset).toBe(123_457);
    const status = (await store().listIngests({ signal: signal() })).find((s) => s.ref === ref);
    expect(status?.offset).toBe(123_457);
    await writeChunks(second, data.subarray(second.offset), [77_777]);
    const res = await second.commit({ size: data.length, expected: sha256Digest(data) });
    expect(res.digest).toBe(sha256Digest(data));
    expect(await collect(store().read(res.digest, { signal: signal() }))).toEqual(data);
  });

  it('truncates an ingest and starts again at offset 0', async () => {
    const data = randomBytes(20_000);
    const w = await store().openWriter({ ref: uniq('trunc'), signal: signal() });
    await writeChunks(w, randomBytes(5_000));
    await w.truncate();
    expect(w.offset).toBe(0);
    await writeChunks(w, data, [3333]);
    const res = await w.commit({ size: data.length, expected: sha256Digest(data) });
    expect(res.digest).toBe(sha256Digest(data));
  });
}

function describeFailures(store: () => ContentStore): void {
  it('fails a commit with the wrong digest with FAILED_PRECONDITION and keeps the ingest until abort', async () => {
    const data = randomBytes(4096);
    const w = await store().openWriter({ ref: uniq('baddigest'), signal: signal() });
    await writeChunks(w, data);
    const wrong = sha256Digest(randomBytes(8));
    await expect(w.commit({ size: data.length, expected: wrong })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
    expect(await ingestRefs(store())).toContain(w.ref);
    await expect(store().info(wrong, { signal: signal() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await w.abort();
    await w.abort();
    expect(await ingestRefs(store())).not.toContain(w.ref);
    await expect(store().abortIngest(w.ref, { signal: signal() })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('fails a commit with the wrong size with FAILED_PRECONDITION', async () => {
    const data = randomBytes(4096);
    const w = await store().openWriter({ ref: uniq('badsize'), signal: signal() });
    await writeChunks(w, data);
    await expect(w.commit({ size: data.length + 1 })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect(await ingestRefs(store())).toContain(w.ref);
    await store().abortIngest(w.ref, { signal: signal() });
    expect(await ingestRefs(store())).not.toContain(w.ref);
    await expect(store().info(sha256Digest(data), { signal: signal() })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('answers NOT_FOUND for a missing digest, and CANCELLED for an aborted signal', async () => {
    const missing = sha256Digest(randomBytes(16));
    await expect(store().info(missing, { signal: signal() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(collect(store().read(missing, { signal: signal() }))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const digest = await put(store(), randomBytes(100));
    const aborted = AbortSignal.abort(new Error('stop'));
    await expect(store().info(digest, { signal: aborted })).rejects.toMatchObject({ code: 'CANCELLED' });
  });
}

// Each backend registers the label test that fits its capability, so nothing is skipped.
function describeLabels(store: () => ContentStore, caps: ContractCapabilities): void {
  if (caps.labels) describeStoredLabels(store);
  else describeIgnoredLabels(store);
}

function describeStoredLabels(store: () => ContentStore): void {
  it('stores labels given at commit and updates them', async () => {
    const data = randomBytes(512);
    const w = await store().openWriter({ ref: uniq('labels'), signal: signal() });
    await writeChunks(w, data);
    const { digest } = await w.commit({ size: data.length, labels: { 'contract.test/a': '1' } });
    expect((await store().info(digest, { signal: signal() })).labels).toMatchObject({
      'contract.test/a': '1',
    });
    const info = await store().updateLabels(
      digest,
      { 'contract.test/a': undefined, 'contract.test/b': '2' },
      { signal: signal() },
    );
    expect(info.labels['contract.test/a']).toBeUndefined();
    expect(info.labels['contract.test/b']).toBe('2');
  });
}

function describeIgnoredLabels(store: () => ContentStore): void {
  it('accepts labels and ignores them (no labels capability)', async () => {
    const data = randomBytes(512);
    const w = await store().openWriter({ ref: uniq('nolabels'), signal: signal() });
    await writeChunks(w, data);
    const { digest } = await w.commit({ size: data.length, labels: { 'contract.test/a': '1' } });
    expect((await store().info(digest, { signal: signal() })).labels).toEqual({});
    const info = await store().updateLabels(digest, { 'contract.test/b': '2' }, { signal: signal() });
    expect(info).toEqual({ digest, size: data.length, labels: {} });
  });
}

function describeImages(backend: () => ImageBackend, caps: ContractCapabilities): void {
  it('puts, gets, lists, replaces and deletes image records', async () => {
    const { content, images } = backend();
    const name = `example.com/${uniq('img')}:v1`;
    const first = await putImage(content);
    const labels = { 'contract.test/image': 'yes' };
    await images.put({ name, labels, target: first }, { signal: signal() });
    const got = await images.get(name, { signal: signal() });
    expect(got.name).toBe(name);
    expect(got.target).toMatchObject({ mediaType: first.mediaType, digest: first.digest, size: first.size });
    expect(got.labels).toEqual(caps.labels ? expect.objectContaining(labels) : {});
    expect((await images.list({ signal: signal() })).map((r) => r.name)).toContain(name);
    const second = await putImage(content);
    await images.put({ name, labels: {}, target: second }, { signal: signal() });
    expect((await images.get(name, { signal: signal() })).target.digest).toBe(second.digest);
    expect((await images.list({ signal: signal() })).filter((r) => r.name === name)).toHaveLength(1);
    await images.delete(name, { signal: signal() });
    await expect(images.get(name, { signal: signal() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(images.delete(name, { signal: signal() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
}
