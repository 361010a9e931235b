// Which reader pulls a layer how (docs/format.md#which-reader-reads-which): stargz-snapshotter lazily,
// containers/storage 1.43 (Debian 12's podman 4.3) and 1.57 and later (podman 5.4 and later) partially,
// or in full — and why. A reader whose pull the layer's annotations promise but which will not happen
// is what makes `image verify` fail even when every byte is right.

import { TocAnnotation } from '../layers/zstdchunked/format.js';
import type { ChunkedMeta } from './chunked-meta.js';
import type { CheckName, Findings } from './findings.js';

export type PullMode = 'lazy' | 'partial' | 'full' | 'refused' | 'unchecked';

export interface ReaderVerdict {
  reader: string;
  pull: PullMode;
  why: string;
  /** The layer's annotations ask this reader for a lazy or partial pull. */
  promised: boolean;
}

export const STARGZ = 'stargz-snapshotter';
export const CSTORAGE_143 = 'containers/storage 1.43 (podman 4.3)';
export const CSTORAGE_NEW = 'containers/storage 1.57+ (podman 5.4+)';

/** Checks whose failure means the layer's bytes do not match what a reader is told to expect. */
const CONTENT: CheckName[] = [
  'blob-size',
  'blob-digest',
  'decompress',
  'tar',
  'diffid',
  'toc',
  'toc-entries',
  'file-digest',
  'chunk-digest',
  'chunk-offset',
];
const STARGZ_CHECKS: CheckName[] = [...CONTENT, 'footer', 'toc-digest', 'stargz-verifier'];
const CSTORAGE_CHECKS: CheckName[] = [...CONTENT, 'manifest-checksum', 'manifest-position', 'toc-size'];
const TAR_SPLIT_CHECKS: CheckName[] = [
  'tarsplit-position',
  'tar-split-digest',
  'tar-split',
  'toc-vs-tar-split',
  'rebuilt-diffid',
];

function firstFailed(findings: Findings, checks: CheckName[]): CheckName | undefined {
  return checks.find((c) => findings.has(c));
}

export interface LayerFacts {
  annotations: Record<string, string>;
  /** undefined: not zstd:chunked. */
  meta: ChunkedMeta | undefined;
  estargz: boolean;
  escapedName: string | undefined;
}

function stargz(f: LayerFacts, findings: Findings): ReaderVerdict {
  const promised = f.annotations[TocAnnotation.stargzTocDigest] !== undefined;
  const v = (pull: PullMode, why: string): ReaderVerdict => ({ reader: STARGZ, pull, why, promised });
  if (f.estargz) return v('unchecked', 'eStargz (gzip) TOC: tsconvert does not check it');
  if (f.meta === undefined) return v('full', 'no TOC');
  if (!promised) return v('full', `no ${TocAnnotation.stargzTocDigest} annotation`);
  if (f.meta.cstorageFooter)
    return v('full', "its footer is containers/storage's 64-byte one, which it cannot read");
  const failed = firstFailed(findings, STARGZ_CHECKS);
  if (failed !== undefined || !f.meta.stargzOk) return v('full', `check ${failed ?? 'footer'} failed`);
  return v('lazy', 'footer, TOC digest and chunk digests check out');
}

function cstorage143(f: LayerFacts, findings: Findings): ReaderVerdict {
  const promised = f.annotations[TocAnnotation.legacyChecksum] !== undefined;
  const v = (pull: PullMode, why: string): ReaderVerdict => ({ reader: CSTORAGE_143, pull, why, promised });
  if (f.meta === undefined || !promised) return v('full', `no ${TocAnnotation.legacyChecksum} annotation`);
  const failed = firstFailed(findings, CSTORAGE_CHECKS);
  if (failed !== undefined || !f.meta.legacyKeysOk) return v('full', `check ${failed ?? 'toc'} failed`);
  if (f.escapedName !== undefined) {
    return v(
      'partial',
      `but its TOC parser stops at ${JSON.stringify(f.escapedName)} (a name with ", \\ or a control character)`,
    );
  }
  return v('partial', 'io.containers.zstd-chunked.* keys');
}

function cstorageNew(f: LayerFacts, findings: Findings): ReaderVerdict {
  const a = f.annotations;
  const hasNew = a[TocAnnotation.checksum] !== undefined;
  const hasTarSplit = f.meta?.tarSplit !== undefined || a[TocAnnotation.tarSplitPosition] !== undefined;
  const promised = hasNew && (hasTarSplit || f.meta?.toc?.tarSplitDigest !== undefined);
  const v = (pull: PullMode, why: string): ReaderVerdict => ({ reader: CSTORAGE_NEW, pull, why, promised });
  if (hasNew && a[TocAnnotation.stargzTocDigest] !== undefined)
    return v('refused', 'both zstd:chunked and eStargz TOC annotations: the pull fails');
  if (!hasNew) {
    // The eStargz path: a full pull from 1.57 on; 1.53–1.55 (podman 5.0–5.2) fail it with partial pulls on.
    if (a[TocAnnotation.stargzTocDigest] !== undefined)
      return v('full', 'only the eStargz TOC key; 1.53–1.55 with partial pulls on fail the pull');
    if (a[TocAnnotation.legacyChecksum] !== undefined)
      return v('full', 'only the old io.containers.* keys, which 1.44 and later ignore');
    return v('full', 'no TOC annotations');
  }
  const failed = firstFailed(findings, [...CSTORAGE_CHECKS, ...TAR_SPLIT_CHECKS]);
  if (failed !== undefined || f.meta?.newKeysOk !== true) return v('full', `check ${failed ?? 'toc'} failed`);
  if (!hasTarSplit) return v('full', 'no tar-split: partial pulls need one from 1.57 on');
  return v('partial', 'TOC and tar-split check out');
}

export function readerVerdicts(f: LayerFacts, findings: Findings): ReaderVerdict[] {
  return [stargz(f, findings), cstorage143(f, findings), cstorageNew(f, findings)];
}

/** A promised lazy or partial pull that will not happen. */
export function brokenPromise(r: ReaderVerdict): boolean {
  return r.promised && r.pull !== 'lazy' && r.pull !== 'partial';
}
