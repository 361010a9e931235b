// A single-layer image of a generated multi-GB tar, built with real tools (the big-layer generator, pigz,
// GNU tar) into an OCI archive and imported into the private containerd. Cached per size in a temp dir for
// the test run; the layer is never held in memory by the test.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NODE } from './cli.js';
import { REPO_ROOT } from './fixtures.js';

const run = promisify(execFile);

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

async function putBlob(dir: string, data: string | Buffer): Promise<{ digest: string; size: number }> {
  const bytes = Buffer.from(data);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

export interface BigImage {
  archive: string;
  /** The first layer's DiffID and digest. */
  diffId: string;
  layerDigest: string;
  /** Of all layers together. */
  uncompressedBytes: number;
  cleanup(): Promise<void>;
}

/** One generated tar of about `bytes`, gzipped with pigz into the layout's blobs. */
async function addLayer(
  work: string,
  layout: string,
  bytes: number,
  seed: string,
): Promise<{ diffId: string; digest: string; size: number; uncompressedBytes: number }> {
  const tar = join(work, 'layer.tar');
  const gz = join(work, 'layer.tar.gz');
  const gen = join(REPO_ROOT, 'fixtures', 'gen', 'big-layer.mjs');
  await run('bash', [
    '-o',
    'pipefail',
    '-c',
    `"${NODE}" "${gen}" --bytes ${bytes} --seed ${seed} > "${tar}"`,
  ]);
  const diffId = await sha256File(tar);
  const uncompressedBytes = (await stat(tar)).size;
  await run('bash', ['-o', 'pipefail', '-c', `pigz -1 -c "${tar}" > "${gz}"`]);
  await rm(tar);
  const digest = await sha256File(gz);
  const size = (await stat(gz)).size;
  await rename(gz, join(layout, 'blobs', 'sha256', digest.slice(7)));
  return { diffId, digest, size, uncompressedBytes };
}

/** Builds an OCI archive holding `layerCount` gzip layers of about `bytes` uncompressed bytes each. */
export async function buildBigImage(bytes: number, name: string, layerCount = 1): Promise<BigImage> {
  const work = await mkdtemp(join(tmpdir(), 'tsc-big-'));
  const layout = join(work, 'layout');
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  const layers = [];
  for (let i = 0; i < layerCount; i++)
    layers.push(await addLayer(work, layout, bytes, i === 0 ? 'big-layer' : `big-layer-${i}`));
  const [first] = layers as [(typeof layers)[number]];
  const { diffId, digest: layerDigest } = first;
  const uncompressedBytes = layers.reduce((a, l) => a + l.uncompressedBytes, 0);
  const config = await putBlob(
    layout,
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      config: {},
    }),
  );
  const manifest = await putBlob(
    layout,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: l.digest,
        size: l.size,
      })),
    }),
  );
  const entry = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    ...manifest,
    annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': 'latest' },
  };
  await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const archive = join(work, 'image.tar');
  await run('tar', ['-cf', archive, '-C', layout, '.']);
  await rm(layout, { recursive: true });
  return {
    archive,
    diffId,
    layerDigest,
    uncompressedBytes,
    cleanup: () => rm(work, { recursive: true, force: true }),
  };
}

/** Peak resident set size of a running process, in bytes, from the kernel (VmHWM). */
export async function peakRss(pid: number): Promise<number | undefined> {
  try {
    const { readFile } = await import('node:fs/promises');
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}
