// `docker://HOST[:PORT]/REPO[:TAG|@DIGEST]`, skopeo's registry transport: the name after the prefix is
// normalised as nerdctl and docker normalise image names (src/oci/reference.ts), so `docker://alpine` is
// docker.io/library/alpine:latest, and Docker Hub's API host is registry-1.docker.io. Pure parsing.

import { usageError } from '../errors.js';
import { normalizeImageName } from '../oci/reference.js';

export const DOCKER_PREFIX = 'docker://';

export interface RegistryReference {
  /** HOST[:PORT] as the user (or normalisation) gave it; the key for credentials. */
  host: string;
  /** HOST[:PORT] the API is served on (Docker Hub's differs from its name). */
  apiHost: string;
  repository: string;
  /** A tag, or the digest of a by-digest reference. */
  reference: string;
  /** The reference is a digest, not a tag. */
  byDigest: boolean;
}

/** Parses `docker://…`; null when `ref` does not start with the prefix. */
export function parseRegistryReference(ref: string): RegistryReference | null {
  if (!ref.startsWith(DOCKER_PREFIX)) return null;
  const rest = ref.slice(DOCKER_PREFIX.length);
  if (rest === '') {
    throw usageError(`invalid reference ${JSON.stringify(ref)}: docker:// needs an image name`, {
      hint: 'write docker://HOST[:PORT]/REPO[:TAG|@DIGEST]',
    });
  }
  const name = normalizeImageName(rest);
  const slash = name.indexOf('/');
  const host = name.slice(0, slash);
  const at = name.indexOf('@');
  let repository: string;
  let reference: string;
  if (at !== -1) {
    // A tag given with a digest is dropped, as the digest alone names the image.
    repository = name.slice(slash + 1, at).replace(/:[^/]*$/, '');
    reference = name.slice(at + 1);
  } else {
    const colon = name.lastIndexOf(':');
    repository = name.slice(slash + 1, colon);
    reference = name.slice(colon + 1);
  }
  const apiHost = host === 'docker.io' ? 'registry-1.docker.io' : host;
  return { host, apiHost, repository, reference, byDigest: at !== -1 };
}

/** The reference as `docker://HOST/REPO:TAG` (or `@DIGEST`), for messages and output. */
export function formatRegistryReference(r: RegistryReference): string {
  return `${DOCKER_PREFIX}${r.host}/${r.repository}${r.byDigest ? '@' : ':'}${r.reference}`;
}
