// Transport-prefixed image references, in skopeo's syntax: `oci:DIR[:REF]` and `oci-archive:FILE[:REF]`.
// Pure string parsing, no I/O.
//
// The path ends at the FIRST ':' after the prefix, exactly as skopeo (containers/image) splits it, so one
// string means the same image to both tools: `oci:out:example.com/app:v1` is DIR `out`, REF
// `example.com/app:v1`. Consequently DIR/FILE can never contain ':'; reach such a path through a symlink or
// a relative path without the colon. REF, when present, must follow the OCI `org.opencontainers.image.ref.name`
// grammar (components of [A-Za-z0-9] joined by [-._:@+] or "--", separated by '/').

import { usageError } from '../errors.js';

export type LayoutTransport = 'oci' | 'oci-archive';

export interface TransportReference {
  transport: LayoutTransport;
  /** The layout directory (`oci`) or tar file (`oci-archive`), as written (not resolved). */
  path: string;
  /** The ref.name annotation to address; undefined = "the only image in the layout" (source) / unnamed entry. */
  ref: string | undefined;
}

const COMPONENT = '[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*';
const REF_NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

/** Whether `name` is a valid `org.opencontainers.image.ref.name` value per the OCI image-layout spec. */
export function isValidRefName(name: string): boolean {
  return REF_NAME_RE.test(name);
}

/**
 * Parses `oci:DIR[:REF]` or `oci-archive:FILE[:REF]`. Returns null when the string has neither prefix,
 * meaning it names a containerd image (a prefix always wins; a containerd image really called `oci:tag`
 * must be written `docker.io/library/oci:tag`). Throws a USAGE error for an empty path or an invalid REF.
 */
export function parseTransportReference(ref: string): TransportReference | null {
  const m = /^(oci|oci-archive):(.*)$/s.exec(ref);
  if (m === null) return null;
  const transport = m[1] as LayoutTransport;
  const rest = m[2] ?? '';
  const colon = rest.indexOf(':');
  const path = colon < 0 ? rest : rest.slice(0, colon);
  const name = colon < 0 ? undefined : rest.slice(colon + 1);
  if (path === '') {
    throw usageError(`invalid reference ${JSON.stringify(ref)}: ${transport}: needs a path`, {
      hint: `write ${transport}:PATH[:REF]`,
    });
  }
  if (name !== undefined && !isValidRefName(name)) {
    throw usageError(
      `invalid reference ${JSON.stringify(ref)}: ${JSON.stringify(name)} is not a valid image ref name`,
      {
        hint: 'a ref is like "v1" or "example.com/app:v1"; the path ends at the first ":"',
      },
    );
  }
  return { transport, path, ref: name };
}

/** The inverse of parseTransportReference, for messages. */
export function formatTransportReference(ref: TransportReference): string {
  return ref.ref === undefined ? `${ref.transport}:${ref.path}` : `${ref.transport}:${ref.path}:${ref.ref}`;
}
