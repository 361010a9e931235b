// Sizing a run: the default and flag budgets, the cgroup memory cap, the cgroup CPU quota, and the number of
// compression threads the budget holds, at 16 and 64 CPUs, for zstd:chunked and --zstd.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_MEMORY,
  parseMemorySize,
  planResources,
  RUNTIME_BYTES,
} from '../../../src/cli/resources.js';
import { DIGEST_WORKER_BYTES } from '../../../src/stream/digest-worker.js';

const MiB = 1 << 20;
const chunked = { layer: 'zstdchunked' as const, chunkSize: 4 * MiB };

describe('planResources', () => {
  it('keeps the default budget whatever the CPU count: more CPUs do not mean more threads past it', () => {
    const at16 = planResources({ maxMemory: undefined, cpus: 16, limits: {}, ...chunked });
    const at64 = planResources({ maxMemory: undefined, cpus: 64, limits: {}, ...chunked });
    expect(at16.maxMemory).toBe(DEFAULT_MAX_MEMORY);
    expect(at16.budget.total).toBe(DEFAULT_MAX_MEMORY - RUNTIME_BYTES - DIGEST_WORKER_BYTES);
    expect(at64.budget.total).toBe(at16.budget.total);
    expect(at16.threads).toBeGreaterThan(2);
    expect(at64.threads).toBe(at16.threads);
    expect(at16.threads).toBeLessThan(16);
  });

  it('adds a digest thread only when a core is spare beside the compression threads and the main thread', () => {
    const at2 = planResources({ maxMemory: undefined, cpus: 2, limits: {}, ...chunked });
    const at16 = planResources({ maxMemory: undefined, cpus: 16, limits: {}, ...chunked });
    expect(at2.threads).toBe(2);
    expect(at2.digestThread).toBe(false);
    expect(at2.budget.total).toBe(DEFAULT_MAX_MEMORY - RUNTIME_BYTES);
    expect(at16.digestThread).toBe(true);
    const raised = planResources({ maxMemory: 2 * 2 ** 30, cpus: 64, limits: {}, ...chunked });
    expect(raised.threads).toBe(64);
    expect(raised.digestThread).toBe(false);
  });

  it('gives every core a thread when --max-memory is raised', () => {
    const plan = planResources({ maxMemory: 2 * 2 ** 30, cpus: 64, limits: {}, ...chunked });
    expect(plan.origin).toBe('flag');
    expect(plan.threads).toBe(64);
  });

  it('caps the default at 3/4 of a cgroup memory limit, but not a --max-memory given', () => {
    const limits = { memoryBytes: 200 * MiB };
    const capped = planResources({ maxMemory: undefined, cpus: 16, limits, ...chunked });
    expect(capped.origin).toBe('cgroup');
    expect(capped.maxMemory).toBe(150 * MiB);
    expect(capped.threads).toBeGreaterThanOrEqual(1);
    const asked = planResources({ maxMemory: 1 << 30, cpus: 16, limits, ...chunked });
    expect(asked.maxMemory).toBe(1 << 30);
  });

  it('uses no more CPUs than a cgroup CPU quota allows', () => {
    const plan = planResources({ maxMemory: 2 * 2 ** 30, cpus: 64, limits: { cpuQuota: 2.5 }, ...chunked });
    expect(plan.cpus).toBe(3);
    expect(plan.threads).toBe(3);
  });

  it('sizes libzstd threads for --zstd from the same budget', () => {
    const plan = planResources({ maxMemory: undefined, cpus: 64, limits: {}, layer: 'zstd', chunkSize: 0 });
    expect(plan.threads).toBeGreaterThan(2);
    expect(plan.threads).toBeLessThan(64);
  });

  it('raises a budget too small for one thread and one layer to that, rather than failing', () => {
    const plan = planResources({ maxMemory: 32 * MiB, cpus: 4, limits: {}, ...chunked });
    expect(plan.threads).toBe(1);
    expect(plan.budget.total).toBeGreaterThan(0);
  });
});

describe('parseMemorySize', () => {
  it('reads binary units', () => {
    expect(parseMemorySize('2G', 'x')).toBe(2 * 2 ** 30);
    expect(parseMemorySize('512m', 'x')).toBe(512 * MiB);
    expect(parseMemorySize('300MiB', 'x')).toBe(300 * MiB);
    expect(parseMemorySize(String(64 * MiB), 'x')).toBe(64 * MiB);
  });
  it('refuses nonsense and sizes too small to run in', () => {
    expect(() => parseMemorySize('lots', '--max-memory')).toThrow(/--max-memory/);
    expect(() => parseMemorySize('1M', '--max-memory')).toThrow(/at least 32M/);
  });
});
