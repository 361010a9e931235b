// Fault scenarios of the containerd backend (issue 17, F2 and F9), driven through the built binary against
// the test run's private containerd: a daemon that stops answering mid-run (SIGSTOP, which only a private
// daemon may get), Ctrl-C while it is stopped, and what SIGKILLed runs leave behind and who reclaims it.
// Every test SIGCONTs the daemon in a `finally`, so later tests find it answering.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildBigImage, type BigImage } from '../helpers/big-image.js';
import { startTsconvert, tsconvert, type CliResult, type CliRun } from '../helpers/cli.js';
import { ctr, testContainerd } from '../helpers/containerd.js';
import { ctrOk, expectNoLeftovers, rows } from '../helpers/e2e.js';

const IMAGE = 'docker.io/tsconvert-faults/big:latest';
/** The --timeout the stall tests use, in seconds. */
const TIMEOUT_S = 4;
/** How long clean-up may take after a failure or a signal (src/convert/convert-image.ts). */
const CLEANUP_S = 10;
/** Slack for process start-up and a loaded machine. */
const SLACK_S = 20;

const { address, newNamespace } = testContainerd();
let big: BigImage;
let daemonPid: number;

beforeAll(async () => {
  const dir = inject('containerdDir');
  if (dir === '') throw new Error('these tests stop the daemon: run them on the private containerd');
  daemonPid = Number((await readFile(join(dir, 'containerd.pid'), 'utf8')).trim());
  big = await buildBigImage(160_000_000, IMAGE);
});

afterAll(async () => {
  await big?.cleanup();
});

async function importBig(): Promise<string> {
  const namespace = newNamespace('faults');
  await ctrOk(['images', 'import', '--all-platforms', '--no-unpack', big.archive], namespace);
  return namespace;
}

/**
 * Every run converts the layer (--no-reuse): a run after one that finished would otherwise reuse its result
 * and never reach the faults these scenarios inject mid-layer.
 */
function convertArgs(namespace: string, target: string, extra: string[] = []): string[] {
  return [
    '-a',
    address,
    '-n',
    namespace,
    ...extra,
    'image',
    'convert',
    '--zstdchunked',
    '--oci',
    '--no-reuse',
    IMAGE,
    target,
  ];
}

const tmps: string[] = [];

