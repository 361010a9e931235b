// Makes a child process see N CPUs: a tiny LD_PRELOAD library, compiled with cc on first use into a cache
// directory (no binary is committed), whose sched_getaffinity reports the first N CPUs as allowed. Node's
// os.availableParallelism() and libuv read the affinity mask, so tsconvert sizes its pools as on an N-core
// host while the kernel still runs it on the cores that exist. Used by the bench and the e2e tests. Plain TypeScript that
// Node 24 runs without a build.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';

/** The environment variable the library reads: how many CPUs to report. */
export const FAKE_CPUS_ENV = 'TSCONVERT_FAKE_CPUS';

const SOURCE = `#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>

int sched_getaffinity(pid_t pid, size_t size, cpu_set_t *mask) {
  const char *n = getenv("${FAKE_CPUS_ENV}");
  if (n == NULL || atoi(n) <= 0) {
    int (*real)(pid_t, size_t, cpu_set_t *) = dlsym(RTLD_NEXT, "sched_getaffinity");
    return real(pid, size, mask);
  }
  int count = atoi(n);
  memset(mask, 0, size);
  for (int i = 0; i < count && (size_t)i < size * 8; i++) CPU_SET_S(i, size, mask);
  return 0;
}
`;

/** Path of the compiled library, built once per source version under `cacheDir`. */
export function fakeCpusLibrary(cacheDir = join(tmpdir(), 'tsconvert-fake-cpus')): string {
  const tag = createHash('sha256').update(SOURCE).digest('hex').slice(0, 12);
  const lib = join(cacheDir, `fake-cpus-${tag}.so`);
  if (existsSync(lib)) return lib;
  mkdirSync(cacheDir, { recursive: true });
  const src = join(cacheDir, `fake-cpus-${tag}-${process.pid}.c`);
  const partial = `${lib}.${process.pid}.partial`;
  writeFileSync(src, SOURCE);
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', partial, src, '-ldl'], { stdio: 'pipe' });
    renameSync(partial, lib);
  } finally {
    rmSync(src, { force: true });
    rmSync(partial, { force: true });
  }
  return lib;
}

/** The environment for a child that should see `cpus` CPUs (`base` plus LD_PRELOAD and the count). */
export function fakeCpusEnv(
  cpus: number,
  base: NodeJS.ProcessEnv = process.env,
  cacheDir?: string,
): NodeJS.ProcessEnv {
  const lib = fakeCpusLibrary(cacheDir);
  const preload = base.LD_PRELOAD ? `${lib}:${base.LD_PRELOAD}` : lib;
  return { ...base, LD_PRELOAD: preload, [FAKE_CPUS_ENV]: String(cpus) };
}
