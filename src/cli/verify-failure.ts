// How a verify that did not pass ends a run: one error line naming the first failed layers and checks,
// for `image verify` and for `image convert --verify` (which checks the result before recording it).

import { TsconvertError } from '../errors.js';
import type { PlatformMatcher } from '../oci/platform.js';
import type { Descriptor } from '../oci/types.js';
import type { ContentStore } from '../store/content-store.js';
import { allPassed, verifyTarget, type ImageVerdict } from '../verify/verify-image.js';
import { failedLayers } from './render-verify.js';

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
    const ok = allPassed(verdicts);
    if (!ok) {
      const verdict = { image: display, digest: target.digest, platforms: verdicts, ok };
      throw verifyFailure(verdict, 'image convert --verify: the result failed, no image recorded');
    }
  };
}
