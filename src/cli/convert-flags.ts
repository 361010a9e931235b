// `image convert` flags: declared once (names and defaults follow nerdctl) and validated in one function
// into a plain typed object. Nothing here talks to a store.

import { availableParallelism } from 'node:os';
import { Option, type Command } from 'commander';
import { usageError } from '../errors.js';
import { DEFAULT_ZSTD_LEVEL } from '../layers/zstd.js';
import { DEFAULT_CHUNK_SIZE, type ChunkedAnnotations } from '../layers/zstdchunked/format.js';
import type { RegistryFlags } from './locations.js';
import { addRegistryFlags, registryFlags } from './registry-flags.js';
import { parseMemorySize } from './resources.js';
import {
  allPlatforms,
  nodePlatform,
  onlyPlatforms,
  parsePlatform,
  type PlatformMatcher,
} from '../oci/platform.js';

export type LayerFlag = 'uncompress' | 'zstd' | 'zstdchunked' | undefined;

export interface ConvertFlags {
  format: 'text' | 'json';
  layer: LayerFlag;
  zstdLevel: number;
  chunked: { level: number; chunkSize: number; annotations: ChunkedAnnotations };
  oci: boolean;
  platforms: PlatformMatcher;
  jobs: number;
  /** --max-memory (or TSCONVERT_MAX_MEMORY) in bytes, when given; else the default or the cgroup's cap. */
  maxMemory: number | undefined;
  /** The flag that implied --oci, when --oci was not given (the CLI warns once). */
  ociImpliedBy: string | undefined;
  /** Use layers earlier runs converted and recorded in the destination (`--no-reuse` turns it off). */
  reuse: boolean;
  /** Run `image verify`'s checks on the result before the image record is written. */
  verify: boolean;
  /** How docker:// locations are reached (src/cli/registry-flags.ts). */
  registry: RegistryFlags;
}

/** nerdctl converters tsconvert does not implement; accepted so the error can say so clearly. */
const UNSUPPORTED = ['estargz', 'nydus', 'overlaybd', 'soci', 'erofs', 'zstdchunkedRecordIn'] as const;

/** Largest chunk: every chunk is held in memory while it is compressed. */
export const MAX_CHUNK_SIZE = 64 * 1024 * 1024;
/**
 * Smallest chunk. Each chunk is a zstd frame and a TOC entry, and a file's entries wait in memory until its
 * whole-file digest is known: at 1 byte an 8 MiB layer took 3.5 GB and 204 s. At 64 KiB a file holds one
 * entry per 64 KiB, the same order as the bound the README states for entries per layer.
 */
export const MIN_CHUNK_SIZE = 64 * 1024;

const ANNOTATIONS_HELP =
  'TOC annotations: "stargz" (nerdctl-compatible, lazy pulls with stargz-snapshotter) or "containers" ' +
  '(podman / CRI-O partial pulls; pick this for images pulled by containers/storage)';

export function addConvertFlags(cmd: Command): Command {
  return addRegistryFlags(cmd)
    .option(
      '--format <format>',
      'output format: "json" prints {"Image","ExtraImages","Layers"}; without the flag, the digest',
    )
    .option('--uncompress', 'convert tar.gz / tar.zst layers to uncompressed tar', false)
    .option('--oci', 'convert Docker media types to OCI media types', false)
    .option('--zstd', 'convert layers to zstd (implies --oci)', false)
    .option('--zstd-compression-level <level>', 'zstd compression level (1-22)', String(DEFAULT_ZSTD_LEVEL))
    .option('--zstdchunked', 'convert layers to zstd:chunked, lossless (implies --oci)', false)
    .option('--zstdchunked-compression-level <level>', 'zstd:chunked compression level (1-22)', '3')
    .option(
      '--zstdchunked-chunk-size <bytes>',
      `zstd:chunked chunk size, ${MIN_CHUNK_SIZE} (64 KiB) to ${MAX_CHUNK_SIZE} (64 MiB); 0 means 4 MiB`,
      '0',
    )
    .addOption(
      new Option('--zstdchunked-annotations <set>', ANNOTATIONS_HELP)
        .choices(['stargz', 'containers'])
        .default('stargz'),
    )
    .option(
      '--platform <platform>',
      'convert content for this platform (comma separated or repeated); default: the host platform only',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--all-platforms', 'convert content for all platforms', false)
    .option(
      '--jobs <n>',
      'how many layers convert (or unchanged blobs copy) at once, at most (default: number of CPUs)',
    )
    .addOption(
      new Option(
        '--max-memory <size>',
        'memory budget for the whole run, e.g. 512M or 2G: compression threads, layers at once and buffers all fit in it, and work waits when it is spent (default: 256M, or 3/4 of a lower cgroup memory limit)',
      ).env('TSCONVERT_MAX_MEMORY'),
    )
    .option(
      '--no-reuse',
      'convert every layer, even one an earlier run already converted with the same options into the destination',
    )
    .option(
      '--verify',
      'check the result as "image verify" does; when a check fails, no image is recorded',
      false,
    )
    .addOption(new Option('--estargz').hideHelp())
    .addOption(new Option('--nydus').hideHelp())
    .addOption(new Option('--overlaybd').hideHelp())
    .addOption(new Option('--soci').hideHelp())
    .addOption(new Option('--erofs <mode>').hideHelp())
    .addOption(new Option('--zstdchunked-record-in <file>').hideHelp());
}

function parseIntFlag(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) {
    throw usageError(
      `invalid value ${JSON.stringify(value)} for --${name}: want a whole number from ${min} to ${max}`,
    );
  }
  return n;
}

