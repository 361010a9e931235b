// Test images whose layers are chosen by the test, so two images can share some: each layer is a tar of one
// file of random bytes, gzipped, written with its config (correct diff_ids) and manifest into an OCI layout
// through the layout backend, under a ref name. Used by the reuse tests (issue 21).
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { openOciLayout } from '../../src/oci-layout/backend.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor, Manifest } from '../../src/oci/types.js';
import { putBlob, sig, tarOf } from './oci-sample.js';

/** A gzipped layer: its tar's DiffID and the blob. */
export interface TestLayer {
  diffId: string;
  gzip: Buffer;
}

/** A layer of one file of `bytes` random bytes (random, so no two layers are ever equal). */
export async function randomLayer(name: string, bytes = 4096): Promise<TestLayer> {
  const tar = await tarOf({ [name]: randomBytes(bytes) });
  // Level 1: random data does not compress, and the test machine is shared.
  return { diffId: sha256Digest(tar), gzip: gzipSync(tar, { level: 1 }) };
}

/** Writes each image (ref name → its layers, bottom first) into the layout at `dir` (created if missing). */
export async function writeLayerImages(dir: string, images: Record<string, TestLayer[]>): Promise<void> {
  const layout = await openOciLayout({ path: dir, mode: 'write', signal: sig() });
  try {
    for (const [name, layers] of Object.entries(images)) {
      const layerDescs: Descriptor[] = [];
      for (const layer of layers)
        layerDescs.push(await putBlob(layout.content, layer.gzip, MediaType.ociLayerGzip));
      const config = {
        architecture: 'amd64',
        os: 'linux',
        config: { Env: [`IMAGE=${name}`] },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      };
      const configDesc = await putBlob(
        layout.content,
        Buffer.from(JSON.stringify(config)),
        MediaType.ociConfig,
      );
      const manifest: Manifest = {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: configDesc,
        layers: layerDescs,
      };
      const target = await putBlob(
        layout.content,
        Buffer.from(JSON.stringify(manifest)),
        MediaType.ociManifest,
      );
      await layout.images.put({ name, labels: {}, target }, { signal: sig() });
    }
  } finally {
    await layout.close();
  }
}
