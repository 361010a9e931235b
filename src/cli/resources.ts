// How much memory and how many compression threads a run gets. One budget for the whole run
// (src/util/memory-budget.ts): --max-memory or TSCONVERT_MAX_MEMORY when given, else 256 MiB, capped by a
// cgroup memory limit so the process fits in its container. The budget, not the CPU count, decides how many
// compression threads run: each costs memory (a worker isolate and a frame slot for zstd:chunked, libzstd's
// job buffers for --zstd), and a cgroup CPU quota caps them too. See the README's Memory paragraph.

import { usageError } from '../errors.js';
import { LAYER_STREAM_BYTES } from '../convert/blobs.js';
import { layerSlotMemory } from '../layers/zstdchunked/writer.js';
import { DIGEST_WORKER_BYTES } from '../stream/digest-worker.js';
import { MemoryBudget } from '../util/memory-budget.js';
import { WORKER_BYTES } from '../zstd/compress-pool.js';
import { ZSTD_MT_BASE_BYTES, ZSTD_MT_THREAD_BYTES } from '../zstd/zstd.js';
import type { HostLimits } from './host-limits.js';

const MiB = 1 << 20;

/** The default --max-memory: peak RSS stays under 300 MB with it (docs/benchmarks.md). */
export const DEFAULT_MAX_MEMORY = 256 * MiB;

/**
 * What the process holds outside the budget's accounting: Node and V8's heaps, loaded modules, gRPC, and
 * dead stream buffers between collections (V8 lets up to ~64 MiB of external garbage pile up before it
 * collects). Measured: copying an image OCI archive → layout with no conversion peaks at 139 MiB RSS, 58
 * MiB of it array buffers.
 */
export const RUNTIME_BYTES = 144 * MiB;

/** Share of a cgroup memory limit the default takes: the rest is for the page cache and the kernel. */
const CGROUP_SHARE = 0.75;

export interface ResourcePlan {
  /** The memory the run aims to stay under (RSS), and where that number came from. */
  maxMemory: number;
  origin: 'flag' | 'default' | 'cgroup';
  budget: MemoryBudget;
  /** CPUs the host lets us use: the CPU count, capped by a cgroup CPU quota. */
  cpus: number;
  /** Compression threads that fit in the budget (zstd:chunked pool workers, or libzstd threads per run). */
  threads: number;
  /**
   * Whole-stream sha256 on a thread of its own (src/stream/digest-worker.ts): only when a core is left
   * over beside the compression threads and the main thread. On a small host it would only add the cost
   * of handing the bytes over (~0.6 s of CPU on the bench image) and its memory.
   */
  digestThread: boolean;
}

export interface PlanInput {
  /** --max-memory in bytes, when given. */
  maxMemory: number | undefined;
  cpus: number;
  limits: HostLimits;
  layer: 'uncompress' | 'zstd' | 'zstdchunked' | undefined;
  chunkSize: number;
}

export function planResources(input: PlanInput): ResourcePlan {
  const cgroupCap =
    input.limits.memoryBytes === undefined ? undefined : Math.floor(input.limits.memoryBytes * CGROUP_SHARE);
  let maxMemory = input.maxMemory ?? DEFAULT_MAX_MEMORY;
  let origin: ResourcePlan['origin'] = input.maxMemory === undefined ? 'default' : 'flag';
  if (input.maxMemory === undefined && cgroupCap !== undefined && cgroupCap < maxMemory) {
    maxMemory = cgroupCap;
    origin = 'cgroup';
  }
  const quota = input.limits.cpuQuota;
  const cpus = Math.max(1, Math.min(input.cpus, quota === undefined ? input.cpus : Math.ceil(quota)));
  let room = Math.max(0, maxMemory - RUNTIME_BYTES);
  let perThread = 0;
  let oneLayer = LAYER_STREAM_BYTES;
  if (input.layer === 'zstdchunked') {
    const slot = layerSlotMemory(input.chunkSize);
    perThread = WORKER_BYTES + slot;
    oneLayer += 2 * slot;
  } else if (input.layer === 'zstd') {
    perThread = ZSTD_MT_THREAD_BYTES;
    oneLayer += ZSTD_MT_BASE_BYTES;
  }
  const sized = (bytes: number): number =>
    perThread === 0 ? 1 : Math.max(1, Math.min(cpus, Math.floor((bytes - oneLayer) / perThread)));
  // A digest thread when a core is spare beside the compression threads and the main thread; its memory
  // comes out of the budget before the compression threads are counted again.
  const digestThread = cpus > sized(room) + 1;
  if (digestThread) room = Math.max(0, room - DIGEST_WORKER_BYTES);
  const threads = sized(room);
  // A budget too small for one thread and one layer is raised to that: work must be able to start.
  const budget = new MemoryBudget(Math.max(room, oneLayer + threads * perThread));
  return { maxMemory, origin, budget, cpus, threads, digestThread };
}

const UNITS: Record<string, number> = { '': 1, k: 1 << 10, m: MiB, g: 1 << 30, t: 2 ** 40 };

/** "2G", "512M", "300MiB", "1gb", "1048576": binary units, as docker's --memory takes them. */
export function parseMemorySize(value: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(value);
  const n = m === null ? NaN : Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] ?? NaN);
  if (!Number.isFinite(n) || n < 32 * MiB) {
    throw usageError(
      `invalid value ${JSON.stringify(value)} for ${what}: want a size of at least 32M, like 512M or 2G`,
    );
  }
  return Math.floor(n);
}

export function formatMiB(bytes: number): string {
  return `${Math.round(bytes / MiB)} MiB`;
}
