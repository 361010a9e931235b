// The progress views of the CLI, fed by the core's own tracker (src/convert/progress.ts): which view each
// --progress / --quiet / stderr combination gets, the words of the lines, the terminal view drawing at most
// once per 100 ms tick whatever the number of events (the rest is the tmux test in test/e2e/progress.test.ts),
// and the plain view's one line per state change.

import { stripVTControlCharacters } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressTracker } from '../../src/convert/progress.js';
import { PlainProgress } from '../../src/cli/progress-plain.js';
import { formatBytes, formatDuration, totalLine, totalsOf } from '../../src/cli/progress-text.js';
import { REDRAW_MS, TtyProgress } from '../../src/cli/progress-tty.js';
import { resolveMode, type OutputFlags } from '../../src/cli/progress.js';
import type { Logger } from '../../src/util/log.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const C = `sha256:${'c'.repeat(64)}`;
const MiB = 1 << 20;

const flags = (over: Partial<OutputFlags> = {}): OutputFlags => ({
  logFormat: 'text',
  debug: false,
  quiet: false,
  progress: 'auto',
  progressGiven: false,
  ...over,
});

describe('resolveMode', () => {
  it('draws in place on a terminal and logs lines elsewhere', () => {
    expect(resolveMode(flags(), { write: () => true, isTTY: true }, 'xterm')).toBe('tty');
    expect(resolveMode(flags(), { write: () => true }, 'xterm')).toBe('plain');
    expect(resolveMode(flags(), { write: () => true, isTTY: true }, 'dumb')).toBe('plain');
    expect(resolveMode(flags({ logFormat: 'json' }), { write: () => true, isTTY: true }, 'xterm')).toBe(
      'plain',
    );
  });

  it('takes an explicit mode as given, and --quiet turns progress off unless a mode was given', () => {
    expect(
      resolveMode(flags({ progress: 'none', progressGiven: true }), { write: () => true, isTTY: true }),
    ).toBe('none');
    expect(resolveMode(flags({ progress: 'tty', progressGiven: true }), { write: () => true })).toBe('tty');
    expect(resolveMode(flags({ quiet: true }), { write: () => true, isTTY: true }, 'xterm')).toBe('none');
    expect(
      resolveMode(flags({ quiet: true, progress: 'plain', progressGiven: true }), { write: () => true }),
    ).toBe('plain');
  });
});

describe('progress words', () => {
  it('formats sizes and durations', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * MiB)).toBe('3.0 MiB');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_340)).toBe('12.3 s');
    expect(formatDuration(245_000)).toBe('4m05s');
    expect(formatDuration(3_720_000)).toBe('1h02m');
  });

  it('counts a duplicated digest once in the bytes and estimates the rest from the rate so far', () => {
    const layers: Parameters<typeof totalsOf>[0][number][] = [];
    new ProgressTracker((e) => void (e.type === 'plan' && layers.push(...e.layers))).plan([
      { digest: A, size: 4 * MiB, platform: '' },
      { digest: A, size: 4 * MiB, platform: '' },
      { digest: B, size: 4 * MiB, platform: '' },
    ]);
    const t = totalsOf(layers, 2000);
    expect(t).toMatchObject({ finished: 0, records: 3, toRead: 8 * MiB, read: 0 });
    expect(totalLine({ ...t, read: 2 * MiB })).toBe(
      '0/3 layers, read 2.0 MiB of 8.0 MiB, wrote 0 B, 2.0 s, ETA 6.0 s',
    );
  });
});

/** A terminal that records what was written. */
function terminal(): {
  write: (s: string) => boolean;
  isTTY: true;
  columns: number;
  rows: number;
  out: string[];
} {
  const out: string[] = [];
  return { write: (s: string) => out.push(s) > 0, isTTY: true, columns: 100, rows: 30, out };
}

