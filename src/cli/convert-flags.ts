// `image convert` flags: declared once (names and defaults follow nerdctl) and validated in one function
// into a plain typed object. Nothing here talks to a store.

import { availableParallelism } from 'node:os';
import { Option, type Command } from 'commander';
import { usageError } from '../errors.js';
import {
  allPlatforms,
  nodePlatform,
  onlyPlatforms,
  parsePlatform,
  type PlatformMatcher,
} from '../oci/platform.js';
import { DEFAULT_ZSTD_LEVEL } from '../layers/zstd.js';

export interface ConvertFlags {
  format: 'text' | 'json';
  uncompress: boolean;
  zstd: boolean;
  zstdLevel: number;
  oci: boolean;
  platforms: PlatformMatcher;
  jobs: number;
  /** Set when a flag implied --oci (the CLI warns once). */
  ociImplied: boolean;
}

/** nerdctl converters tsconvert does not implement; accepted so the error can say so clearly. */
const UNSUPPORTED = ['estargz', 'nydus', 'overlaybd', 'soci', 'erofs'] as const;

export function addConvertFlags(cmd: Command): Command {
  return cmd
    .option(
      '--format <format>',
      'output format: "json" prints {"Image","ExtraImages","Layers"}; anything else the digest',
      '',
    )
    .option('--uncompress', 'convert tar.gz / tar.zst layers to uncompressed tar', false)
    .option('--oci', 'convert Docker media types to OCI media types', false)
    .option('--zstd', 'convert layers to zstd (implies --oci)', false)
    .option('--zstd-compression-level <level>', 'zstd compression level (1-22)', String(DEFAULT_ZSTD_LEVEL))
    .option(
      '--platform <platform>',
      'convert content for this platform (comma separated or repeated); default: the host platform only',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--all-platforms', 'convert content for all platforms', false)
    .option('--jobs <n>', 'how many layers convert at once (default: number of CPUs)')
    .addOption(new Option('--estargz').hideHelp())
    .addOption(new Option('--nydus').hideHelp())
    .addOption(new Option('--overlaybd').hideHelp())
    .addOption(new Option('--soci').hideHelp())
    .addOption(new Option('--erofs <mode>').hideHelp());
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

function platformMatcher(raw: Record<string, unknown>): PlatformMatcher {
  if (raw.allPlatforms === true) return allPlatforms();
  const list = (raw.platform as string[] | undefined) ?? [];
  const specs = list.flatMap((v) => v.split(',')).filter((s) => s.trim() !== '');
  const host = nodePlatform(process.platform, process.arch);
  return onlyPlatforms(specs.length > 0 ? specs.map((s) => parsePlatform(s, host)) : [host]);
}

export function validateConvertFlags(raw: Record<string, unknown>): ConvertFlags {
  for (const name of UNSUPPORTED) {
    if (raw[name] !== undefined && raw[name] !== false) {
      throw usageError(`--${name} is not supported by tsconvert`, {
        hint: 'tsconvert converts to zstd and uncompressed layers; use nerdctl for other formats',
      });
    }
  }
  const zstd = raw.zstd === true;
  const uncompress = raw.uncompress === true;
  if (zstd && uncompress) throw usageError('option --zstd conflicts with --uncompress');
  const oci = raw.oci === true;
  const jobs =
    raw.jobs === undefined ? availableParallelism() : parseIntFlag('jobs', String(raw.jobs), 1, 256);
  return {
    format: raw.format === 'json' ? 'json' : 'text',
    uncompress,
    zstd,
    zstdLevel: parseIntFlag('zstd-compression-level', String(raw.zstdCompressionLevel), 1, 22),
    oci: oci || zstd,
    ociImplied: zstd && !oci,
    platforms: platformMatcher(raw),
    jobs,
  };
}
