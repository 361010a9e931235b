// `npm run bench`: the performance benchmark of issue 5. Builds (once, cached) a realistic four-layer gzip
// image and three scaling images, starts a private containerd, and measures side by side, alternating in every
// round: tsconvert --zstdchunked --oci (when the build has the flag), tsconvert --zstd --oci, the CLI baseline
// (pigz -dc | zstd -3 -T0 over the same blobs), the floor estimate (bench/floor.mjs) and nerdctl's converter
// (reference-convert from ../shared/interop, when built). Then --jobs scaling, peak RSS on the scaling images
// (and of `image verify` on each zstd:chunked result) and a --cpu-prof run, issue 18's runs at 2/16/64 faked CPUs with skopeo as a peer (bench/cpu-scaling.mjs),
// and issue 21's reuse line: the main image converted a second time into the same containerd and the same
// `oci:` layout. Measured conversions pass --no-reuse, so each round redoes the full work.
// Writes docs/benchmarks.md (only this script writes it); --only-reuse runs just the reuse line and prints it.
//
//   npm run bench [-- --quick] [-- --rounds N] [--no-build] [--skip-reference] [--skip-scaling]
//                 [--skip-profile] [--skip-cpus] [--out FILE] [--cache DIR] [--keep] [--big-bytes 4G] [--empty-files 200000]
//                 [--many-files 1000000] [--only-reuse]

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { binNodeFlags } from '../scripts/bin-flags.ts';
import { parseSize } from '../fixtures/gen/big-layer.mjs';
import { cpuScaling, sixteenLayerImage, skopeoPeer } from './cpu-scaling.mjs';
import { cachedImage } from './image.mjs';
import { measure } from './measure.mjs';
import { summariseProfiles } from './profile.mjs';
import { writeReport } from './report.mjs';
import {
  GENERATOR_VERSION,
  bigLayerProfile,
  emptyFilesLayerChunks,
  mainImageProfiles,
  rootfsLayerChunks,
} from './rootfs-layer.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const BIN = join(ROOT, 'dist', 'bin', 'tsconvert.js');
const NODE = process.execPath;
const NS = 'bench';
const log = (/** @type {string} */ s) => process.stderr.write(`bench: ${s}\n`);

