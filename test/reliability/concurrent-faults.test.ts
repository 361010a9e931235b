// Issue 17 item 2: 20 processes of the built binary convert the same and overlapping images at once, half
// into one containerd namespace and half into one OCI layout, while some are SIGKILLed at seeded random
// moments. Same image + same format into different targets means the same output blobs are written by
// several runs at the same instant. Afterwards every run that finished must have written an image that
// verifies from outside (ctr + sha256, skopeo + sha256sum), no run may fail other than by the kill, the
// sources must be intact, only killed runs may have left leases or ingests, and `tsconvert cleanup` must
// remove what they left. The seed is printed; TSCONVERT_FAULT_SEED=<n> replays the same kill schedule.

import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectContainerd } from '../../src/containerd/connection.js';
import type { ContainerdBackend } from '../../src/containerd/backend.js';
import { silentLogger } from '../../src/util/log.js';
import { startTsconvert, tsconvert, type CliResult } from '../helpers/cli.js';
import { newNamespace, testContainerd } from '../helpers/containerd.js';
import { ensureFixtures, fixtureDigests, importFixture, type FixtureName } from '../helpers/fixtures.js';
import { ctrOk } from '../helpers/e2e.js';
import { prng } from '../helpers/tar/collect.js';
import { leftovers, verifyContainerdImage, verifyLayoutImage } from './fault-checks.js';

