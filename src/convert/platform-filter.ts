// Which children of an index a conversion keeps: those without a platform always, the others when the
// matcher accepts them (nerdctl's semantics: filtering applies only to index children that carry a platform).

import { formatPlatform, type PlatformMatcher } from '../oci/platform.js';
import { isAttestation, type Descriptor } from '../oci/types.js';

export function keptChildren(matcher: PlatformMatcher, children: readonly Descriptor[]): Descriptor[] {
  return children.filter((c) => c.platform === undefined || matcher.match(c.platform));
}

/** Names of the children the matcher drops, for the warning ("linux/arm64", "attestation for …"). */
export function droppedChildren(matcher: PlatformMatcher, children: readonly Descriptor[]): string[] {
  return children
    .filter((c) => c.platform !== undefined && !matcher.match(c.platform))
    .map((c) =>
      isAttestation(c) ? 'attestations' : formatPlatform(c.platform as NonNullable<Descriptor['platform']>),
    );
}
