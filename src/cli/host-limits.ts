// What the host allows this process: a cgroup memory limit and CPU quota, read from a cgroup tree under a
// root that tests can point elsewhere (TSCONVERT_CGROUP_ROOT; /sys/fs/cgroup by default). cgroup v2 (a root
// with cgroup.controllers): memory.max and cpu.max. cgroup v1 (one directory per controller, also the
// "hybrid" layout whose unified/ tree carries no controllers): memory.limit_in_bytes, cpu.cfs_quota_us and
// cpu.cfs_period_us. The process's own cgroup comes from /proc/self/cgroup; the limits of that cgroup and
// of every ancestor count (the smallest wins), and a container that sees its own cgroup mounted as the root
// of the tree is covered by reading the root too.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface HostLimits {
  /** The cgroup memory limit in bytes, when one is set. */
  memoryBytes?: number;
  /** CPUs the cgroup's quota allows (quota ÷ period, maybe fractional), when one is set. */
  cpuQuota?: number;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** `dir` and its ancestors under `root`, deepest first, then `root` itself. */
function chain(root: string, path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  const dirs: string[] = [];
  for (let i = parts.length; i > 0; i--) dirs.push(join(root, ...parts.slice(0, i)));
  dirs.push(root);
  return dirs;
}

/** The process's cgroup path for a v1 controller, or the v2 path ("0::"), from /proc/self/cgroup text. */
function cgroupPath(selfCgroup: string, controller: string | undefined): string {
  for (const line of selfCgroup.split('\n')) {
    const [id, controllers, path] = line.split(':', 3);
    if (path === undefined) continue;
    if (
      controller === undefined
        ? id === '0' && controllers === ''
        : controllers?.split(',').includes(controller)
    )
      return path;
  }
  return '/';
}

function smallest(values: Array<number | undefined>): number | undefined {
  const set = values.filter((v): v is number => v !== undefined && Number.isFinite(v) && v > 0);
  return set.length === 0 ? undefined : Math.min(...set);
}

/** v1 reports "no limit" as a huge page-rounded number; anything past 2^62 counts as none. */
const V1_UNLIMITED = 2 ** 62;

function v1Limits(root: string, selfCgroup: string): HostLimits {
  const memDirs = chain(join(root, 'memory'), cgroupPath(selfCgroup, 'memory'));
  const memoryBytes = smallest(
    memDirs.map((d) => {
      const n = Number(read(join(d, 'memory.limit_in_bytes')));
      return n >= V1_UNLIMITED ? undefined : n;
    }),
  );
  const cpuRoot = [join(root, 'cpu'), join(root, 'cpu,cpuacct')].find(
    (d) => read(join(d, 'cpu.cfs_period_us')) !== undefined,
  );
  const cpuQuota =
    cpuRoot === undefined
      ? undefined
      : smallest(
          chain(cpuRoot, cgroupPath(selfCgroup, 'cpu')).map((d) => {
            const quota = Number(read(join(d, 'cpu.cfs_quota_us')));
            const period = Number(read(join(d, 'cpu.cfs_period_us')));
            return quota > 0 && period > 0 ? quota / period : undefined;
          }),
        );
  return { memoryBytes, cpuQuota };
}

function v2Limits(root: string, selfCgroup: string): HostLimits {
  const dirs = chain(root, cgroupPath(selfCgroup, undefined));
  const memoryBytes = smallest(dirs.map((d) => Number(read(join(d, 'memory.max')))));
  const cpuQuota = smallest(
    dirs.map((d) => {
      const [quota, period] = (read(join(d, 'cpu.max')) ?? '').split(/\s+/).map(Number);
      return quota !== undefined && period !== undefined && quota > 0 && period > 0
        ? quota / period
        : undefined;
    }),
  );
  return { memoryBytes, cpuQuota };
}

/** The cgroup limits that apply to this process, read under `root` with `selfCgroup` as /proc/self/cgroup. */
export function readHostLimits(root: string, selfCgroup: string): HostLimits {
  const limits =
    read(join(root, 'cgroup.controllers')) !== undefined
      ? v2Limits(root, selfCgroup)
      : v1Limits(root, selfCgroup);
  const out: HostLimits = {};
  if (limits.memoryBytes !== undefined) out.memoryBytes = limits.memoryBytes;
  if (limits.cpuQuota !== undefined) out.cpuQuota = limits.cpuQuota;
  return out;
}

/** The limits of this process: TSCONVERT_CGROUP_ROOT or /sys/fs/cgroup, and /proc/self/cgroup. */
export function processHostLimits(env: NodeJS.ProcessEnv = process.env): HostLimits {
  return readHostLimits(env.TSCONVERT_CGROUP_ROOT ?? '/sys/fs/cgroup', read('/proc/self/cgroup') ?? '');
}
