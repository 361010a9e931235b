// Builds the benchmark's images once and caches them: each layer streamed from its generator through pigz
// into an OCI layout (hashing both sides on the way, never holding a layer in memory), then packed into an
// OCI archive that `ctr images import` takes. A directory is complete only when its meta.json exists, so an
// interrupted build is redone rather than reused.

import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { emptyStats } from './rootfs-layer.mjs';

/** @typedef {import('./rootfs-layer.mjs').LayerStats} LayerStats */
/** @typedef {{ digest: string, diffId: string, size: number, stats: LayerStats, path: string }} BuiltLayer */
/** @typedef {{ dir: string, name: string, archive: string, gzipLevel: number, layers: BuiltLayer[], buildSeconds: number }} BuiltImage */

/** A pass-through that hashes and counts what flows by. */
function hashTap() {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  return { tap, done: () => ({ digest: `sha256:${hash.digest('hex')}`, size }) };
}

/** @param {number} code @param {string} what */
function exitPromise(/** @type {import('node:child_process').ChildProcess} */ child, what) {
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(undefined) : reject(new Error(`${what} exited with ${code}`)),
    );
  });
}

/**
 * Streams one tar through `pigz -<level>` into blobs/sha256 of `layout`.
 * @param {string} layout @param {Iterable<Buffer>} chunks @param {LayerStats} stats @param {number} level
 * @returns {Promise<BuiltLayer>}
 */
async function buildLayer(layout, chunks, stats, level) {
  const tmp = join(layout, 'blobs', 'sha256', 'layer.partial');
  const pigz = spawn('pigz', [`-${level}`, '-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const raw = hashTap();
  const gz = hashTap();
  await Promise.all([
    pipeline(Readable.from(chunks, { objectMode: false, highWaterMark: 1 << 20 }), raw.tap, pigz.stdin),
    pipeline(pigz.stdout, gz.tap, createWriteStream(tmp)),
    exitPromise(pigz, 'pigz'),
  ]);
  const blob = gz.done();
  const path = join(layout, 'blobs', 'sha256', blob.digest.slice(7));
  await rename(tmp, path);
  return { digest: blob.digest, diffId: raw.done().digest, size: blob.size, stats, path };
}

/** @param {string} layout @param {unknown} value */
async function putJson(layout, value) {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await writeFile(join(layout, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

/**
 * Returns the cached image in `dir`, or builds it there.
 * @param {{ dir: string, name: string, gzipLevel: number, layers: Array<(stats: LayerStats) => Iterable<Buffer>>, log: (s: string) => void }} o
 * @returns {Promise<BuiltImage>}
 */
export async function cachedImage(o) {
  const metaPath = join(o.dir, 'meta.json');
  if (existsSync(metaPath)) return JSON.parse(await readFile(metaPath, 'utf8'));
  const started = performance.now();
  await rm(o.dir, { recursive: true, force: true });
  const layout = join(o.dir, 'layout');
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  /** @type {BuiltLayer[]} */
  const layers = [];
  for (const [i, make] of o.layers.entries()) {
    const stats = emptyStats();
    o.log(`generating ${o.name} layer ${i + 1}/${o.layers.length}`);
    layers.push(await buildLayer(layout, make(stats), stats, o.gzipLevel));
  }
  const config = await putJson(layout, {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `bench layer ${i + 1}` })),
  });
  const manifest = await putJson(layout, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((l) => ({
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: l.digest,
      size: l.size,
    })),
  });
  const entry = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    ...manifest,
    platform: { architecture: 'amd64', os: 'linux' },
    annotations: { 'io.containerd.image.name': o.name, 'org.opencontainers.image.ref.name': 'latest' },
  };
  await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const archive = join(o.dir, 'image.tar');
  const tar = spawn('tar', ['-cf', archive, '-C', layout, '.'], { stdio: 'inherit' });
  await exitPromise(tar, 'tar');
  /** @type {BuiltImage} */
  const built = {
    dir: o.dir,
    name: o.name,
    archive,
    gzipLevel: o.gzipLevel,
    layers,
    buildSeconds: (performance.now() - started) / 1000,
  };
  await writeFile(metaPath, JSON.stringify(built, null, 2));
  await stat(archive);
  return built;
}