const SEED = Number(process.env.TSCONVERT_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = 20;
const IMAGES: FixtureName[] = ['multi', 'docker', 'dup8', 'single'];
const FORMATS = [['--zstd'], ['--zstdchunked'], ['--uncompress']];
/** A run still going after this long is stuck: it is killed and the test fails. */
const RUN_DEADLINE_MS = 300_000;

interface Job {
  index: number;
  image: FixtureName;
  args: string[];
  /** Where the result goes: a containerd name or a ref in the shared layout. */
  target: { kind: 'containerd'; name: string } | { kind: 'layout'; ref: string };
  /** When to SIGKILL: after this many lines of --debug log, then this many milliseconds more. */
  kill: { afterLines: number; delayMs: number } | undefined;
  pid?: number;
  result?: CliResult;
}

const sourceName = (image: FixtureName): string => `docker.io/tsconvert-fixtures/${image}:latest`;

/** Jobs i and i+12 convert the same image to the same format into the same store: their blobs collide. */
function plan(layout: string, rand: () => number): Job[] {
  const victims = new Set<number>();
  const kills = 5 + Math.floor(rand() * 3);
  while (victims.size < kills) victims.add(Math.floor(rand() * RUNS));
  return Array.from({ length: RUNS }, (_, index) => {
    const image = IMAGES[index % IMAGES.length] as FixtureName;
    const format = FORMATS[Math.floor(index / 4) % FORMATS.length] as string[];
    const tag = `${image}-${format[0]?.slice(2)}-${index}`;
    const toLayout = index % 2 === 1;
    const target = toLayout
      ? ({ kind: 'layout', ref: tag } as const)
      : ({ kind: 'containerd', name: `fault.local/tsconvert/${tag}:latest` } as const);
    const destination = target.kind === 'layout' ? `oci:${layout}:${target.ref}` : target.name;
    // Kills are placed by progress, not by the clock: on a loaded machine a fixed delay mostly lands in
    // Node's start-up or after the run released its lease.
    const kill = victims.has(index)
      ? { afterLines: 1 + Math.floor(rand() * 14), delayMs: Math.floor(rand() * 400) }
      : undefined;
    const args = ['image', 'convert', '--all-platforms', '--oci', ...format];
    return { index, image, args: [...args, sourceName(image), destination], target, kill };
  });
}

describe(`20 processes converting overlapping images at once, some SIGKILLed (seed ${SEED})`, () => {
  const { address } = testContainerd();
  const namespace = newNamespace('faults');
  const signal = new AbortController().signal;
  let work: string;
  let layout: string;
  let scratch: string;
  let jobs: Job[];
  let backend: ContainerdBackend;
  const killed = (): Job[] => jobs.filter((j) => j.result?.signal === 'SIGKILL');
  const finished = (): Job[] => jobs.filter((j) => j.result?.code === 0);

  beforeAll(async () => {
    console.log(`concurrent faults: seed ${SEED}; replay with TSCONVERT_FAULT_SEED=${SEED}`);
    work = await mkdtemp(join(tmpdir(), 'tsc-faults-'));
    layout = join(work, 'layout');
    scratch = join(work, 'tmp');
    await mkdir(scratch);
    for (const image of IMAGES) await importFixture(image, { address, namespace });
    backend = await connectContainerd({
      address,
      namespace,
      logger: silentLogger,
      signal,
      writeIngestFiles: false,
    });
    jobs = plan(layout, prng(SEED));
    await Promise.all(jobs.map((job) => mkdir(join(scratch, String(job.index)))));
    const runs = jobs.map(async (job) => {
      const args = ['-a', address, '-n', namespace, '--debug', ...job.args];
      const started = startTsconvert(args, { TMPDIR: join(scratch, String(job.index)) });
      job.pid = started.child.pid;
      let lines = 0;
      let kill: NodeJS.Timeout | undefined;
      started.child.stderr?.on('data', (d: Buffer) => {
        lines += d.toString().split('\n').length - 1;
        if (job.kill && kill === undefined && lines >= job.kill.afterLines)
          kill = setTimeout(() => started.child.kill('SIGKILL'), job.kill.delayMs);
      });
      const deadline = setTimeout(() => started.child.kill('SIGKILL'), RUN_DEADLINE_MS);
      await started.done.then((result) => {
        clearTimeout(kill);
        clearTimeout(deadline);
        job.result = result;
      });
    });
    await Promise.all(runs);
    for (const j of jobs) {
      const end = j.result?.signal ?? `exit ${j.result?.code}`;
      console.log(
        `run ${j.index} pid ${j.pid} ${j.args.slice(4).join(' ')}: kill ${j.kill ? `after line ${j.kill.afterLines} + ${j.kill.delayMs} ms` : '-'}, ${end}`,
      );
    }
  }, RUN_DEADLINE_MS + 120_000);

  afterAll(async () => {
    await backend?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('every run ended by its SIGKILL or with exit 0; none failed otherwise', () => {
    const unexpected = jobs
      .filter((j) => j.result?.code !== 0 && !(j.kill !== undefined && j.result?.signal === 'SIGKILL'))
      .map(
        (j) =>
          `run ${j.index} (${j.args.join(' ')}): ${j.result?.code ?? j.result?.signal}: ${j.result?.stderr.trim()}`,
      );
    expect(unexpected).toEqual([]);
    expect(finished().length + killed().length).toBe(RUNS);
  });

  it('every image a finished run reported verifies from outside: ctr + sha256, skopeo + sha256sum', async () => {
    const problems: string[] = [];
    for (const job of finished()) {
      expect(job.result?.stdout.trim(), `run ${job.index} prints the digest`).toMatch(
        /^sha256:[0-9a-f]{64}$/,
      );
      if (job.target.kind === 'containerd')
        problems.push(...(await verifyContainerdImage(namespace, job.target.name)));
      else problems.push(...(await verifyLayoutImage(layout, job.target.ref)));
    }
    expect(problems).toEqual([]);
  });

  it('the source images are intact', async () => {
    const fixtures = await ensureFixtures();
    const problems: string[] = [];
    for (const image of IMAGES) {
      const fixture = fixtures.fixtures[image];
      expect(fixture.image).toBe(sourceName(image));
      problems.push(...(await verifyContainerdImage(namespace, fixture.image)));
      const present = new Set(
        (await ctrOk(['content', 'ls', '-q'], namespace)).split('\n').map((r) => r.trim()),
      );
      problems.push(
        ...fixtureDigests(fixture)
          .filter((d) => !present.has(d))
          .map((d) => `${image}: ${d} gone`),
      );
    }
    expect(problems).toEqual([]);
  });

  it('only killed runs left leases, ingests or files in $TMPDIR', async () => {
    const dead = new Set(killed().map((j) => j.pid));
    const left = await leftovers(backend, namespace, signal);
    console.log(
      `left by ${dead.size} killed runs: ${left.leases.length} leases, ${left.ingests.length} ingests`,
    );
    const foreignLeases = left.leases.filter((l) => l.pid === undefined || !dead.has(l.pid));
    expect(foreignLeases, 'leases not owned by a killed run').toEqual([]);
    const deadIngests = new Set(left.leases.flatMap((l) => l.ingests));
    expect(
      left.ingests.filter((ref) => !deadIngests.has(ref)),
      'ingests outside killed runs’ leases',
    ).toEqual([]);
    // Each run has a $TMPDIR of its own, so what is left there is known to be that run's.
    for (const job of finished())
      expect(await readdir(join(scratch, String(job.index))), `run ${job.index}`).toEqual([]);
  });

  it('`tsconvert cleanup` removes what the killed runs left, in containerd and in the layout', async () => {
    const cleanup = ['-a', address, '-n', namespace, 'cleanup', sourceName(IMAGES[0] as FixtureName)];
    const inContainerd = await tsconvert(cleanup, { TMPDIR: scratch });
    expect(inContainerd.code, inContainerd.stderr).toBe(0);
    const inLayout = await tsconvert(['cleanup', `oci:${layout}`], { TMPDIR: scratch });
    expect(inLayout.code, inLayout.stderr).toBe(0);
    const left = await leftovers(backend, namespace, signal);
    expect(left).toEqual({ leases: [], ingests: [] });
    const hidden = (await readdir(layout, { recursive: true })).filter((f) =>
      /\.tmp-|tsconvert-ingest/.test(f),
    );
    expect(hidden, 'temporary files left in the layout').toEqual([]);
    for (const job of finished()) {
      if (job.target.kind === 'layout') expect(await verifyLayoutImage(layout, job.target.ref)).toEqual([]);
      else expect(await verifyContainerdImage(namespace, job.target.name)).toEqual([]);
    }
  });
});
