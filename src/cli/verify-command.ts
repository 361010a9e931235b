// `image verify [--platform P | --all-platforms] [--format json] IMAGE`: flags, and the composition root
// that opens IMAGE (any location `image convert` reads), runs the checks of src/verify once, prints the
// verdict on stdout and fails with one line on stderr when a layer failed a check or a promised partial
// or lazy pull will not happen.

import type { Command } from 'commander';
import { isErrorCode, notFound } from '../errors.js';
import type { PlatformMatcher } from '../oci/platform.js';
import type { Logger } from '../util/log.js';
import { verifyImage, type ImageVerdict } from '../verify/verify-image.js';
import { platformMatcher } from './convert-flags.js';
import { openLocation, type RegistryFlags } from './locations.js';
import { addImageRegistryFlags, registryFlags } from './registry-flags.js';
import { backendOptions, type GlobalFlags } from './run-convert.js';
import { renderVerdict } from './render-verify.js';
import { verifyFailure } from './verify-failure.js';

export interface VerifyFlags {
  format: 'text' | 'json';
  platforms: PlatformMatcher;
  /** How a docker:// IMAGE is reached (--creds, --tls-verify, --cert-dir, --authfile). */
  registry: RegistryFlags;
}

export function addVerifyFlags(cmd: Command): Command {
  return addImageRegistryFlags(cmd)
    .option('--format <format>', 'output format: "json" prints the facts per platform and layer', '')
    .option(
      '--platform <platform>',
      'verify this platform (comma separated or repeated); default: the host platform only',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--all-platforms', 'verify every platform', false);
}

export function validateVerifyFlags(raw: Record<string, unknown>): VerifyFlags {
  return {
    format: raw.format === 'json' ? 'json' : 'text',
    platforms: platformMatcher(raw),
    registry: registryFlags(raw),
  };
}

export async function runVerify(
  image: string,
  flags: VerifyFlags,
  globals: GlobalFlags,
  io: { stdout: NodeJS.WritableStream; logger: Logger; signal: AbortSignal },
): Promise<void> {
  const location = await openLocation(
    image,
    {
      ...backendOptions(globals),
      writeIngestFiles: false,
      registry: flags.registry,
      logger: io.logger,
      signal: io.signal,
    },
    'read',
  );
  try {
    let verdict: ImageVerdict;
    try {
      verdict = await verifyImage(
        location.backend,
        location.name,
        location.display,
        flags.platforms,
        io.signal,
      );
    } catch (err) {
      if (!isErrorCode(err, 'NOT_FOUND') || location.backend.kind !== 'containerd') throw err;
      throw notFound(`image "${location.display}": not found in containerd`, {
        cause: err,
        hint: 'check the name and namespace (ctr images ls / --namespace)',
      });
    }
    io.stdout.write(renderVerdict(verdict, flags.format));
    if (!verdict.ok) throw verifyFailure(verdict);
  } finally {
    await location.backend.close();
  }
}
