// Per-thread CPU of a running process, sampled from /proc/<pid>/task/*/stat: each thread's utime+stime
// (the largest value seen, so threads that end before the last sample still count). The busiest thread's
// share of the run's CPU says how far one thread caps the speed on a bigger machine.

import { readdir, readFile } from 'node:fs/promises';
import { clearInterval, setInterval } from 'node:timers';

/** utime+stime in clock ticks (USER_HZ = 100) and the name of one thread, or undefined once it is gone. */
async function threadTicks(/** @type {number} */ pid, /** @type {string} */ tid) {
  try {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { name, ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

/** The first child of `pid` (the process GNU time started), or undefined. @param {number} pid */
export async function firstChild(pid) {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    const child = Number(text.trim().split(/\s+/)[0]);
    return Number.isInteger(child) && child > 0 ? child : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Samples the threads of the process `findPid()` names every `everyMs` until `stop()` is called.
 * @param {() => Promise<number | undefined>} findPid
 */
export function sampleThreads(findPid, everyMs = 100) {
  /** @type {Map<string, { name: string, ticks: number }>} */
  const seen = new Map();
  let pid;
  let busy = Promise.resolve();
  const once = async () => {
    pid ??= await findPid();
    if (pid === undefined) return;
    let tids;
    try {
      tids = await readdir(`/proc/${pid}/task`);
    } catch {
      return;
    }
    for (const tid of tids) {
      const t = await threadTicks(pid, tid);
      if (t !== undefined && t.ticks >= (seen.get(tid)?.ticks ?? 0)) seen.set(tid, t);
    }
  };
  const timer = setInterval(() => {
    busy = busy.then(once);
  }, everyMs);
  return {
    /** Stops sampling; returns total CPU seconds and the busiest thread's seconds and name. */
    async stop() {
      clearInterval(timer);
      await busy;
      const threads = [...seen.values()];
      const totalS = threads.reduce((a, t) => a + t.ticks, 0) / 100;
      const top = threads.reduce((a, t) => (t.ticks > a.ticks ? t : a), { name: '', ticks: 0 });
      return { totalS, busiestS: top.ticks / 100, busiestName: top.name, threads: threads.length };
    },
  };
}

/**
 * Wall time a run's threads imply on `cores` cores when `threads` of them can compute at once: the CPU
 * spread over the threads that can run, but never less than the busiest thread alone.
 * @param {{ totalS: number, busiestS: number }} t @param {number} threads
 */
export function impliedWallS(t, threads) {
  return Math.max(t.totalS / Math.max(1, threads), t.busiestS);
}