/** A fresh TMPDIR for one run, removed after the test whatever its outcome. */
async function freshTmp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsc-faults-tmp-'));
  tmps.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(tmps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 50 ms until it is true; fails after `ms`. */
async function waitFor(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Waits for the run to end within `ms`; otherwise kills it and fails (today's code never ends by itself). */
async function endsWithin(run: CliRun, ms: number): Promise<CliResult & { seconds: number }> {
  const started = Date.now();
  const timer = setTimeout(() => run.child.kill('SIGKILL'), ms);
  const result = await run.done;
  clearTimeout(timer);
  const seconds = (Date.now() - started) / 1000;
  expect(result.signal, `tsconvert did not end within ${ms / 1000} s; stderr: ${run.stderr()}`).toBeNull();
  return { ...result, seconds };
}

/** This run's ingests as `ctr content active` lists them (its refs carry its PID, src/util/run-tags.ts). */
async function ingestsOf(namespace: string, run: CliRun): Promise<string[]> {
  return (await rows(['content', 'active'], namespace)).filter((r) => r.includes(`@${run.child.pid}-`));
}

/** Until this run's layer ingest holds data: the run is mid-layer. */
function layerStarted(namespace: string, run: CliRun): Promise<void> {
  return waitFor('the layer ingest to fill', 60_000, async () =>
    (await ingestsOf(namespace, run)).some((r) => !/\s0B\s/.test(r)),
  );
}

/** Runs `body` with the daemon stopped; it always gets SIGCONT again. */
async function withDaemonStopped<T>(body: () => Promise<T>): Promise<T> {
  process.kill(daemonPid, 'SIGSTOP');
  try {
    return await body();
  } finally {
    process.kill(daemonPid, 'SIGCONT');
  }
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '');
}

async function leaseIds(namespace: string): Promise<string[]> {
  return (await rows(['leases', 'ls'], namespace)).map((r) => r.split(/\s+/)[0] ?? '');
}

async function ingestRefs(namespace: string): Promise<string[]> {
  return (await rows(['content', 'active'], namespace)).map((r) => r.split(/\s+/)[0] ?? '');
}

describe('containerd stops answering (F2)', () => {
  it('a run whose daemon is stopped mid-layer fails after --timeout with one line; the next run cleans up', async () => {
    const namespace = await importBig();
    const tmp = await freshTmp();
    const run = startTsconvert(convertArgs(namespace, `${IMAGE}-zc`, ['--timeout', `${TIMEOUT_S}`]), {
      TMPDIR: tmp,
    });
    await layerStarted(namespace, run);
    const result = await withDaemonStopped(() => endsWithin(run, (TIMEOUT_S + CLEANUP_S + SLACK_S) * 1000));
    expect(result.code).toBe(1);
    const lines = errorLines(result.stderr);
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toContain(`containerd at ${address} did not answer for ${TIMEOUT_S} s`);
    expect(lines[0]).toContain('check that it is running');
    expect(lines[0]).toMatch(/left behind: lease \S+/);
    expect(result.stdout).toBe('');
    // The daemon answers again. It may still act on the Delete and Abort calls the run gave up on (they
    // were queued on its socket): give it a moment, then the next run must remove whatever is left.
    await sleep(2_000);
    const leases = await leaseIds(namespace);
    const ingests = await ingestRefs(namespace);
    expect(leases.length + ingests.length, 'leftovers of the failed run').toBeLessThanOrEqual(2);
    const again = await tsconvert(convertArgs(namespace, `${IMAGE}-zc`), { TMPDIR: tmp });
    expect(again.code, again.stderr).toBe(0);
    for (const lease of leases) expect(again.stderr).toContain(`removed lease ${lease} of a dead run`);
    for (const ref of ingests) expect(again.stderr).toContain(`removed ingest ${ref} of a dead run`);
    await expectNoLeftovers(namespace);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('Ctrl-C while the daemon is stopped ends within the clean-up deadline and says what was left', async () => {
    const namespace = await importBig();
    const tmp = await freshTmp();
    const run = startTsconvert(convertArgs(namespace, `${IMAGE}-zc`), { TMPDIR: tmp });
    await layerStarted(namespace, run);
    const result = await withDaemonStopped(async () => {
      await sleep(500);
      run.child.kill('SIGINT');
      return endsWithin(run, (CLEANUP_S + SLACK_S) * 1000);
    });
    expect(result.code).toBe(130);
    expect(result.seconds).toBeLessThan(CLEANUP_S + SLACK_S);
    const lines = errorLines(result.stderr);
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toContain('interrupted by SIGINT');
    const [lease] = await leaseIds(namespace);
    expect(lease).toBeDefined();
    expect(lines[0]).toContain(`left behind: lease ${lease}`);
    expect(lines[0]).toContain('expires by itself');
    expect(await readdir(tmp)).toEqual([]);
    const cleanup = await tsconvert(['-a', address, '-n', namespace, 'cleanup', IMAGE]);
    expect(cleanup.code, cleanup.stderr).toBe(0);
    expect(cleanup.stdout).toContain(`removed lease ${lease}`);
    await expectNoLeftovers(namespace);
  });

  it('a second Ctrl-C ends at once and says what was left', async () => {
    const namespace = await importBig();
    const run = startTsconvert(convertArgs(namespace, `${IMAGE}-zc`));
    await layerStarted(namespace, run);
    const result = await withDaemonStopped(async () => {
      run.child.kill('SIGINT');
      await sleep(300);
      run.child.kill('SIGINT');
      return endsWithin(run, 3_000);
    });
    expect(result.code).toBe(130);
    const lines = errorLines(result.stderr);
    expect(lines.at(-1)).toMatch(/interrupted again.*left behind: lease \S+/);
    const cleanup = await tsconvert(['-a', address, '-n', namespace, 'cleanup', IMAGE]);
    expect(cleanup.code, cleanup.stderr).toBe(0);
    await expectNoLeftovers(namespace);
  });
});

describe('what SIGKILLed runs leave behind (F9)', () => {
  it('a later run and `tsconvert cleanup` remove a dead run’s lease and ingests, never a live run’s', async () => {
    const namespace = await importBig();
    // Leases cleanup must leave: an owner on another host (unknown, however dead its PID looks here), a
    // token from this boot but another PID namespace (unknown), and a lease that is not tsconvert's.
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim().replaceAll('-', '');
    const others = ['other-host', 'other-pidns', 'not-ours'];
    await ctrOk(
      ['leases', 'create', '--id', 'other-host', `io.tsconvert/owner=999999-1-1-${boot}-elsewhere`],
      namespace,
    );
    await ctrOk(
      [
        'leases',
        'create',
        '--id',
        'other-pidns',
        `io.tsconvert/owner=999999-1-1-${boot}-${hostname().replace(/[^A-Za-z0-9.-]/g, '_')}`,
      ],
      namespace,
    );
    await ctrOk(['leases', 'create', '--id', 'not-ours', 'owner=999999-1-1'], namespace);
    // A live run, held still (SIGSTOP on tsconvert itself) while its lease and ingest exist.
    const live = startTsconvert(convertArgs(namespace, `${IMAGE}-live`));
    try {
      await layerStarted(namespace, live);
      live.child.kill('SIGSTOP');
      const liveIngests = (await ingestsOf(namespace, live)).map((r) => r.split(/\s+/)[0] ?? '');
      const liveLeases = (await leaseIds(namespace)).filter((l) => !others.includes(l));
      expect(liveIngests.length).toBeGreaterThan(0);
      expect(liveLeases).toHaveLength(1);

      // A run killed mid-layer (its own start-up clean-up leaves the live run alone).
      const killed = startTsconvert(convertArgs(namespace, `${IMAGE}-killed`));
      await layerStarted(namespace, killed);
      killed.child.kill('SIGKILL');
      await killed.done;
      const deadLeases = (await leaseIds(namespace)).filter((l) => ![...liveLeases, ...others].includes(l));
      const deadIngests = (await ingestsOf(namespace, killed)).map((r) => r.split(/\s+/)[0] ?? '');
      expect(deadLeases).toHaveLength(1);
      expect(deadIngests.length).toBeGreaterThan(0);
      expect(await ctrOk(['leases', 'ls'], namespace)).toContain(`io.tsconvert/owner=${killed.child.pid}-`);
      expect((await ingestRefs(namespace)).sort()).toEqual([...liveIngests, ...deadIngests].sort());

      const cleanup = await tsconvert(['-a', address, '-n', namespace, 'cleanup', IMAGE]);
      expect(cleanup.code, cleanup.stderr).toBe(0);
      for (const lease of deadLeases) expect(cleanup.stdout).toContain(`removed lease ${lease}`);
      for (const ref of deadIngests) expect(cleanup.stdout).toContain(`removed ingest ${ref}`);
      expect(cleanup.stdout.trim().split('\n')).toHaveLength(deadLeases.length + deadIngests.length);
      expect((await leaseIds(namespace)).sort()).toEqual([...liveLeases, ...others].sort());
      expect((await ingestRefs(namespace)).sort()).toEqual(liveIngests.sort());
      for (const id of others) await ctrOk(['leases', 'rm', id], namespace);
    } finally {
      live.child.kill('SIGCONT');
    }
    const liveResult = await live.done;
    expect(liveResult.code, liveResult.stderr).toBe(0);
    await expectNoLeftovers(namespace);

    // The same without the command: the next conversion removes what a killed one left, and says so.
    const killed2 = startTsconvert(convertArgs(namespace, `${IMAGE}-killed`));
    await layerStarted(namespace, killed2);
    killed2.child.kill('SIGKILL');
    await killed2.done;
    const [lease2] = await leaseIds(namespace);
    expect(lease2).toBeDefined();
    const next = await tsconvert(convertArgs(namespace, `${IMAGE}-next`));
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain(`removed lease ${lease2} of a dead run`);
    await expectNoLeftovers(namespace);
    const images = await ctr(['images', 'ls', '-q'], { namespace });
    expect(images.stdout).not.toContain(`${IMAGE}-killed`);
  });
});
