// Runs one command under GNU time (wall, user+sys CPU of the child and its descendants, peak RSS) while a
// sampler watches the containerd content store (blobs and ingests) and the child's private TMPDIR every
// 100 ms: peak extra bytes on disk, and every new file whose first block is a tar header — an uncompressed
// copy of a layer. containerd's own /proc/<pid>/io write_bytes delta catches what sampling could miss.

import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearInterval, setInterval } from 'node:timers';
import { firstChild, sampleThreads } from './threads.mjs';

/** @typedef {{ wallS: number, userS: number, sysS: number, cpuS: number, peakRssBytes: number, childFsWriteBytes: number,
 *   storePeakExtraBytes: number, ingestPeakBytes: number, tmpPeakBytes: number, outputBytes: number, tempBlobBytes: number,
 *   uncompressedCopyBytes: number, containerdWriteBytes: number | null, containerdCpuS: number, othersCpuS: number, machineBusyS: number, stdout: string, stderr: string, code: number,
 *   threads?: { totalS: number, busiestS: number, busiestName: string, threads: number } }} RunResult */

/** Sizes of the regular files under `dir` (recursively), keyed by path. @param {string} dir @param {Map<string, number>} out */
async function walk(dir, out) {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile()) {
      try {
        out.set(p, (await stat(p)).size);
      } catch {
        /* gone between readdir and stat */
      }
    }
  }
  return out;
}

/** 'tar' when the first block carries a ustar magic, else 'other'; undefined while too short to tell. @param {string} path */
async function sniff(path) {
  let fh;
  try {
    fh = await open(path, 'r');
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    if (bytesRead < 512) return undefined;
    return buf.toString('latin1', 257, 262) === 'ustar' ? 'tar' : 'other';
  } catch {
    return undefined;
  } finally {
    await fh?.close();
  }
}

