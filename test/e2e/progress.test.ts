// Progress on stderr, through the built binary. On a terminal (a tmux pane: a real pseudo-terminal and a
// real terminal emulator drawing the screen) the running layers' lines are redrawn in place while a
// three-layer conversion runs for a few seconds, at most once per 100 ms tick, and the screen ends with
// every layer's final line and the total, no running line left over. From a pipe, one plain line per state
// change, on a layout and in containerd. --quiet prints nothing on success and still the error on failure; --progress none prints no
// progress. stdout holds the result alone in every mode.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { binNodeFlags } from '../../scripts/bin-flags.js';
import { buildBigImage, type BigImage } from '../helpers/big-image.js';
import { BIN, NODE, tsconvert } from '../helpers/cli.js';
import { expectComplete, importedImage } from '../helpers/e2e.js';

const run = promisify(execFile);
const SAMPLE = resolve('examples/sample.tar');
/** The sample's four layer records: three distinct layers, the last a duplicate of the second. */
const SAMPLE_LAYERS = 4;

let big: BigImage;
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tsc-progress-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  // Three layers of 48 MiB: a few seconds of zstd:chunked at --jobs 2.
  big = await buildBigImage(48 << 20, 'example.com/progress:latest', 3);
}, 300_000);
afterAll(async () => {
  await big.cleanup();
});
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('progress on a terminal (tmux)', () => {
  it('redraws the running layers in place, at most ten times a second, and ends with every final state', async () => {
    const dir = await tempDir();
    const socket = join(dir, 'tmux.sock');
    const tmux = (...args: string[]): Promise<{ stdout: string }> =>
      run('tmux', ['-S', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
    const command = [
      NODE,
      ...binNodeFlags(BIN),
      BIN,
      'image',
      'convert',
      '--zstdchunked',
      '--jobs',
      '2',
      `oci-archive:${big.archive}`,
      `oci:${join(dir, 'out')}:img`,
    ]
      .map(quote)
      .join(' ');
    const rcFile = join(dir, 'rc');
    // stdout to a file, stderr on the pane; the pane's shell then waits, so the screen can still be read.
    const script = `${command} > ${quote(join(dir, 'stdout'))}; echo $? > ${quote(rcFile)}; sleep 600`;
    const env = { ...process.env };
    delete env.TSCONVERT_PROGRESS;
    await run(
      'tmux',
      ['-S', socket, '-f', '/dev/null', 'new-session', '-d', '-x', '160', '-y', '50', 'sh', '-c', script],
      { env: { ...env, TERM: 'xterm-256color' } },
    );
    try {
      await tmux('pipe-pane', '-o', `cat > ${quote(join(dir, 'raw'))}`);
      const started = Date.now();
      const screens: string[] = [];
      while (!existsSync(rcFile)) {
        if (Date.now() - started > 240_000) throw new Error('the conversion in tmux did not end in 240 s');
        screens.push((await tmux('capture-pane', '-p')).stdout);
        await sleep(50);
      }
      const elapsed = Date.now() - started;
      expect((await readFile(rcFile, 'utf8')).trim()).toBe('0');
      const final = (await tmux('capture-pane', '-p')).stdout;

      // While it ran, the screen showed running layers with their bytes, and those lines changed.
      const running = screens.flatMap((s) => s.split('\n').filter((l) => / converting \d/.test(l)));
      expect(running.length).toBeGreaterThan(0);
      expect(new Set(running).size).toBeGreaterThan(1);
      expect(running[0]).toMatch(
        /^layer [1-3]\/3 [0-9a-f]{12} \(linux\/amd64\) converting [\d.]+ \w+\/[\d.]+ MiB \d+%/,
      );
      expect(screens.some((s) => /^\d\/3 layers, read .* ETA /m.test(s))).toBe(true);
      // One line per running layer and one total on every screen: lines are rewritten, never repeated below.
      for (const s of screens) {
        const positions = s.split('\n').flatMap((l) => (/ converting \d/.test(l) ? [l.split(' ')[1]] : []));
        expect(new Set(positions).size, s).toBe(positions.length);
        expect(s.split('\n').filter((l) => / layers, read .* ETA /.test(l)).length, s).toBeLessThanOrEqual(1);
      }

      // In place: once done, no running line and no intermediate total is left on the screen; each layer's
      // final line is there once, then the total.
      const lines = final.split('\n').filter((l) => l.trim() !== '');
      expect(lines.filter((l) => / converting /.test(l) || / ETA /.test(l))).toEqual([]);
      for (const n of [1, 2, 3]) {
        const mine = lines.filter((l) => l.startsWith(`layer ${n}/3 `));
        expect(mine).toHaveLength(1);
        expect(mine[0]).toMatch(/ done -> [0-9a-f]{12}: read [\d.]+ MiB, wrote [\d.]+ MiB$/);
      }
      expect(lines.at(-1)).toMatch(/^3\/3 layers, read [\d.]+ MiB of [\d.]+ MiB, wrote [\d.]+ MiB, /);
      expect((await readFile(join(dir, 'stdout'), 'utf8')).trim()).toMatch(/^sha256:[0-9a-f]{64}$/);

      // Throttled: each drawing is one synchronized-output block. Besides the three final lines and the one
      // log line (the "--zstdchunked implies --oci" warning), at most one per 100 ms tick of the run (plus
      // one for a tick cut short), however often the counters moved.
      const raw = await readFile(join(dir, 'raw'), 'latin1');
      const drawings = raw.split('\x1b[?2026h').length - 1;
      expect(drawings).toBeGreaterThan(3);
      expect(drawings).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1 + 3 + 1);
    } finally {
      await tmux('kill-server').catch(() => undefined);
    }
  }, 300_000);
});

describe('progress from a pipe', () => {
  it('prints one plain line per layer state change on stderr and only the digest on stdout', async () => {
    const dir = await tempDir();
    const r = await tsconvert(
      ['image', 'convert', '--zstdchunked', `oci-archive:${SAMPLE}`, `oci:${dir}:s`],
      {
        TSCONVERT_PROGRESS: 'auto',
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    const progress = lines.filter((l) => !l.includes('warning:'));
    expect(progress[0]).toMatch(new RegExp(`^tsconvert: ${SAMPLE_LAYERS} layers, [\\d.]+ KiB to read$`));
    const byLayer = new Map<number, string[]>();
    for (const l of progress.slice(1, -1)) {
      const m =
        /^tsconvert: layer (\d)\/4 [0-9a-f]{12} \(linux\/amd64\) (converting|done|shared with a duplicate)/.exec(
          l,
        );
      expect(m, l).not.toBeNull();
      const list = byLayer.get(Number(m?.[1])) ?? [];
      list.push(m?.[2] ?? '');
      byLayer.set(Number(m?.[1]), list);
    }
    expect([...byLayer.keys()].sort()).toEqual([1, 2, 3, 4]);
    const states = [...byLayer.values()];
    expect(states.filter((s) => s.join() === 'converting,done')).toHaveLength(3);
    expect(states.filter((s) => s.join() === 'shared with a duplicate')).toHaveLength(1);
    expect(progress.at(-1)).toMatch(
      /^tsconvert: 4\/4 layers, read [\d.]+ KiB of [\d.]+ KiB, wrote [\d.]+ KiB, /,
    );
    expect(progress).toHaveLength(1 + 3 * 2 + 1 + 1);
  });

  it('gives JSON records with --log-format json', async () => {
    const dir = await tempDir();
    const r = await tsconvert(
      ['--log-format', 'json', 'image', 'convert', '--uncompress', `oci-archive:${SAMPLE}`, `oci:${dir}:s`],
      { TSCONVERT_PROGRESS: 'auto' },
    );
    expect(r.code, r.stderr).toBe(0);
    const records = r.stderr
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { state?: string; layer?: string; msg: string });
    const done = records.filter((rec) => rec.state === 'done');
    expect(done).toHaveLength(3);
    for (const rec of done) expect(rec.layer).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('progress of a conversion in containerd', () => {
  it('reports a layer listed eight times as converted once and shared seven times', async () => {
    const img = await importedImage('dup8');
    const dst = 'docker.io/tsconvert-test/dup8:progress';
    const r = await img.run(['image', 'convert', '--progress', 'plain', '--zstd', '--oci', img.name, dst]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines[0]).toMatch(/^tsconvert: 9 layers, /);
    const layers = img.fixture.manifests[0]?.layers ?? [];
    const [first, ninth] = [layers[0], layers[8]];
    expect(ninth?.digest).not.toBe(first?.digest);
    const states = (digest: string | undefined): string[] =>
      lines.flatMap((l) => {
        const m = new RegExp(
          `^tsconvert: layer (\\d)/9 ${digest?.slice(7, 19)} \\(linux/amd64\\) (\\S+)`,
        ).exec(l);
        return m === null ? [] : [`${m[1]} ${m[2]}`];
      });
    expect(states(first?.digest).sort()).toEqual([
      '1 converting',
      '1 done',
      ...[2, 3, 4, 5, 6, 7, 8].map((n) => `${n} shared`),
    ]);
    expect(states(ninth?.digest)).toEqual(['9 converting', '9 done']);
    expect(lines.at(-1)).toMatch(/^tsconvert: 9\/9 layers, /);
    await expectComplete(img.namespace, dst);
  });
});

describe('--quiet and --progress none', () => {
  it('--quiet prints nothing on success, even with TSCONVERT_PROGRESS=plain', async () => {
    const dir = await tempDir();
    const r = await tsconvert(
      ['image', 'convert', '--quiet', '--zstdchunked', `oci-archive:${SAMPLE}`, `oci:${dir}:s`],
      {
        TSCONVERT_PROGRESS: 'plain',
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  });

  it('--quiet still prints the one error line of a failure', async () => {
    const dir = await tempDir();
    const r = await tsconvert(['-q', 'image', 'convert', `oci:${join(dir, 'missing')}`, `oci:${dir}:s`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^tsconvert: error: /);
  });

  it('--quiet and --debug conflict', async () => {
    const r = await tsconvert(['--quiet', '--debug', 'image', 'convert', 'a', 'b']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--quiet.*--debug|--debug.*--quiet/);
  });

  it('--progress none prints no progress, where auto would have printed plain lines', async () => {
    const dir = await tempDir();
    const r = await tsconvert(
      ['image', 'convert', '--progress', 'none', '--zstdchunked', `oci-archive:${SAMPLE}`, `oci:${dir}:s`],
      { TSCONVERT_PROGRESS: 'plain' },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => /layer|layers/.test(l) && !l.includes('warning:'))).toEqual([]);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  });
});