describe('TtyProgress', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('redraws at most once per tick, prints final states above the block, and ends with the total', () => {
    const term = terminal();
    const view = new TtyProgress(term);
    const tracker = new ProgressTracker(view.sink);
    tracker.plan([
      { digest: A, size: 10 * MiB, platform: 'linux/amd64' },
      { digest: B, size: 10 * MiB, platform: 'linux/amd64' },
      { digest: A, size: 10 * MiB, platform: 'linux/amd64' },
    ]);
    const read = { size: 0 };
    const written = { size: 0 };
    tracker.start(A);
    tracker.attach(A, read, written);
    // One line printed for the shared duplicate; nothing drawn yet however often the counters move.
    expect(term.out.join('')).toContain(
      'layer 3/3 aaaaaaaaaaaa (linux/amd64) shared with a duplicate (layer 1)',
    );
    const before = term.out.length;
    for (let i = 0; i < 1000; i++) read.size += 1024;
    expect(term.out.length).toBe(before);

    vi.advanceTimersByTime(REDRAW_MS);
    expect(term.out.length).toBe(before + 1);
    const frame = term.out.at(-1) ?? '';
    expect(frame).toContain('layer 1/3 aaaaaaaaaaaa (linux/amd64) converting 1000.0 KiB/10.0 MiB 9% -> 0 B');
    expect(frame).toContain('1/3 layers, read 1000.0 KiB of 20.0 MiB');

    // Ten more ticks: at most one drawing each (the elapsed time changes every tick).
    vi.advanceTimersByTime(10 * REDRAW_MS);
    expect(term.out.length - before).toBeGreaterThan(1);
    expect(term.out.length - before).toBeLessThanOrEqual(11);

    read.size = 10 * MiB;
    written.size = 3 * MiB;
    tracker.finish(A, 'done', { result: C });
    view.write('tsconvert: warning: something\n');
    const text = term.out.join('');
    expect(text).toContain(
      'layer 1/3 aaaaaaaaaaaa (linux/amd64) done -> cccccccccccc: read 10.0 MiB, wrote 3.0 MiB',
    );
    expect(text).toContain('tsconvert: warning: something');

    tracker.finish(B, 'kept', { result: B, reason: 'already zstd' });
    view.stop();
    const end = term.out.join('');
    expect(end).toContain('layer 2/3 bbbbbbbbbbbb (linux/amd64) kept as is: already zstd');
    expect(stripVTControlCharacters(end).trimEnd().split('\n').at(-1)).toMatch(
      /^3\/3 layers, read 20\.0 MiB of 20\.0 MiB, wrote 3\.0 MiB, \d/,
    );
    // Stopped: no more drawing, and log lines go straight through.
    const count = term.out.length;
    vi.advanceTimersByTime(10 * REDRAW_MS);
    expect(term.out.length).toBe(count);
    view.write('after\n');
    expect(term.out.at(-1)).toBe('after\n');
  });
});

describe('PlainProgress', () => {
  it('logs the plan, one line per state change, and the total', () => {
    const lines: string[] = [];
    const info = (a: unknown, b?: string): void => void lines.push(typeof a === 'string' ? a : (b ?? ''));
    const noop = (): void => {};
    const logger: Logger = { debug: noop, info, warn: noop, error: noop };
    const view = new PlainProgress(logger);
    const tracker = new ProgressTracker(view.sink);
    tracker.plan([
      { digest: A, size: 2048, platform: '' },
      { digest: A, size: 2048, platform: '' },
    ]);
    const read = { size: 0 };
    tracker.start(A);
    tracker.attach(A, read, { size: 0 });
    read.size = 2048;
    tracker.finish(A, 'done', { result: B });
    view.stop();
    expect(lines.slice(0, 4)).toEqual([
      '2 layers, 2.0 KiB to read',
      'layer 1/2 aaaaaaaaaaaa converting (2.0 KiB)',
      'layer 2/2 aaaaaaaaaaaa shared with a duplicate (layer 1)',
      'layer 1/2 aaaaaaaaaaaa done -> bbbbbbbbbbbb: read 2.0 KiB, wrote 0 B',
    ]);
    expect(lines[4]).toMatch(/^2\/2 layers, read 2\.0 KiB of 2\.0 KiB, wrote 0 B, /);
    expect(lines).toHaveLength(5);
  });
});
