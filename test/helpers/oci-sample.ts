// Test helpers for the OCI-layout tests: build a small, valid single-platform image (gzip layers with
// correct diff_ids) straight into any ContentStore, and check a layout on disk from first principles
// (every index.json entry and everything it references is present and hashes to its name).

import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { sha256Digest, type Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor, Index, Manifest } from '../../src/oci/types.js';
import type { ContentStore } from '../../src/store/content-store.js';

export const sig = (): AbortSignal => new AbortController().signal;

/** A tar holding the given files, as bytes. */
export async function tarOf(files: Record<string, Uint8Array | string>): Promise<Buffer> {
  const pack = tarPack();
  for (const [name, body] of Object.entries(files)) {
    pack.entry({ name, mode: 0o644, mtime: new Date(0) }, Buffer.from(body));
  }
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const chunk of pack) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

export async function putBlob(store: ContentStore, data: Uint8Array, mediaType: string): Promise<Descriptor> {
  const digest = sha256Digest(data);
  const w = await store.openWriter({
    ref: `test-${digest}-${randomBytes(4).toString('hex')}`,
    signal: sig(),
  });
  await w.write(data);
  await w.commit({ size: data.length, expected: digest });
  return { mediaType, digest, size: data.length };
}

/** Writes a runnable-looking image (config, `layers` gzip layers, manifest) and returns the manifest descriptor. */
export async function writeSampleImage(
  store: ContentStore,
  seed: string,
  layers = 2,
  layerBytes = 2048,
): Promise<Descriptor> {
  const layerDescs: Descriptor[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < layers; i++) {
    const tar = await tarOf({ [`file-${seed}-${i}.bin`]: randomBytes(layerBytes) });
    diffIds.push(sha256Digest(tar));
    layerDescs.push(await putBlob(store, gzipSync(tar), MediaType.ociLayerGzip));
  }
  const config = {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: [`SEED=${seed}`] },
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  const configDesc = await putBlob(store, Buffer.from(JSON.stringify(config)), MediaType.ociConfig);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDesc,
    layers: layerDescs,
  };
  return putBlob(store, Buffer.from(JSON.stringify(manifest)), MediaType.ociManifest);
}

async function blobOk(root: string, desc: Descriptor): Promise<Buffer> {
  const hex = desc.digest.slice('sha256:'.length);
  const data = await readFile(join(root, 'blobs', 'sha256', hex));
  if (data.length !== desc.size) throw new Error(`${desc.digest}: size ${data.length}, want ${desc.size}`);
  if (sha256Digest(data) !== desc.digest) throw new Error(`${desc.digest}: content does not match its name`);
  return data;
}

/**
 * Checks the layout at `root` the way a strict reader would: index.json parses, every entry's manifest
 * (or nested index), config and layers exist with the right size and digest, and every file under
 * blobs/sha256 hashes to its name (no half-written blob ever got a real name). Returns the entry names.
 */
export async function verifyLayout(root: string): Promise<string[]> {
  const index = JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as Index;
  const check = async (desc: Descriptor): Promise<void> => {
    const body = JSON.parse((await blobOk(root, desc)).toString('utf8')) as Partial<Manifest & Index>;
    if (Array.isArray(body.manifests)) for (const m of body.manifests) await check(m);
    if (body.config !== undefined) await blobOk(root, body.config);
    for (const l of body.layers ?? []) await blobOk(root, l);
  };
  for (const entry of index.manifests) await check(entry);
  for (const hex of await readdir(join(root, 'blobs', 'sha256'))) {
    const data = await readFile(join(root, 'blobs', 'sha256', hex));
    const got = createHash('sha256').update(data).digest('hex');
    if (got !== hex) throw new Error(`blobs/sha256/${hex} holds content ${got}`);
  }
  return index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'] ?? '');
}

export type { Digest };
