// The floor estimate: CPU time of the work no converter to zstd(:chunked) can skip, each step timed alone on
// one thread with the fastest implementation the project has — gunzip (node:zlib), zstd level 3 over 4 MiB
// chunks (zstd-napi, what src/zstd wraps), sha256 of source + uncompressed + output bytes (node:crypto), and
// CRC-64/ISO of the uncompressed bytes (the project's own, from dist/). Run as its own
// process (`node bench/floor.mjs BLOB...`) so nothing else shares its CPU time; prints one JSON object.
// The parent divides the sum by the CPU count.

import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Compressor } from 'zstd-napi';

const CHUNK = 4 << 20;

/** CPU seconds (user + sys) that `fn` takes. @param {() => void} fn */
function cpu(fn) {
  const start = process.cpuUsage();
  fn();
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

/** The project's CRC-64 from the build (bench/run.mjs builds dist/ first unless --no-build). */
async function projectCrc() {
  const path = join(fileURLToPath(new URL('..', import.meta.url)), 'dist', 'util', 'crc64.js');
  if (!existsSync(path)) throw new Error(`${path} is missing: build the project first (npm run build)`);
  const mod = await import(path);
  return mod.Crc64;
}

async function main() {
  const blobs = process.argv.slice(2);
  const ProjectCrc = await projectCrc();
  const cmp = new Compressor();
  cmp.setParameters({ compressionLevel: 3 });
  const t = {
    gunzip: 0,
    zstd: 0,
    sha256: 0,
    crc64: 0,
  };
  const bytes = { source: 0, uncompressed: 0, output: 0 };
  for (const path of blobs) {
    const src = await readFile(path);
    /** @type {Buffer} */
    let raw = Buffer.alloc(0);
    t.gunzip += cpu(() => {
      raw = gunzipSync(src, { chunkSize: 1 << 20 });
    });
    /** @type {Buffer[]} */
    const out = [];
    t.zstd += cpu(() => {
      for (let off = 0; off < raw.length; off += CHUNK)
        out.push(cmp.compress(raw.subarray(off, off + CHUNK)));
    });
    t.sha256 += cpu(() => {
      createHash('sha256').update(src).digest();
      createHash('sha256').update(raw).digest();
      const h = createHash('sha256');
      for (const o of out) h.update(o);
      h.digest();
    });
    t.crc64 += cpu(() => {
      const c = new ProjectCrc();
      for (let off = 0; off < raw.length; off += CHUNK) c.update(raw.subarray(off, off + CHUNK));
    });
    bytes.source += src.length;
    bytes.uncompressed += raw.length;
    bytes.output += out.reduce((a, o) => a + o.length, 0);
  }
  const total = t.gunzip + t.zstd + t.sha256 + t.crc64;
  process.stdout.write(`${JSON.stringify({ ...t, total, bytes })}\n`);
}

main().catch((err) => {
  process.stderr.write(`floor: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