/** `--platform` / `--all-platforms` into a matcher (no flag: the host platform), shared with `image verify`. */
export function platformMatcher(raw: Record<string, unknown>): PlatformMatcher {
  if (raw.allPlatforms === true) return allPlatforms();
  const list = (raw.platform as string[] | undefined) ?? [];
  const host = nodePlatform(process.platform, process.arch);
  if (list.length === 0) return onlyPlatforms([host]);
  const specs = list.flatMap((v) => v.split(',')).filter((s) => s.trim() !== '');
  if (specs.length === 0) {
    throw usageError(`--platform ${JSON.stringify(list.join(','))} names no platform (empty)`, {
      hint: 'write os/arch[/variant], e.g. --platform linux/arm64, or leave the flag out for the host platform',
    });
  }
  return onlyPlatforms(
    specs.map((s) => parsePlatform(s, host)),
    true,
  );
}

function outputFormat(raw: Record<string, unknown>): 'text' | 'json' {
  if (raw.format === undefined) return 'text';
  if (raw.format === 'json') return 'json';
  throw usageError(`--format ${JSON.stringify(raw.format)} is not supported: the only format is "json"`, {
    hint: 'leave --format out to print the digest',
  });
}

function chunkSize(raw: Record<string, unknown>): number {
  const value = String(raw.zstdchunkedChunkSize);
  if (value.trim() === '0') return DEFAULT_CHUNK_SIZE;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < MIN_CHUNK_SIZE || n > MAX_CHUNK_SIZE) {
    throw usageError(
      `invalid value ${JSON.stringify(value)} for --zstdchunked-chunk-size: want 0 (4 MiB) or a whole number of bytes from ${MIN_CHUNK_SIZE} (64 KiB) to ${MAX_CHUNK_SIZE} (64 MiB)`,
    );
  }
  return n;
}

function layerFlag(raw: Record<string, unknown>): LayerFlag {
  const converters = (['zstd', 'zstdchunked'] as const).filter((k) => raw[k] === true);
  if (converters.length > 1) {
    throw usageError('options --zstd and --zstdchunked lead to conflict, only one of them can be used');
  }
  const [converter] = converters;
  if (converter !== undefined && raw.uncompress === true)
    throw usageError(`option --${converter} conflicts with --uncompress`);
  return converter ?? (raw.uncompress === true ? 'uncompress' : undefined);
}

export function validateConvertFlags(raw: Record<string, unknown>): ConvertFlags {
  for (const name of UNSUPPORTED) {
    if (raw[name] !== undefined && raw[name] !== false) {
      const flag = name === 'zstdchunkedRecordIn' ? 'zstdchunked-record-in' : name;
      throw usageError(`--${flag} is not supported by tsconvert`, {
        hint: 'tsconvert writes zstd, zstd:chunked and uncompressed layers; use nerdctl for other formats',
      });
    }
  }
  const layer = layerFlag(raw);
  const zstdLike = layer === 'zstd' || layer === 'zstdchunked';
  return {
    format: outputFormat(raw),
    layer,
    zstdLevel: parseIntFlag('zstd-compression-level', String(raw.zstdCompressionLevel), 1, 22),
    chunked: {
      level: parseIntFlag('zstdchunked-compression-level', String(raw.zstdchunkedCompressionLevel), 1, 22),
      chunkSize: chunkSize(raw),
      annotations: raw.zstdchunkedAnnotations === 'containers' ? 'containers' : 'stargz',
    },
    oci: raw.oci === true || zstdLike,
    ociImpliedBy: zstdLike && raw.oci !== true ? `--${layer}` : undefined,
    platforms: platformMatcher(raw),
    jobs: raw.jobs === undefined ? availableParallelism() : parseIntFlag('jobs', String(raw.jobs), 1, 256),
    maxMemory:
      raw.maxMemory === undefined ? undefined : parseMemorySize(String(raw.maxMemory), '--max-memory'),
    verify: raw.verify === true,
    reuse: raw.reuse !== false,
    registry: registryFlags(raw),
  };
}
