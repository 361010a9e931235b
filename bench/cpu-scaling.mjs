// Issue 18's measurements: tsconvert --zstdchunked from an OCI archive into an OCI layout with Node made to
// see 2, 16 and 64 CPUs (scripts/fake-cpus.mjs), on the main image and on a 16-layer image, with default
// flags and with --jobs 16. Per run: peak RSS, the output digest (it must not change), per-thread CPU (the
// busiest thread's share, and the wall time it implies on 16 and 64 cores), and how many compression threads
// ran at once (the pool's --debug line). A peer line times skopeo's zstd:chunked writer, layout to layout.
// Runs inside `npm run bench`, or alone on small inputs:
//
//   node bench/cpu-scaling.mjs [--scale 0.1] [--layer-mib 8] [--cpus 2,16,64] [--skopeo] [--cache DIR]

import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { binNodeFlags } from '../scripts/bin-flags.ts';
import { fakeCpusEnv } from '../scripts/fake-cpus.ts';
import { cachedImage } from './image.mjs';
import { measure } from './measure.mjs';
import { GENERATOR_VERSION, mainImageProfiles, rootfsLayerChunks } from './rootfs-layer.mjs';
import { impliedWallS } from './threads.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const BIN = join(ROOT, 'dist', 'bin', 'tsconvert.js');
const MiB = 1 << 20;

/** The 16-layer image: 16 layers of `layerMiB` each, shaped like the main image's library layer. */
export function sixteenLayerImage(
  /** @type {string} */ cache,
  /** @type {number} */ layerMiB,
  log = () => {},
) {
  return cachedImage({
    dir: join(cache, `sixteen-${layerMiB}m-g${GENERATOR_VERSION}`),
    name: 'bench.local/sixteen:src',
    gzipLevel: 6,
    layers: Array.from(
      { length: 16 },
      (_, i) => (stats) =>
        rootfsLayerChunks(
          { root: `usr/lib${i}`, bytes: layerMiB * MiB, small: 120, medium: 40, largeEvery: 6 },
          `bench/sixteen/${i}`,
          stats,
        ),
    ),
    log,
  });
}

/** "compression pool: 7 threads (budget 256 MiB), at most 7 busy at once" from --debug stderr. */
export function poolLine(/** @type {string} */ stderr) {
  const m = /compression pool: (\d+) threads?.*?at most (\d+) busy at once/.exec(stderr);
  return m ? { threads: Number(m[1]), peakBusy: Number(m[2]) } : undefined;
}

/**
 * One tsconvert run at `cpus` faked CPUs from `archive` into a fresh layout.
 * @param {{ archive: string, cpus: number, extra: string[], timeBin: string }} o
 */
