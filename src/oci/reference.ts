// Image name normalisation as nerdctl does it (docker/distribution's ParseNormalizedNamed + TagNameOnly):
// "alpine" → "docker.io/library/alpine:latest", "foo/bar" → "docker.io/foo/bar:latest",
// "host:5000/x" keeps its registry, a name with a digest gets no tag.

import { usageError } from '../errors.js';

const DEFAULT_DOMAIN = 'docker.io';
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;

function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const looksLikeDomain =
    first !== '' &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first);
  if (!looksLikeDomain) {
    const path = slash === -1 ? `library/${name}` : name;
    return { domain: DEFAULT_DOMAIN, path };
  }
  let path = name.slice(slash + 1);
  const domain = first === 'index.docker.io' ? DEFAULT_DOMAIN : first;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  return { domain, path };
}

/** Returns the fully qualified name, with ":latest" added when neither tag nor digest is given. */
export function normalizeImageName(input: string): string {
  const invalid = (why: string): never => {
    throw usageError(`invalid image name ${JSON.stringify(input)}: ${why}`);
  };
  if (input === '') return invalid('empty');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) invalid('bad digest');
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) invalid('bad tag');
  }
  const { domain, path } = splitDomain(rest);
  if (!DOMAIN.test(domain)) invalid('bad registry host');
  if (path.split('/').some((c) => !PATH_COMPONENT.test(c))) {
    invalid('repository names must be lowercase letters, digits and separators');
  }
  let out = `${domain}/${path}`;
  if (tag !== undefined) out += `:${tag}`;
  if (digest !== undefined) out += `@${digest}`;
  else if (tag === undefined) out += ':latest';
  return out;
}
