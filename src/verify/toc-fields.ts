// The metadata comparison containers/storage (1.55 and later) runs between a TOC entry and the header the
// tar-split describes (docs/format.md#toc-metadata-fields): type, name, link name, mode, size, uid, gid,
// the three times as instants (absent, Go's zero time and the Unix epoch all mean "none"), device numbers
// and xattrs. The expected values come from the writer's own entry builder applied to the scanned header,
// so a reader and the writer can never disagree on how a field is computed.

import { entryHead } from '../layers/zstdchunked/toc.js';
import type { TarMember } from '../tar/index.js';
import type { TocEntry } from './toc-doc.js';

const NUMBER_FIELDS = ['mode', 'size', 'uid', 'gid', 'devMajor', 'devMinor'] as const;
const TIME_FIELDS = ['modtime', 'accesstime', 'changetime'] as const;
const GO_ZERO_TIME_MS = -62_135_596_800_000;

/** An RFC 3339 time as (milliseconds, nanoseconds within the second) or undefined when "none". */
function instant(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i.exec(text);
  if (m === null) return `unparsable ${text}`;
  const ms = Date.parse(`${m[1] ?? ''}${m[3] ?? ''}`);
  const nsec = Number((m[2] ?? '').padEnd(9, '0').slice(0, 9) || '0');
  if (Number.isNaN(ms)) return `unparsable ${text}`;
  if ((ms === GO_ZERO_TIME_MS || ms === 0) && nsec === 0) return undefined;
  return `${ms / 1000}.${String(nsec).padStart(9, '0')}`;
}

function xattrText(x: Record<string, string> | undefined): string {
  const keys = Object.keys(x ?? {}).sort();
  return JSON.stringify(keys.map((k) => [k, x?.[k]]));
}

/** The fields of `entry` that differ from what the header says, as "field: TOC x, tar-split y". */
export function differingFields(entry: TocEntry, member: TarMember): string[] {
  const want = JSON.parse(`${entryHead(member)}}`) as TocEntry;
  const out: string[] = [];
  const show = (v: unknown): string => (v === undefined ? 'none' : JSON.stringify(v));
  if (entry.type !== want.type) out.push(`type: TOC ${show(entry.type)}, tar-split ${show(want.type)}`);
  if (entry.name !== want.name) out.push(`name: TOC ${show(entry.name)}, tar-split ${show(want.name)}`);
  if ((entry.linkName ?? '') !== (want.linkName ?? ''))
    out.push(`linkName: TOC ${show(entry.linkName)}, tar-split ${show(want.linkName)}`);
  for (const f of NUMBER_FIELDS) {
    if ((entry[f] ?? 0) !== (want[f] ?? 0))
      out.push(`${f}: TOC ${show(entry[f])}, tar-split ${show(want[f])}`);
  }
  for (const f of TIME_FIELDS) {
    if (instant(entry[f]) !== instant(want[f]))
      out.push(`${f}: TOC ${show(entry[f])}, tar-split ${show(want[f])}`);
  }
  if (xattrText(entry.xattrs) !== xattrText(want.xattrs))
    out.push(`xattrs: TOC ${xattrText(entry.xattrs)}, tar-split ${xattrText(want.xattrs)}`);
  return out;
}