export async function convertAtCpus(o) {
  const out = await mkdtemp(join(tmpdir(), 'tsconvert-cpus-'));
  try {
    const r = await measure({
      cmd: process.execPath,
      args: [
        ...binNodeFlags(BIN),
        BIN,
        '--debug',
        'image',
        'convert',
        '--zstdchunked',
        '--oci',
        ...o.extra,
        `oci-archive:${o.archive}`,
        `oci:${join(out, 'layout')}:out`,
      ],
      env: fakeCpusEnv(o.cpus),
      tmpDir: out,
      timeBin: o.timeBin,
      threads: true,
    });
    if (r.code !== 0) throw new Error(`tsconvert at ${o.cpus} CPUs failed: ${r.stderr.slice(-2000)}`);
    return {
      ...r,
      digest: r.stdout.trim(),
      pool: poolLine(r.stderr),
      digestThread: /compression threads, a digest thread/.test(r.stderr),
    };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** skopeo's zstd:chunked writer over the same image, layout to layout (the peer line). */
export async function skopeoPeer(/** @type {string} */ layoutDir, /** @type {string} */ timeBin) {
  const out = await mkdtemp(join(tmpdir(), 'tsconvert-skopeo-'));
  try {
    return await measure({
      cmd: 'skopeo',
      args: [
        'copy',
        '--dest-compress-format',
        'zstd:chunked',
        `oci:${layoutDir}:latest`,
        `oci:${join(out, 'layout')}:out`,
      ],
      timeBin,
    });
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/**
 * Every image × flags × CPU count. Rows carry RSS, digest, thread CPU and pool concurrency.
 * @param {{ images: Array<{ label: string, archive: string }>, cpuCounts: number[], timeBin: string, log?: (s: string) => void }} o
 */
export async function cpuScaling(o) {
  const rows = [];
  for (const img of o.images) {
    for (const [flags, extra] of [
      ['default', []],
      ['--jobs 16', ['--jobs', '16']],
    ]) {
      for (const cpus of o.cpuCounts) {
        o.log?.(`${img.label}, ${flags}, ${cpus} CPUs`);
        const r = await convertAtCpus({ archive: img.archive, cpus, extra, timeBin: o.timeBin });
        const t = r.threads ?? { totalS: 0, busiestS: 0, busiestName: '', threads: 0 };
        rows.push({
          image: img.label,
          flags,
          cpus,
          wallS: r.wallS,
          cpuS: r.cpuS,
          peakRssBytes: r.peakRssBytes,
          digest: r.digest,
          busiestShare: t.totalS > 0 ? t.busiestS / t.totalS : 0,
          busiestName: t.busiestName,
          threadCpu: t,
          poolThreads: r.pool?.threads ?? 0,
          peakBusy: r.pool?.peakBusy ?? 0,
          // The threads that share the work: the pool's, the main thread and the digest thread if any.
          implied16S: impliedWallS(t, Math.min(16, (r.pool?.threads ?? 1) + 1 + (r.digestThread ? 1 : 0))),
          implied64S: impliedWallS(t, Math.min(64, (r.pool?.threads ?? 1) + 1 + (r.digestThread ? 1 : 0))),
        });
        o.log?.(
          `  ${Math.round(r.peakRssBytes / 1e6)} MB, ${r.pool?.threads ?? 0} threads, ${r.pool?.peakBusy ?? 0} busy at once, ${r.wallS.toFixed(1)} s, ${r.digest.slice(7, 19)}`,
        );
      }
    }
  }
  return rows;
}

/** Markdown table of the rows. @param {Awaited<ReturnType<typeof cpuScaling>>} rows */
export function cpuScalingTable(rows) {
  const lines = [
    '| image | flags | CPUs | wall s | CPU s | peak RSS MB | compression threads | busy at once | busiest thread % of CPU | implied wall s on 16 / 64 cores | output digest |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.image} | ${r.flags} | ${r.cpus} | ${r.wallS.toFixed(1)} | ${r.cpuS.toFixed(1)} | ${Math.round(r.peakRssBytes / 1e6)} | ${r.poolThreads} | ${r.peakBusy} | ${(r.busiestShare * 100).toFixed(0)} (${r.busiestName}) | ${r.implied16S.toFixed(1)} / ${r.implied64S.toFixed(1)} | ${r.digest.slice(7, 19)} |`,
    );
  }
  return lines.join('\n');
}

async function standalone() {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: '0.1' },
      'layer-mib': { type: 'string', default: '8' },
      cpus: { type: 'string', default: '2,16,64' },
      skopeo: { type: 'boolean', default: false },
      cache: { type: 'string', default: join(homedir(), '.cache', 'tsconvert-bench') },
    },
  });
  const log = (/** @type {string} */ s) => process.stderr.write(`cpu-scaling: ${s}\n`);
  const scale = Number(values.scale);
  const main = await cachedImage({
    dir: join(values.cache, `rootfs-g${GENERATOR_VERSION}-x${scale}`),
    name: 'bench.local/rootfs:src',
    gzipLevel: 6,
    layers: mainImageProfiles(scale).map(
      (p, i) => (stats) => rootfsLayerChunks(p, `bench/rootfs/${i}`, stats),
    ),
    log,
  });
  const sixteen = await sixteenLayerImage(values.cache, Number(values['layer-mib']), log);
  const rows = await cpuScaling({
    images: [
      { label: `main ×${scale}`, archive: main.archive },
      { label: `16 × ${values['layer-mib']} MiB`, archive: sixteen.archive },
    ],
    cpuCounts: values.cpus.split(',').map(Number),
    timeBin: '/usr/bin/time',
    log,
  });
  process.stdout.write(`${cpuScalingTable(rows)}\n`);
  if (values.skopeo) {
    const s = await skopeoPeer(join(main.dir, 'layout'), '/usr/bin/time');
    process.stdout.write(
      `skopeo copy --dest-compress-format zstd:chunked (main ×${scale}): ${s.wallS.toFixed(1)} s, ${s.cpuS.toFixed(1)} CPU s, ${Math.round(s.peakRssBytes / 1e6)} MB, exit ${s.code}\n`,
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await standalone();
