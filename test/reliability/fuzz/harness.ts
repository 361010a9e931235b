// The fuzz runs' common frame: how many inputs a run feeds each parser (TSCONVERT_FUZZ_INPUTS, default one
// million) and from which seed (TSCONVERT_FUZZ_SEED, default fixed so CI checks the same inputs every time;
// `npm run fuzz` picks a fresh one). fast-check runs in batches with seeds seed, seed+1, …; a failure names
// the batch's seed and path, so `TSCONVERT_FUZZ_SEED=<seed>` with the printed batch replays it. Between
// batches the heap is collected and measured: live memory must not grow, and the process's peak RSS must
// stay within a budget. Each property counts the inputs it fed the parser (one generated case may yield
// several, e.g. an archive and its truncations); the total goes into the test's meta, where the JSON
// report (and docs/reliability.md) picks it up.

import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TaskMeta } from 'vitest';
import { TsconvertError } from '../../../src/errors.js';

declare module 'vitest' {
  interface TaskMeta {
    /** Inputs a fuzz test fed its parser, and the seed of its first batch. */
    fuzz?: { inputs: number; seed: number; batches: number; inputsPerSecond: number };
  }
}

const DEFAULT_SEED = 17_0017;
const DEFAULT_INPUTS = 1_000_000;
/** Live heap (JS + array buffers) may grow this much from the first batch to the last. */
const LIVE_GROWTH_LIMIT = 64 * 1024 * 1024;
/** The worker's peak RSS may grow this much during a run (a crafted size must never be allocated). */
const PEAK_RSS_GROWTH_LIMIT = 768 * 1024 * 1024;

function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}=${text} is not a non-negative integer`);
  return n;
}

export const fuzzInputs = (): number => envInt('TSCONVERT_FUZZ_INPUTS', DEFAULT_INPUTS);
export const fuzzSeed = (): number => envInt('TSCONVERT_FUZZ_SEED', DEFAULT_SEED);

/** A test timeout that scales with the run: a millisecond per input, ten minutes at least. */
export const fuzzTimeout = (): number => Math.max(600_000, fuzzInputs());

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

function liveBytes(): number {
  collect();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

export interface FuzzRun<T> {
  /** What fast-check generates per case. */
  arbitrary: fc.Arbitrary<T>;
  /** Checks one case; returns how many inputs it fed the parser. Throws (or rejects) on a violation. */
  check: (value: T) => number | Promise<number>;
  /** Cases per batch (fast-check's numRuns); the run ends at the first batch past the input target. */
  casesPerBatch: number;
}

/** The messages of an error and its causes, outermost first (fast-check keeps the property's as a cause). */
function causes(err: unknown): string {
  const out: string[] = [];
  for (let e = err; e instanceof Error && out.length < 5; e = e.cause) out.push(e.message);
  return out.join('\ncaused by: ');
}

/** Runs batches until the input target is met; records the count in `meta.fuzz`. */
export async function runFuzz<T>(meta: TaskMeta, run: FuzzRun<T>): Promise<void> {
  const target = fuzzInputs();
  const seed = fuzzSeed();
  let inputs = 0;
  let batches = 0;
  const started = performance.now();
  const peakAtStart = process.resourceUsage().maxRSS * 1024;
  let baseline: number | undefined;
  const property = fc.asyncProperty(run.arbitrary, async (value) => {
    inputs += await run.check(value);
  });
  while (inputs < target || batches === 0) {
    const batchSeed = seed + batches;
    // Most inputs end in an error: short stacks keep their cost from dominating the run.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 2;
    try {
      await fc.assert(property, { numRuns: run.casesPerBatch, seed: batchSeed });
    } catch (err) {
      throw new Error(
        `fuzz batch ${batches} (seed ${batchSeed}, ${run.casesPerBatch} cases) failed; replay with ` +
          `TSCONVERT_FUZZ_SEED=${batchSeed} TSCONVERT_FUZZ_INPUTS=1\n${causes(err)}`,
        { cause: err },
      );
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    batches++;
    const live = liveBytes();
    baseline ??= live;
    if (live - baseline > LIVE_GROWTH_LIMIT) {
      throw new Error(`live memory grew ${live - baseline} bytes over ${batches} batches (seed ${seed})`);
    }
  }
  const peakGrowth = process.resourceUsage().maxRSS * 1024 - peakAtStart;
  if (peakGrowth > PEAK_RSS_GROWTH_LIMIT) {
    throw new Error(`peak RSS grew ${peakGrowth} bytes during the run (seed ${seed})`);
  }
  const seconds = (performance.now() - started) / 1000;
  meta.fuzz = { inputs, seed, batches, inputsPerSecond: Math.round(inputs / seconds) };
}

/** Throws unless `err` is a TsconvertError with one of `codes` (not a raw TypeError, RangeError, …). */
export function expectTyped(err: unknown, codes: readonly string[], input: () => string): void {
  if (!(err instanceof TsconvertError) || !codes.includes(err.code)) {
    throw new Error(`input ${input()} threw ${String(err)} (want a TsconvertError ${codes.join('/')})`, {
      cause: err,
    });
  }
}