const { values: argv } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    out: { type: 'string' },
    cache: {
      type: 'string',
      default: process.env.TSCONVERT_BENCH_CACHE ?? join(homedir(), '.cache', 'tsconvert-bench'),
    },
    'no-build': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'skip-reference': { type: 'boolean', default: false },
    'skip-scaling': { type: 'boolean', default: false },
    'skip-profile': { type: 'boolean', default: false },
    'skip-cpus': { type: 'boolean', default: false },
    'big-bytes': { type: 'string' },
    'empty-files': { type: 'string' },
    'many-files': { type: 'string' },
    'only-reuse': { type: 'boolean', default: false },
  },
});
const quick = argv.quick === true;
const rounds = Number(argv.rounds ?? (quick ? 1 : 3));
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds must be a positive integer, got ${argv.rounds}`);
const outPath = resolve(
  argv.out ?? (quick ? join(argv.cache, 'benchmarks-quick.md') : join(ROOT, 'docs', 'benchmarks.md')),
);

/** @param {string} cmd @param {string[]} args */
function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}
/** First line of a command's stdout+stderr, or undefined when it fails. @param {string} cmd @param {string[]} args */
function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return undefined;
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0];
}

/** Tools the bench drives; GNU time is the one scripts/ensure-tools.sh does not cover. */
function ensureTools() {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'ensure-tools.sh')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('scripts/ensure-tools.sh failed');
  if (!existsSync('/usr/bin/time')) {
    if (process.getuid?.() !== 0) throw new Error('GNU time is missing: apt-get install -y time (as root)');
    log('installing GNU time (Debian package "time")');
    sh('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'time'], { stdio: 'inherit' });
  }
  return '/usr/bin/time';
}

function build() {
  log('building (tsc -p tsconfig.build.json)');
  const r = spawnSync(
    NODE,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
  if (r.status !== 0)
    throw new Error('build failed; fix it or run with --no-build to measure the existing dist/');
}

const MiB = 1 << 20;

/**
 * Builds ../shared/interop's reference-convert when that checkout is next to this one (Debian Go packages,
 * about a minute cold); false when there is nothing to build it from or the build fails.
 */
function buildReference() {
  const script = join(ROOT, '..', 'shared', 'interop', 'build.sh');
  if (!existsSync(script)) {
    log('reference-convert is not built and ../shared/interop is missing: that line is skipped');
    return false;
  }
  log('building reference-convert (sh ../shared/interop/build.sh --deps)');
  const r = spawnSync('sh', [script, '--deps'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) log('building reference-convert failed: that line is skipped');
  return r.status === 0;
}

async function images() {
  const scale = quick ? 0.05 : 1;
  const tag = `g${GENERATOR_VERSION}${quick ? '-quick' : ''}`;
  const main = await cachedImage({
    dir: join(argv.cache, `rootfs-${tag}`),
    name: 'bench.local/rootfs:src',
    gzipLevel: 6,
    layers: mainImageProfiles(scale).map(
      (p, i) => (stats) => rootfsLayerChunks(p, `bench/rootfs/${i}`, stats),
    ),
    log,
  });
  if (argv['skip-scaling']) return { main };
  const bigBytes = parseSize(argv['big-bytes'] ?? (quick ? '256M' : '4G'));
  const big = await cachedImage({
    dir: join(argv.cache, `big-${bigBytes}-g${GENERATOR_VERSION}`),
    name: 'bench.local/big:src',
    gzipLevel: 1,
    layers: [(stats) => rootfsLayerChunks(bigLayerProfile(bigBytes), 'bench/big', stats)],
    log,
  });
  /** @param {string} key @param {number} count */
  const emptyFiles = (key, count) =>
    cachedImage({
      dir: join(argv.cache, `empty-${count}-g${GENERATOR_VERSION}`),
      name: `bench.local/${key}:src`,
      gzipLevel: 6,
      layers: [(stats) => emptyFilesLayerChunks(count, stats)],
      log,
    });
  const empty = await emptyFiles('empty', Number(argv['empty-files'] ?? (quick ? 20000 : 200000)));
  // Not a target: five times the entries of the one above, to show what memory still follows the count.
  const many = await emptyFiles('many', Number(argv['many-files'] ?? (quick ? 100000 : 1000000)));
  return { main, big, empty, many };
}

/** A private containerd for the whole bench. */
async function startContainerd() {
  const dir = await mkdtemp('/tmp/tscb-');
  const sock = sh('bash', [join(ROOT, 'scripts', 'containerd-private.sh'), 'start', dir]).trim();
  const pid = Number((await readFile(join(dir, 'containerd.pid'), 'utf8')).trim());
  return { dir, sock, pid, contentDir: join(dir, 'root', 'io.containerd.content.v1.content') };
}

async function main() {
  const started = new Date();
  const timeBin = ensureTools();
  if (!argv['no-build']) build();
  // Recorded before measuring: others may commit while a long run goes on.
  const commit = sh('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).trim();
  const dirty =
    sh('git', ['status', '--porcelain', '--', 'src', 'bench', 'scripts'], { cwd: ROOT }).trim() !== '';
  const help = sh(NODE, [BIN, 'image', 'convert', '--help']);
  const hasChunked = help.includes('--zstdchunked');
  const hasNoReuse = help.includes('--no-reuse');
  const refBin = join(
    process.env.TSCONVERT_INTEROP_BIN ?? join(homedir(), '.cache', 'tsconvert-interop', 'bin'),
    'reference-convert',
  );
  const hasRef = !argv['skip-reference'] && (existsSync(refBin) || buildReference());
  const imgs = await images();
  const cd = await startContainerd();
  const ctr = (/** @type {string[]} */ ...args) =>
    sh('ctr', ['-a', cd.sock, '-n', NS, ...args], { maxBuffer: 1 << 26 });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    spawnSync('bash', [join(ROOT, 'scripts', 'containerd-private.sh'), 'stop', cd.dir], { stdio: 'inherit' });
    // The daemon's root holds a copy of every imported image: gigabytes per run.
    if (!argv.keep) rmSync(cd.dir, { recursive: true, force: true });
  };
  for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
    process.once(sig, () => {
      stop();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  try {
    if (argv['only-reuse']) {
      ctr('images', 'import', '--no-unpack', '--all-platforms', imgs.main.archive);
      const reuse = await measureReuse({ main: imgs.main, cd, ctr, timeBin, hasChunked });
      process.stdout.write(`${reuse.map((r) => r.line).join('\n')}\n`);
      return;
    }
    const results = await measureAll({ imgs, cd, ctr, timeBin, hasChunked, hasNoReuse, hasRef, refBin });
    const cpu = hasChunked && !argv['skip-cpus'] ? await measureCpus(imgs.main, timeBin) : {};
    const env = {
      started: started.toISOString(),
      commit,
      dirty,
      quick,
      rounds,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memGiB: Math.round(
        Number(/MemTotal:\s+(\d+)/.exec(await readFile('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024 / 1024,
      ),
      versions: {
        node: process.version,
        containerd: firstLine('containerd', ['--version']) ?? 'missing',
        zstd: firstLine('zstd', ['--version']) ?? 'missing',
        pigz: firstLine('pigz', ['--version']) ?? 'missing',
        'GNU time': firstLine(timeBin, ['--version']) ?? 'missing',
        'zstd-napi': JSON.parse(
          await readFile(join(ROOT, 'node_modules', 'zstd-napi', 'package.json'), 'utf8'),
        ).version,
        'reference-convert': hasRef
          ? 'containerd 1.6.20 images/converter + stargz-snapshotter 0.12.0 (../shared/interop)'
          : 'not built',
      },
    };
    await mkdir(join(outPath, '..'), { recursive: true });
    const table = await writeReport(outPath, { env, imgs, ...results, ...cpu });
    process.stdout.write(`${table}\nwritten: ${outPath}\n`);
  } finally {
    stop();
  }
}

/**
 * Issue 18: the main image and a 16-layer image at 2, 16 and 64 faked CPUs (default flags, --jobs 16), no
 * daemon involved (OCI archive → OCI layout), and skopeo's zstd:chunked writer on the main image.
 * @param {import('./image.mjs').BuiltImage} main @param {string} timeBin
 */
async function measureCpus(main, timeBin) {
  const sixteen = await sixteenLayerImage(argv.cache, quick ? 4 : 40, log);
  const cpuRows = await cpuScaling({
    images: [
      { label: 'main', archive: main.archive },
      { label: `16 × ${quick ? 4 : 40} MiB`, archive: sixteen.archive },
    ],
    cpuCounts: [2, 16, 64],
    timeBin,
    log,
  });
  log('skopeo copy --dest-compress-format zstd:chunked (peer line)');
  const skopeo = await skopeoPeer(join(main.dir, 'layout'), timeBin);
  return { cpuRows, skopeo };
}

/**
 * Issue 21: the main image converted twice into the same containerd and twice into the same `oci:` layout;
 * the second run finds every layer recorded and reuses it (target: under 1 s each). One PASS/FAIL line per
 * store, also checking that every layer was reused and the digest is the first run's.
 * @param {{ main: import('./image.mjs').BuiltImage, cd: Awaited<ReturnType<typeof startContainerd>>,
 *   ctr: (...args: string[]) => string, timeBin: string, hasChunked: boolean }} c
 */
async function measureReuse(c) {
  const flag = c.hasChunked ? 'zstdchunked' : 'zstd';
  const out = await mkdtemp(join(tmpdir(), 'tscb-reuse-'));
  const dst = 'bench.local/rootfs:reuse';
  const stores = [
    { where: 'containerd', global: ['-a', c.cd.sock, '-n', NS], src: c.main.name, dst },
    {
      where: 'oci: layout',
      global: [],
      src: `oci:${join(c.main.dir, 'layout')}:latest`,
      dst: `oci:${join(out, 'layout')}:reuse`,
    },
  ];
  /** @type {any[]} */
  const rows = [];
  try {
    for (const s of stores) {
      const args = [...binNodeFlags(BIN), BIN, ...s.global, 'image', 'convert', `--${flag}`, '--oci'];
      const runs = [];
      for (const n of [1, 2]) {
        const r = await measure({
          cmd: NODE,
          args: [...args, '--format', 'json', s.src, s.dst],
          env: { ...process.env, TMPDIR: out },
          timeBin: c.timeBin,
        });
        if (r.code !== 0) throw new Error(`reuse run ${n} into ${s.where} failed: ${r.stderr.slice(-2000)}`);
        runs.push({ ...r, json: JSON.parse(r.stdout) });
      }
      const [first, second] = /** @type {[any, any]} */ (runs);
      const layers = second.json.Layers.length;
      const reused = second.json.Layers.filter((/** @type {any} */ l) => l.Reused === true).length;
      const same = first.json.Image === second.json.Image;
      const pass = second.wallS < 1 && reused === layers && same;
      const line = `${pass ? 'PASS' : 'FAIL'} — the main image converted again (--${flag}) into the same ${s.where}: ${second.wallS.toFixed(2)} s (first run ${first.wallS.toFixed(1)} s), ${reused} of ${layers} layers reused, ${same ? 'same digest' : 'OTHER DIGEST'} (target < 1 s)`;
      log(line);
      rows.push({
        where: s.where,
        flag,
        firstS: first.wallS,
        secondS: second.wallS,
        reused,
        layers,
        same,
        pass,
        line,
      });
    }
  } finally {
    try {
      c.ctr('images', 'rm', '--sync', dst);
    } catch {
      /* not there (a failed run) */
    }
    await rm(out, { recursive: true, force: true });
  }
  return rows;
}

/**
 * @param {{ imgs: Awaited<ReturnType<typeof images>>, cd: Awaited<ReturnType<typeof startContainerd>>,
 *   ctr: (...args: string[]) => string, timeBin: string, hasChunked: boolean, hasNoReuse: boolean,
 *   hasRef: boolean, refBin: string }} c
 */
async function measureAll(c) {
  const { cd, ctr } = c;
  const runTmpRoot = await mkdtemp(join(tmpdir(), 'tscb-tmp-'));
  /** @param {import('./image.mjs').BuiltImage} img */
  const importImage = (img) => {
    log(`importing ${img.name}`);
    ctr('images', 'import', '--no-unpack', '--all-platforms', img.archive);
  };
  const rmImage = (/** @type {string} */ name) => {
    try {
      ctr('images', 'rm', '--sync', name);
    } catch {
      /* not there (a failed run) */
    }
  };
  let seq = 0;
  /**
   * One measured run of a converter against containerd; deletes its output afterwards so the next run redoes
   * the full work.
   * `after` runs on the output before it is removed, and what it returns goes into the result.
   * @param {string} id @param {string} cmd @param {string[]} args @param {string} dst
   * @param {() => Promise<Record<string, any>>} [after]
   */
  const convertRun = async (id, cmd, args, dst, after = async () => ({})) => {
    const tmp = join(runTmpRoot, String(seq++));
    await mkdir(tmp);
    const r = await measure({
      cmd,
      args,
      env: { ...process.env, TMPDIR: tmp },
      contentDir: cd.contentDir,
      tmpDir: tmp,
      containerdPid: cd.pid,
      timeBin: c.timeBin,
    });
    const extra = r.code === 0 ? await after() : {};
    rmImage(dst);
    await rm(tmp, { recursive: true, force: true });
    const error = r.code === 0 ? undefined : (r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`);
    log(
      `${id}: ${r.wallS.toFixed(1)} s wall, ${r.cpuS.toFixed(1)} s CPU, ${(r.peakRssBytes / MiB).toFixed(0)} MiB RSS, others used ${r.othersCpuS.toFixed(1)} CPU s${error ? `, FAILED: ${error}` : ''}`,
    );
    const { stdout: _o, stderr: _e, ...rest } = r;
    return { id, ...rest, error, ...extra };
  };
  /** `image verify` of a converted image, measured like a conversion (issue 20: the same memory bound). */
  const verifyRun = async (/** @type {string} */ name) => {
    const r = await measure({
      cmd: NODE,
      args: [...binFlags, BIN, '-a', cd.sock, '-n', NS, 'image', 'verify', name],
      timeBin: c.timeBin,
    });
    const error = r.code === 0 ? undefined : (r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`);
    log(
      `image verify ${name}: ${r.wallS.toFixed(1)} s wall, ${(r.peakRssBytes / MiB).toFixed(0)} MiB RSS${error ? `, FAILED: ${error}` : ''}`,
    );
    return { wallS: r.wallS, cpuS: r.cpuS, peakRssBytes: r.peakRssBytes, error };
  };
  const binFlags = binNodeFlags(BIN);
  const tsArgs = (
    /** @type {string} */ flag,
    /** @type {string} */ src,
    /** @type {string} */ dst,
    extra = /** @type {string[]} */ ([]),
  ) => [
    ...binFlags,
    BIN,
    '-a',
    cd.sock,
    '-n',
    NS,
    'image',
    'convert',
    `--${flag}`,
    '--oci',
    // Every measured run converts every layer: the rounds share one containerd and one source.
    ...(c.hasNoReuse ? ['--no-reuse'] : []),
    ...extra,
    src,
    dst,
  ];
  const tsFlags = [...(c.hasChunked ? ['zstdchunked'] : []), 'zstd'];
  const primary = tsFlags[0] ?? 'zstd';

  // Main image, alternating rounds.
  const main = c.imgs.main;
  importImage(main);
  const blobs = main.layers.map((l) => l.path);
  /** @type {Record<string, any[]>} */
  const runs = { zstdchunked: [], zstd: [], cli: [], floor: [], reference: [] };
  for (let round = 1; round <= rounds; round++) {
    log(`round ${round}/${rounds}`);
    for (const flag of tsFlags) {
      const dst = `bench.local/rootfs:${flag}`;
      runs[flag]?.push({
        round,
        ...(await convertRun(`tsconvert --${flag}`, NODE, tsArgs(flag, main.name, dst), dst)),
      });
    }
    const cli = await measure({
      cmd: 'bash',
      args: [
        '-o',
        'pipefail',
        '-c',
        'for f in "$@"; do pigz -dc "$f" | zstd -3 -T0 -q -c >/dev/null; done',
        'cli-baseline',
        ...blobs,
      ],
      timeBin: c.timeBin,
    });
    log(`CLI baseline: ${cli.wallS.toFixed(1)} s wall, ${cli.cpuS.toFixed(1)} s CPU`);
    runs.cli?.push({
      round,
      id: 'cli',
      wallS: cli.wallS,
      cpuS: cli.cpuS,
      othersCpuS: cli.othersCpuS,
      error: cli.code === 0 ? undefined : cli.stderr.trim(),
    });
    const fl = await measure({
      cmd: NODE,
      args: [join(ROOT, 'bench', 'floor.mjs'), ...blobs],
      timeBin: c.timeBin,
    });
    if (fl.code !== 0) throw new Error(`floor.mjs failed: ${fl.stderr}`);
    const floor = JSON.parse(fl.stdout);
    log(
      `floor: ${floor.total.toFixed(1)} s CPU → ${(floor.total / cpus().length).toFixed(1)} s on ${cpus().length} CPUs`,
    );
    runs.floor?.push({ round, ...floor, wallS: floor.total / cpus().length, othersCpuS: fl.othersCpuS });
    if (c.hasRef) {
      const dst = 'bench.local/rootfs:reference';
      const args = ['--address', cd.sock, '--namespace', NS, '--level', '3', main.name, dst];
      runs.reference?.push({ round, ...(await convertRun('reference-convert', c.refBin, args, dst)) });
    }
  }

  // --jobs scaling on the main image.
  /** @type {any[]} */
  const jobs = [];
  for (const j of ['1', '2', 'default']) {
    const dst = `bench.local/rootfs:jobs-${j}`;
    const extra = j === 'default' ? [] : ['--jobs', j];
    jobs.push({
      jobs: j,
      flag: primary,
      ...(await convertRun(
        `tsconvert --${primary} --jobs ${j}`,
        NODE,
        tsArgs(primary, main.name, dst, extra),
        dst,
      )),
    });
  }

  // Where the time goes: --cpu-prof on every thread of one --zstd (and --zstdchunked) run.
  /** @type {Record<string, any>} */
  const profiles = {};
  if (!argv['skip-profile']) {
    for (const flag of tsFlags.slice().reverse()) {
      const dir = join(runTmpRoot, `prof-${flag}`);
      await mkdir(dir);
      const dst = `bench.local/rootfs:prof-${flag}`;
      const r = await convertRun(
        `profile --${flag}`,
        NODE,
        ['--cpu-prof', '--cpu-prof-dir', dir, ...tsArgs(flag, main.name, dst)],
        dst,
      );
      profiles[flag] = { run: r, threads: await summariseProfiles(dir, ROOT) };
    }
  }
  const reuse = await measureReuse({ main, cd, ctr, timeBin: c.timeBin, hasChunked: c.hasChunked });
  rmImage(main.name);

  // Scaling images: peak RSS must not grow with layer size or entry count.
  /** @type {any[]} */
  const scaling = [];
  for (const key of /** @type {const} */ (['big', 'empty', 'many'])) {
    const img = c.imgs[key];
    if (!img) continue;
    importImage(img);
    for (const flag of tsFlags) {
      const dst = `bench.local/${key}:${flag}`;
      const after = flag === 'zstdchunked' ? async () => ({ verify: await verifyRun(dst) }) : undefined;
      scaling.push({
        image: key,
        flag,
        ...(await convertRun(`${key} tsconvert --${flag}`, NODE, tsArgs(flag, img.name, dst), dst, after)),
      });
    }
    rmImage(img.name);
  }
  await rm(runTmpRoot, { recursive: true, force: true });
  return { runs, jobs, profiles, scaling, reuse, hasChunked: c.hasChunked, hasRef: c.hasRef };
}

main().catch((err) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
