// What a zstd:chunked layer cannot carry (docs/format.md#fallback-to-plain-zstd). The writer runs these
// checks as it scans; the first one that fails ends the attempt with ChunkedFallback, and the layer is
// written as plain (still lossless) zstd instead, with the reason reported.

import { posix } from 'node:path';
import type { TarMember, TarSummary } from '../../tar/index.js';
import { LayerFallback } from '../layer-format.js';
import { PathSet } from './path-set.js';

/** Zero bytes after the end-of-archive blocks beyond this are refused (their tar-split would be huge). */
const MAX_TRAILING_ZERO_BYTES = 64 * 1024 * 1024;

/** The layer cannot be zstd:chunked; the glue writes it as plain zstd. */
class ChunkedFallback extends LayerFallback {}

/** A name with an empty, `.` or `..` element or a leading or trailing slash: only these change. */
const UNCLEAN = /(^|\/)\.{1,2}(\/|$)|\/\/|^\/|\/$/;

/** Go's path.Clean("/" + name), the identity two readers use to tell entries apart. */
export function cleanPath(name: string): string {
  if (name !== '' && !UNCLEAN.test(name)) return `/${name}`;
  const n = posix.normalize(`/${name}`);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

export class LayerChecks {
  private readonly names = new PathSet();

  member(m: TarMember): void {
    const reason = unsupported(m);
    if (reason !== undefined) throw new ChunkedFallback(reason);
    const clean = cleanPath(m.name.text);
    if (this.names.has(clean))
      throw new ChunkedFallback(`two entries have the path ${JSON.stringify(clean)}`);
    if (m.type === 'hardlink' && !this.names.has(cleanPath(m.linkname.text))) {
      throw new ChunkedFallback(`hardlink ${JSON.stringify(m.name.text)} points at no earlier entry`);
    }
    this.names.add(clean);
  }

  trailer(bytesSoFar: number): void {
    if (bytesSoFar > MAX_TRAILING_ZERO_BYTES + 1024) {
      throw new ChunkedFallback(
        `more than ${MAX_TRAILING_ZERO_BYTES} bytes follow the end-of-archive blocks`,
      );
    }
  }

  summary(s: TarSummary): void {
    if (!s.trailerAllZeroBlocks)
      throw new ChunkedFallback('data follows the end-of-archive blocks (concatenated tars?)');
  }
}

/** Why the format cannot carry this member, or undefined; the entry's name is quoted only when refused. */
function unsupported(m: TarMember): string | undefined {
  const f = m.facts;
  if (f.globalHeader) return 'it has a PAX global header';
  if (f.sparse) return `${where(m)} is a GNU sparse file`;
  if (f.unknownType) return `${where(m)} has unsupported tar type ${JSON.stringify(m.rawTypeflag)}`;
  if (f.invalidUtf8) return `${where(m)} has a name, link name or xattr key that is not UTF-8`;
  if (f.timeOutOfRange) return `${where(m)} has a time outside the years 0000-9999`;
  return undefined;
}

const where = (m: TarMember): string => `entry ${JSON.stringify(m.name.text)}`;
