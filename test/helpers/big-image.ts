// Images of generated big layers, built with real tools (the big-layer generator, pigz, GNU tar) into an
// OCI archive that the tests import into the private containerd or read as `oci-archive:`: multi-GB tars of
// many files, or a tar of hundreds of thousands of empty files (the largest TOC for its size). Built in a
// temp dir for the test run; no layer is ever held in memory by the test.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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

/** A tar written by `makeTar` to the given path, gzipped with pigz into the layout's blobs. */
async function addLayer(
  work: string,
  layout: string,
  makeTar: (path: string) => Promise<void>,
): Promise<{ diffId: string; digest: string; size: number; uncompressedBytes: number }> {
  const tar = join(work, 'layer.tar');
  const gz = join(work, 'layer.tar.gz');
  await makeTar(tar);
  const diffId = await sha256File(tar);
  const uncompressedBytes = (await stat(tar)).size;
  await run('bash', ['-o', 'pipefail', '-c', `pigz -1 -c "${tar}" > "${gz}"`]);
  await rm(tar);
  const digest = await sha256File(gz);
  const size = (await stat(gz)).size;
  await rename(gz, join(layout, 'blobs', 'sha256', digest.slice(7)));
  return { diffId, digest, size, uncompressedBytes };
}

/** The big-layer generator's tar of about `bytes`: many small text files, binaries, a few large files. */
function generatedTar(bytes: number, seed: string): (path: string) => Promise<void> {
  const gen = join(REPO_ROOT, 'fixtures', 'gen', 'big-layer.mjs');
  return async (path) => {
    await run('bash', [
      '-o',
      'pipefail',
      '-c',
      `"${NODE}" "${gen}" --bytes ${bytes} --seed ${seed} > "${path}"`,
    ]);
  };
}

/** The ustar header block of an empty regular file (mode 0644, root, 2024-01-01). */
function emptyFileHeader(name: string): Buffer {
  const h = Buffer.alloc(512);
  const octal = (at: number, width: number, v: number): void => {
    h.write(`${v.toString(8).padStart(width - 1, '0')}\0`, at, width, 'latin1');
  };
  h.write(name, 0, 100, 'latin1');
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, 0);
  octal(136, 12, Date.UTC(2024, 0, 1) / 1000);
  h.write('0', 156, 'latin1');
  h.write('ustar\x0000', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/**
 * A tar of `count` empty files whose names take the whole 100-byte ustar name field, 1000 to a directory:
 * the layer whose TOC is largest for its size (each entry is a few hundred bytes of JSON).
 */
function emptyFilesTar(count: number): (path: string) => Promise<void> {
  return async (path) => {
    function* blocks(): Generator<Buffer> {
      for (let i = 0; i < count; i++) {
        const dir = `srv/many/d${String(Math.floor(i / 1000)).padStart(5, '0')}/`;
        const file = `f${String(i).padStart(8, '0')}-`;
        yield emptyFileHeader(`${dir}${file}`.padEnd(100, 'x'));
      }
      yield Buffer.alloc(1024);
    }
    await pipeline(Readable.from(blocks()), createWriteStream(path));
  };
}

/**
 * A tar of `files` files of `fileBytes` each of seeded pseudo-random words: text that compresses about 3:1 and
 * takes zstd longer per byte than the tar scan does, so compression, not the scan, is the work. Written
 * through GNU tar with fixed owners and times.
 */
function textFilesTar(files: number, fileBytes: number): (path: string) => Promise<void> {
  const words =
    'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu layer image chunk frame digest'.split(
      ' ',
    );
  return async (path) => {
    const dir = await mkdtemp(join(tmpdir(), 'tsc-text-'));
    try {
      let state = 0x9e3779b9;
      const next = (): number => {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        return state >>> 0;
      };
      for (let f = 0; f < files; f++) {
        const out = createWriteStream(join(dir, `text-${f}.txt`));
        let written = 0;
        while (written < fileBytes) {
          let line = '';
          while (line.length < 64 * 1024)
            line += `${words[next() % words.length]}${next() % 7 === 0 ? '\n' : ' '}`;
          const piece = Buffer.from(line.slice(0, Math.min(line.length, fileBytes - written)));
          written += piece.length;
          if (!out.write(piece)) await new Promise<void>((r) => out.once('drain', () => r()));
        }
        await new Promise<void>((resolve, reject) =>
          out.end((err?: Error | null) => (err ? reject(err) : resolve())),
        );
      }
      await run('tar', [
        '--owner=0',
        '--group=0',
        '--numeric-owner',
        '--mtime=2024-01-01',
        '--sort=name',
        '-cf',
        path,
        '-C',
        dir,
        '.',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
}

/** Builds an OCI archive of one gzip layer of `files` text files of `fileBytes` each (see textFilesTar). */
export async function buildTextFilesImage(files: number, fileBytes: number, name: string): Promise<BigImage> {
  return buildImage([textFilesTar(files, fileBytes)], name);
}

/** Builds an OCI archive holding `layerCount` gzip layers of about `bytes` uncompressed bytes each. */
export async function buildBigImage(bytes: number, name: string, layerCount = 1): Promise<BigImage> {
  const tars = Array.from({ length: layerCount }, (_, i) =>
    generatedTar(bytes, i === 0 ? 'big-layer' : `big-layer-${i}`),
  );
  return buildImage(tars, name);
}

/** Builds an OCI archive of one gzip layer of `count` empty files with long names (a TOC of many MB). */
export async function buildEmptyFilesImage(count: number, name: string): Promise<BigImage> {
  return buildImage([emptyFilesTar(count)], name);
}

async function buildImage(tars: Array<(path: string) => Promise<void>>, name: string): Promise<BigImage> {
  const work = await mkdtemp(join(tmpdir(), 'tsc-big-'));
  const layout = join(work, 'layout');
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  const layers = [];
  for (const makeTar of tars) layers.push(await addLayer(work, layout, makeTar));
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
