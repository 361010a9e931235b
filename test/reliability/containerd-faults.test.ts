// Fault scenarios of the containerd backend (issue 17, F2 and F9), driven through the built binary against
// the test run's private containerd: a daemon that stops answering mid-run (SIGSTOP, which only a private
// daemon may get), Ctrl-C while it is stopped, and what SIGKILLed runs leave behind and who reclaims it.
// Every test SIGCONTs the daemon in a `finally`, so later tests find it answering.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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
const SLACK_S = 12;

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
    IMAGE,
    target,
  ];
}

async function freshTmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'tsc-faults-tmp-'));
}

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

/** Until a Write stream of this run is open (from its --debug log): the run is mid-layer. */
function layerStarted(run: CliRun): Promise<void> {
  return waitFor('the layer ingest to open', 60_000, () => run.stderr().includes('content ingest opened'));
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

/** Lines a run wrote to stderr, without its --debug lines. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '' && !/^tsconvert: debug: /.test(l));
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
    const run = startTsconvert(
      convertArgs(namespace, `${IMAGE}-zc`, ['--debug', '--timeout', `${TIMEOUT_S}`]),
      {
        TMPDIR: tmp,
      },
    );
    await layerStarted(run);
    const result = await withDaemonStopped(() => endsWithin(run, (TIMEOUT_S + CLEANUP_S + SLACK_S) * 1000));
    expect(result.code).toBe(1);
    const lines = errorLines(result.stderr);
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toContain(`containerd at ${address} did not answer for ${TIMEOUT_S} s`);
    expect(lines[0]).toContain('check that it is running');
    expect(lines[0]).toMatch(/left behind: lease \S+/);
    expect(result.stdout).toBe('');
    // The daemon answers again: what the failed run could not remove is there, and the next run takes it.
    expect(await leaseIds(namespace)).toHaveLength(1);
    const again = await tsconvert(convertArgs(namespace, `${IMAGE}-zc`), { TMPDIR: tmp });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/removed lease \S+ of a dead run/);
    await expectNoLeftovers(namespace);
    expect(await readdir(tmp)).toEqual([]);
    await rm(tmp, { recursive: true, force: true });
  });

  it('Ctrl-C while the daemon is stopped ends within the clean-up deadline and says what was left', async () => {
    const namespace = await importBig();
    const tmp = await freshTmp();
    const run = startTsconvert(convertArgs(namespace, `${IMAGE}-zc`, ['--debug']), { TMPDIR: tmp });
    await layerStarted(run);
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
    const cleanup = await tsconvert(['-a', address, '-n', namespace, 'cleanup', IMAGE]);
    expect(cleanup.code, cleanup.stderr).toBe(0);
    expect(cleanup.stdout).toContain(`removed lease ${lease}`);
    await expectNoLeftovers(namespace);
    await rm(tmp, { recursive: true, force: true });
  });

  it('a second Ctrl-C ends at once and says what was left', async () => {
    const namespace = await importBig();
    const run = startTsconvert(convertArgs(namespace, `${IMAGE}-zc`, ['--debug']));
    await layerStarted(run);
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
    const killed = startTsconvert(convertArgs(namespace, `${IMAGE}-killed`, ['--debug']));
    await layerStarted(killed);
    await waitFor('the killed run to write data', 30_000, async () =>
      (await rows(['content', 'active'], namespace)).some((r) => !/\s0B\s/.test(r)),
    );
    killed.child.kill('SIGKILL');
    await killed.done;
    const deadLeases = await leaseIds(namespace);
    const deadIngests = await ingestRefs(namespace);
    expect(deadLeases).toHaveLength(1);
    expect(deadIngests.length).toBeGreaterThan(0);
    // Each ingest names its run: the owner token starts with the PID.
    for (const ref of deadIngests) expect(ref).toContain(`@${killed.child.pid}-`);
    const labels = await ctrOk(['leases', 'ls'], namespace);
    expect(labels).toContain(`io.tsconvert/owner=${killed.child.pid}-`);

    // A live run, held still (SIGSTOP on tsconvert itself) while its lease and ingest exist.
    const live = startTsconvert(convertArgs(namespace, `${IMAGE}-live`, ['--debug']));
    try {
      await layerStarted(live);
      live.child.kill('SIGSTOP');
      const liveIngests = (await ingestRefs(namespace)).filter((r) => r.includes(`@${live.child.pid}-`));
      const liveLeases = (await leaseIds(namespace)).filter((l) => !deadLeases.includes(l));
      expect(liveIngests.length).toBeGreaterThan(0);
      expect(liveLeases).toHaveLength(1);

      const cleanup = await tsconvert(['-a', address, '-n', namespace, 'cleanup', IMAGE]);
      expect(cleanup.code, cleanup.stderr).toBe(0);
      for (const lease of deadLeases) expect(cleanup.stdout).toContain(`removed lease ${lease}`);
      for (const ref of deadIngests) expect(cleanup.stdout).toContain(`removed ingest ${ref}`);
      expect(cleanup.stdout).not.toContain(`${live.child.pid}`);
      expect(await leaseIds(namespace)).toEqual(liveLeases);
      expect((await ingestRefs(namespace)).sort()).toEqual(liveIngests.sort());
    } finally {
      live.child.kill('SIGCONT');
    }
    const liveResult = await live.done;
    expect(liveResult.code, liveResult.stderr).toBe(0);
    await expectNoLeftovers(namespace);

    // The same without the command: the next conversion removes what a killed one left, and says so.
    const killed2 = startTsconvert(convertArgs(namespace, `${IMAGE}-killed`, ['--debug']));
    await layerStarted(killed2);
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