/** @param {number} pid */
async function writeBytes(pid) {
  try {
    const io = await readFile(`/proc/${pid}/io`, 'utf8');
    return Number(/write_bytes:\s+(\d+)/.exec(io)?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** Busy CPU seconds of the whole machine so far (all CPUs; /proc/stat counts in USER_HZ = 100). */
async function machineBusyS() {
  const [, ...f] = (await readFile('/proc/stat', 'utf8')).split('\n')[0]?.trim().split(/\s+/) ?? [];
  const n = f.slice(0, 8).map(Number);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  return (n.reduce((a, b) => a + b, 0) - idle) / 100;
}

/** CPU seconds (utime + stime) of one process so far. @param {number} pid */
async function processCpuS(pid) {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

const sum = (/** @type {Map<string, number>} */ m) => [...m.values()].reduce((a, b) => a + b, 0);

/**
 * @param {{ cmd: string, args: string[], env?: NodeJS.ProcessEnv, contentDir?: string, tmpDir?: string,
 *   containerdPid?: number, timeBin: string, threads?: boolean }} o
 * @returns {Promise<RunResult>}
 */
export async function measure(o) {
  const blobsDir = o.contentDir ? join(o.contentDir, 'blobs') : undefined;
  const ingestDir = o.contentDir ? join(o.contentDir, 'ingest') : undefined;
  const before = blobsDir ? await walk(blobsDir, new Map()) : new Map();
  const beforeTotal = sum(before);
  /** @type {Map<string, 'tar' | 'other'>} */
  const kind = new Map();
  /** largest size seen per new file */
  const seen = new Map();
  let storePeak = 0;
  let ingestPeak = 0;
  let tmpPeak = 0;
  const cdBefore = o.containerdPid ? await writeBytes(o.containerdPid) : NaN;
  const cdCpuBefore = o.containerdPid ? await processCpuS(o.containerdPid) : 0;
  const busyBefore = await machineBusyS();
  const selfBefore = process.cpuUsage();

  const sample = async () => {
    const blobs = blobsDir ? await walk(blobsDir, new Map()) : new Map();
    const ingest = ingestDir ? await walk(ingestDir, new Map()) : new Map();
    const tmp = o.tmpDir ? await walk(o.tmpDir, new Map()) : new Map();
    storePeak = Math.max(storePeak, sum(blobs) + sum(ingest) - beforeTotal);
    ingestPeak = Math.max(ingestPeak, sum(ingest));
    tmpPeak = Math.max(tmpPeak, sum(tmp));
    for (const [p, size] of [...blobs, ...ingest, ...tmp]) {
      if (before.has(p)) continue;
      seen.set(p, Math.max(seen.get(p) ?? 0, size));
      if (!kind.has(p) && (!ingestDir || !p.startsWith(ingestDir) || p.endsWith('/data'))) {
        const k = await sniff(p);
        if (k) kind.set(p, k);
      }
    }
  };

  const timeOut = join(tmpdir(), `tsconvert-bench-time-${process.pid}-${Date.now()}`);
  const started = performance.now();
  const child = spawn(o.timeBin, ['-f', '%e %U %S %M %O', '-o', timeOut, o.cmd, ...o.args], {
    env: o.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The command's own threads (GNU time's child), when asked for.
  const threads = o.threads ? sampleThreads(() => firstChild(/** @type {number} */ (child.pid))) : undefined;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-20000)));
  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(sample);
  }, 100);
  const code = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  const wallS = (performance.now() - started) / 1000;
  const threadStats = await threads?.stop();
  clearInterval(timer);
  await sampling;
  await sample();
  const cdAfter = o.containerdPid ? await writeBytes(o.containerdPid) : NaN;
  const cdCpuS = o.containerdPid ? (await processCpuS(o.containerdPid)) - cdCpuBefore : 0;
  const busyS = (await machineBusyS()) - busyBefore;
  const self = process.cpuUsage(selfBefore);

  const after = blobsDir ? await walk(blobsDir, new Map()) : new Map();
  let outputBytes = 0;
  for (const [p, size] of after) if (!before.has(p)) outputBytes += size;
  // A committed ingest is renamed into blobs/, so ingest paths are not counted as gone blobs.
  let tempBlobBytes = 0;
  const tar = { blobs: 0, ingest: 0, tmp: 0 };
  for (const [p, size] of seen) {
    const where =
      ingestDir && p.startsWith(ingestDir) ? 'ingest' : blobsDir && p.startsWith(blobsDir) ? 'blobs' : 'tmp';
    if (where !== 'ingest' && !after.has(p)) tempBlobBytes += size;
    if (kind.get(p) === 'tar') tar[where] += size;
  }
  const uncompressedCopyBytes = tar.blobs + tar.tmp + Math.max(0, tar.ingest - tar.blobs);
  const [, userS = 0, sysS = 0, maxKb = 0, fsOut = 0] =
    (await readFile(timeOut, 'utf8').catch(() => '')).trim().split('\n').pop()?.split(' ').map(Number) ?? [];
  await rm(timeOut, { force: true });
  return {
    wallS,
    userS,
    sysS,
    cpuS: userS + sysS,
    peakRssBytes: maxKb * 1024,
    childFsWriteBytes: fsOut * 512,
    storePeakExtraBytes: storePeak,
    ingestPeakBytes: ingestPeak,
    tmpPeakBytes: tmpPeak,
    outputBytes,
    tempBlobBytes,
    uncompressedCopyBytes,
    containerdWriteBytes: Number.isFinite(cdAfter - cdBefore) ? cdAfter - cdBefore : null,
    containerdCpuS: cdCpuS,
    // CPU the rest of the machine used meanwhile (other users' tests, ...): a contended run is not a measurement.
    othersCpuS: Math.max(
      0,
      busyS - (userS + sysS) - (Number.isFinite(cdCpuS) ? cdCpuS : 0) - (self.user + self.system) / 1e6,
    ),
    machineBusyS: busyS,
    stdout,
    stderr,
    code: /** @type {number} */ (code),
    ...(threadStats ? { threads: threadStats } : {}),
  };
}
