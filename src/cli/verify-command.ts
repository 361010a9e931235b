// `image verify [--platform P | --all-platforms] [--format json] IMAGE`: flags, and the composition root
// that opens IMAGE (any location `image convert` reads), runs the checks of src/verify once, prints the
// verdict on stdout and fails with one line on stderr when a layer failed a check or a promised partial
// or lazy pull will not happen.

import type { Command } from 'commander';
import { isErrorCode, notFound, TsconvertError } from '../errors.js';
import type { PlatformMatcher } from '../oci/platform.js';
import type { Logger } from '../util/log.js';
import type { Descriptor } from '../oci/types.js';
import type { ContentStore } from '../store/content-store.js';
import { verifyImage, verifyTarget, type ImageVerdict } from '../verify/verify-image.js';
import { platformMatcher } from './convert-flags.js';
import { openReadLocation } from './locations.js';
import type { GlobalFlags } from './run-convert.js';
import { failedLayers, renderVerdict } from './render-verify.js';

export interface VerifyFlags {
  format: 'text' | 'json';
  platforms: PlatformMatcher;
}

export function addVerifyFlags(cmd: Command): Command {
  return cmd
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
  return { format: raw.format === 'json' ? 'json' : 'text', platforms: platformMatcher(raw) };
}

/** The failure that ends a run whose image did not pass: one line naming the first failed layers. */
export function verifyFailure(verdict: ImageVerdict, lead = 'image verify'): TsconvertError {
  const failed = failedLayers(verdict);
  const shown = failed.slice(0, 3).join('; ');
  const more = failed.length > 3 ? `; and ${failed.length - 3} more` : '';
  return new TsconvertError('FAILED_PRECONDITION', `${lead}: ${verdict.image}: ${shown}${more}`);
}

/** `image convert --verify`: the same checks on the converted tree, before its image record is written. */
export function verifyBeforeRecord(
  display: string,
  platforms: PlatformMatcher,
): (target: Descriptor, content: ContentStore, signal: AbortSignal) => Promise<void> {
  return async (target, content, signal) => {
    const verdicts = await verifyTarget(content, target, platforms, signal);
    const ok = verdicts.every((p) => p.layers.every((l) => l.ok));
    if (!ok) {
      const verdict = { image: display, digest: target.digest, platforms: verdicts, ok };
      throw verifyFailure(verdict, 'image convert --verify: the result failed, no image recorded');
    }
  };
}

export async function runVerify(
  image: string,
  flags: VerifyFlags,
  globals: GlobalFlags,
  io: { stdout: NodeJS.WritableStream; logger: Logger; signal: AbortSignal },
): Promise<void> {
  const { location, close } = await openReadLocation(image, {
    address: globals.address,
    namespace: globals.namespace,
    readBlobFiles: globals.contentReads === 'auto',
    writeIngestFiles: false,
    logger: io.logger,
    signal: io.signal,
  });
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
    await close();
  }
}
