// Entries a known reader loses from a correct zstd:chunked blob (docs/format.md#readers-that-lose-entries).
// containers/storage 1.43 (Debian 12's podman 4.3 and skopeo 1.9) reads TOC names with a JSON call that
// gives up on any escape sequence, and then silently drops that entry and every one after it, so a partial
// pull succeeds with files missing. The writer reports the first such name once per layer; `image verify`
// uses the same test for its note.

import type { TarMember } from '../../tar/index.js';

/** JSON writes these as escape sequences in a string: `"`, `\` and the control characters. */
function escapedInJson(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) return true;
  }
  return false;
}

export const LOSES_ENTRIES_AFTER_ESCAPED_NAME = 'containers/storage 1.43 (podman 4.3, skopeo 1.9)';

/** True when the 1.43 TOC parser stops at this member (its name or link name needs a JSON escape). */
export function stopsOldTocParser(m: TarMember): boolean {
  return escapedInJson(m.name.text) || escapedInJson(m.linkname.text);
}

/** The one warning line for a layer whose member `name` stops the 1.43 TOC parser. */
export function escapedNameWarning(name: string): string {
  return (
    `entry ${JSON.stringify(name)} has a ", \\ or control character in its name or link name: ` +
    `partial pulls by ${LOSES_ENTRIES_AFTER_ESCAPED_NAME} drop it and every entry after it without an error`
  );
}
