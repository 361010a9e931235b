// How large a JSON document tsconvert reads or writes, per kind. Every document is read through a bounded
// reader that stops at its limit, and nothing is written that a later run would refuse (issue 17, F6: a
// 300 MB index.json took 1 GB of memory, and a manifest tsconvert wrote was one it then refused to read).
//
// - manifest, index: 4 MiB, what container registries commonly accept for a manifest (the distribution
//   registry refuses larger bodies); a larger one could not be pushed anyway.
// - config: 16 MiB. A config is an ordinary blob to a registry, with no such limit, and its history
//   grows with every build step; 16 MiB is far past any real image and still cheap to parse.
// - a layout's index.json: 16 MiB. It lists every image of the layout (~280 bytes each), so about 60 000
//   images. Reading one took 122 MB of RSS, and converting into one 222 MB, inside the 300 MB budget; at
//   32 MiB the second took 257 MB, too close to it.
// - a layout's oci-layout marker: 64 KiB; it holds one field.
// - a layout's reuse record (src/oci-layout/reuse-records.ts): 64 KiB; tsconvert writes well under 1 KiB.

import { malformed, TsconvertError } from '../errors.js';

export type JsonKind = 'manifest' | 'index' | 'config' | 'index.json' | 'oci-layout' | 'reuse record';

export const JSON_LIMITS: Readonly<Record<JsonKind, number>> = {
  manifest: 4 << 20,
  index: 4 << 20,
  config: 16 << 20,
  'index.json': 16 << 20,
  'oci-layout': 64 << 10,
  'reuse record': 64 << 10,
};

const PLURAL: Readonly<Record<JsonKind, string>> = {
  manifest: 'manifests',
  index: 'indexes',
  config: 'configs',
  'index.json': "a layout's index.json",
  'oci-layout': "a layout's oci-layout file",
  'reuse record': "a layout's reuse records",
};

/** "4 MiB", "64 KiB". */
export function formatLimit(bytes: number): string {
  return bytes >= 1 << 20 ? `${bytes / (1 << 20)} MiB` : `${bytes / (1 << 10)} KiB`;
}

const limitText = (kind: JsonKind): string =>
  `the ${formatLimit(JSON_LIMITS[kind])} limit for ${PLURAL[kind]}`;

/** The error for a document of `kind` read past its limit (`size` when known in advance). */
export function jsonTooLarge(kind: JsonKind, what: string, size?: number): TsconvertError {
  const is = size === undefined ? 'is larger than' : `is ${size} bytes, more than`;
  return malformed(`${what} ${is} ${limitText(kind)}`, {
    hint: 'tsconvert reads no larger document (limits in its README); the image is damaged or hostile',
  });
}

/** Refuses to write a document of `kind` that tsconvert itself would not read back. */
export function checkJsonWrite(kind: JsonKind, what: string, size: number, hint: string): void {
  if (size <= JSON_LIMITS[kind]) return;
  throw new TsconvertError(
    'FAILED_PRECONDITION',
    `${what} would be ${size} bytes, more than ${limitText(kind)}, so it was not written`,
    { hint },
  );
}
