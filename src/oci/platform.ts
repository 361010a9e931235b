// Platform strings and matchers with nerdctl's semantics (docs/containerd.md#platform-matching):
// no flag = the host platform only, exact match; `--platform a,b` = any of those, exact; `--all-platforms`
// = everything. Normalisation follows containerd's (x86_64 → amd64, aarch64 → arm64, arm64/v8 ≡ arm64).

import { usageError } from '../errors.js';
import type { Platform } from './types.js';

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

export interface PlatformMatcher {
  /** True when an index child with this platform is kept. */
  match(platform: PlatformSpec): boolean;
  /** Human description for messages ("linux/amd64", "all platforms"). */
  readonly description: string;
  /**
   * True when the user named the platforms (`--platform`): then even an image of one manifest, whose
   * platform is only in its config, must match (nerdctl fails there too).
   */
  readonly named: boolean;
}

// A Map, not an object literal: "__proto__" or "constructor" given as an architecture must stay a string.
const ARCH_ALIASES: ReadonlyMap<string, string> = new Map([
  ['x86_64', 'amd64'],
  ['x86-64', 'amd64'],
  ['aarch64', 'arm64'],
  ['armhf', 'arm'],
  ['armel', 'arm'],
  ['i386', '386'],
]);

const KNOWN_OS = new Set([
  'linux',
  'windows',
  'darwin',
  'freebsd',
  'netbsd',
  'openbsd',
  'solaris',
  'unknown',
]);

function normalizePlatform(p: PlatformSpec): PlatformSpec {
  const os = p.os.toLowerCase();
  const architecture = ARCH_ALIASES.get(p.architecture.toLowerCase()) ?? p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() || undefined;
  if (architecture === 'arm64' && variant === 'v8') variant = undefined;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  if (architecture === 'arm' && variant === undefined) variant = 'v7';
  if (architecture === 'arm' && /^[5-8]$/.test(variant ?? '')) variant = `v${variant}`;
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

export function formatPlatform(p: PlatformSpec | Platform): string {
  return [p.os, p.architecture, p.variant].filter((s) => s !== undefined && s !== '').join('/');
}

/** Parses "os/arch[/variant]", "arch" (host OS implied) or "os" (host arch implied), like containerd. */
export function parsePlatform(text: string, host: PlatformSpec): PlatformSpec {
  const parts = text.trim().split('/');
  const bad = (): never => {
    throw usageError(`invalid platform: ${JSON.stringify(text)}`, {
      hint: 'write it as os/arch[/variant], e.g. linux/arm64 or linux/arm/v7',
    });
  };
  if (parts.some((p) => !/^[A-Za-z0-9_.-]+$/.test(p))) bad();
  const [a, b, c] = parts;
  if (parts.length === 1 && a !== undefined) {
    if (KNOWN_OS.has(a.toLowerCase())) return normalizePlatform({ os: a, architecture: host.architecture });
    return normalizePlatform({ os: host.os, architecture: a });
  }
  if (parts.length === 2 && a !== undefined && b !== undefined)
    return normalizePlatform({ os: a, architecture: b });
  if (parts.length === 3 && a !== undefined && b !== undefined && c !== undefined) {
    return normalizePlatform({ os: a, architecture: b, variant: c });
  }
  return bad();
}

/** The platform of a Node process, from its `process.platform` and `process.arch` values. */
export function nodePlatform(nodePlatformName: string, nodeArch: string): PlatformSpec {
  const archMap: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    ppc64: 'ppc64le',
  };
  const osMap: Record<string, string> = { win32: 'windows' };
  return normalizePlatform({
    os: osMap[nodePlatformName] ?? nodePlatformName,
    architecture: archMap[nodeArch] ?? nodeArch,
  });
}

function samePlatform(a: PlatformSpec, b: PlatformSpec): boolean {
  const x = normalizePlatform(a);
  const y = normalizePlatform(b);
  return x.os === y.os && x.architecture === y.architecture && x.variant === y.variant;
}

export function allPlatforms(): PlatformMatcher {
  return { match: () => true, description: 'all platforms', named: false };
}

/** Exact matcher for any of the given platforms (deduplicated, order kept); `named`: see PlatformMatcher. */
export function onlyPlatforms(platforms: readonly PlatformSpec[], named = false): PlatformMatcher {
  const unique: PlatformSpec[] = [];
  for (const p of platforms) if (!unique.some((u) => samePlatform(u, p))) unique.push(normalizePlatform(p));
  return {
    match: (p) => unique.some((u) => samePlatform(u, p)),
    description: unique.map(formatPlatform).join(', '),
    named,
  };
}
