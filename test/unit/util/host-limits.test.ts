// cgroup limits read from fake cgroup trees in a temp directory: v1 (one directory per controller, the
// process's cgroup from /proc/self/cgroup, ancestors counting, v1's "no limit" number, the hybrid layout's
// empty unified/ tree) and v2 (memory.max, cpu.max, "max" meaning none).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHostLimits } from '../../../src/cli/host-limits.js';

const base = mkdtempSync(join(tmpdir(), 'cgroup-test-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Writes `files` (path → content) under a fresh root; returns the root. */
function tree(name: string, files: Record<string, string>): string {
  const root = join(base, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), `${content}\n`);
  }
  return root;
}

const V1_SELF = '12:memory:/kubepods/pod1/c1\n11:cpu,cpuacct:/kubepods/pod1/c1\n0::/\n';
const NO_LIMIT_V1 = '9223372036854771712';

describe('readHostLimits', () => {
  it('reads cgroup v1 limits of the process cgroup, the smallest along its ancestors', () => {
    const root = tree('v1', {
      'memory/memory.limit_in_bytes': NO_LIMIT_V1,
      'memory/kubepods/memory.limit_in_bytes': String(4 * 2 ** 30),
      'memory/kubepods/pod1/c1/memory.limit_in_bytes': String(1 << 30),
      'cpu,cpuacct/cpu.cfs_period_us': '100000',
      'cpu,cpuacct/cpu.cfs_quota_us': '-1',
      'cpu,cpuacct/kubepods/pod1/c1/cpu.cfs_period_us': '100000',
      'cpu,cpuacct/kubepods/pod1/c1/cpu.cfs_quota_us': '250000',
      'unified/cgroup.procs': '1',
    });
    expect(readHostLimits(root, V1_SELF)).toEqual({ memoryBytes: 1 << 30, cpuQuota: 2.5 });
  });

  it('reads cgroup v1 limits from the root when the container sees its own cgroup mounted there', () => {
    const root = tree('v1-root', {
      'memory/memory.limit_in_bytes': String(512 << 20),
      'cpu/cpu.cfs_period_us': '50000',
      'cpu/cpu.cfs_quota_us': '100000',
    });
    expect(readHostLimits(root, V1_SELF)).toEqual({ memoryBytes: 512 << 20, cpuQuota: 2 });
  });

  it('reports no limit when cgroup v1 has none', () => {
    const root = tree('v1-none', {
      'memory/memory.limit_in_bytes': NO_LIMIT_V1,
      'cpu/cpu.cfs_period_us': '100000',
      'cpu/cpu.cfs_quota_us': '-1',
    });
    expect(readHostLimits(root, V1_SELF)).toEqual({});
  });

  it('reads cgroup v2 memory.max and cpu.max of the process cgroup and its ancestors', () => {
    const root = tree('v2', {
      'cgroup.controllers': 'cpu memory',
      'memory.max': 'max',
      'system.slice/memory.max': String(3 * 2 ** 30),
      'system.slice/cpu.max': 'max 100000',
      'system.slice/ci.service/memory.max': 'max',
      'system.slice/ci.service/cpu.max': '400000 100000',
    });
    expect(readHostLimits(root, '0::/system.slice/ci.service\n')).toEqual({
      memoryBytes: 3 * 2 ** 30,
      cpuQuota: 4,
    });
  });

  it('reports no limit when cgroup v2 says max', () => {
    const root = tree('v2-none', {
      'cgroup.controllers': 'memory',
      'memory.max': 'max',
      'cpu.max': 'max 100000',
    });
    expect(readHostLimits(root, '0::/\n')).toEqual({});
  });
});
