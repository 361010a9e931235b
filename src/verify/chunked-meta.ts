// The metadata of a zstd:chunked layer, read by range the way each reader family finds it
// (docs/format.md#annotations, #footer): containers/storage through the manifest-checksum and
// manifest-position annotations (either prefix), stargz-snapshotter through the legacy footer and the
// toc.digest annotation; and the tar-split through its position annotation or, when only the TOC names
// it, as the skippable frame right after the TOC.

import { isErrorCode } from '../errors.js';
import { TocAnnotation } from '../layers/zstdchunked/format.js';
import {
  CSTORAGE_FOOTER_MAGIC,
  CSTORAGE_FOOTER_SIZE,
  FOOTER_SIZE,
  parseFooter,
  type Footer,
} from '../layers/zstdchunked/metadata.js';
import type { Descriptor } from '../oci/types.js';
import type { ContentStore } from '../store/content-store.js';
import { SKIPPABLE_HEADER_SIZE } from '../zstd/frame-compressor.js';
import { skippablePayloadLength } from '../zstd/frame-decoder.js';
import type { Findings } from './findings.js';
import { MAX_TOC_SIZE, readBlobRange, readToc, type Toc } from './toc-doc.js';

export interface Position {
  offset: number;
  length: number;
  uncompressedLength: number;
}

export interface ChunkedMeta {
  /** The TOC containers/storage reads (new keys, else the old ones), when it checked out. */
  toc: Toc | undefined;
  /** Which checksum keys led to a TOC that matched them. */
  newKeysOk: boolean;
  legacyKeysOk: boolean;
  footer: Footer | undefined;
  /** The footer is containers/storage's 64-byte one, which stargz-snapshotter cannot read. */
  cstorageFooter: boolean;
  /** The stargz view (footer → TOC → toc.digest) checked out. */
  stargzOk: boolean;
  tarSplit: Position | undefined;
}

function parsePosition(text: string, fields: number): Position | undefined {
  const parts = text.split(':');
  if (parts.length !== fields || parts.some((p) => !/^\d+$/.test(p))) return undefined;
  const [offset, length, uncompressedLength, type] = parts.map(Number);
  if (fields === 4 && type !== 1) return undefined;
  return { offset: offset ?? 0, length: length ?? 0, uncompressedLength: uncompressedLength ?? 0 };
}

interface Ctx {
  store: ContentStore;
  desc: Descriptor;
  signal: AbortSignal;
  findings: Findings;
}

/** The payload length of the skippable frame whose payload starts at `offset`, if one does. */
async function skippableAt(c: Ctx, offset: number): Promise<number | undefined> {
  if (offset < SKIPPABLE_HEADER_SIZE || offset > c.desc.size) return undefined;
  const start = offset - SKIPPABLE_HEADER_SIZE;
  return skippablePayloadLength(await readBlobRange(c.store, c.desc, start, SKIPPABLE_HEADER_SIZE, c.signal));
}

/** Checks that a skippable frame of `length` payload bytes starts 8 bytes before `offset`. */
async function frameAt(c: Ctx, offset: number, length: number): Promise<boolean> {
  if (offset + length > c.desc.size) return false;
  return (await skippableAt(c, offset)) === length;
}

/** containers/storage's view through one pair of checksum/position keys; the TOC when it matches. */
async function containersToc(c: Ctx, checksumKey: string, positionKey: string): Promise<Toc | undefined> {
  const ann = c.desc.annotations ?? {};
  const checksum = ann[checksumKey];
  if (checksum === undefined) return undefined;
  const text = ann[positionKey];
  const pos = text === undefined ? undefined : parsePosition(text, 4);
  if (pos === undefined) {
    c.findings.fail(
      'manifest-position',
      `${positionKey} is ${JSON.stringify(text)}, not offset:length:size:1`,
    );
    return undefined;
  }
  if (pos.length > MAX_TOC_SIZE || pos.uncompressedLength > MAX_TOC_SIZE) {
    c.findings.fail('toc-size', `the TOC is larger than containers/storage's limit of ${MAX_TOC_SIZE} bytes`);
    return undefined;
  }
  if (!(await frameAt(c, pos.offset, pos.length))) {
    c.findings.fail(
      'manifest-position',
      `${positionKey} ${text} does not point at a skippable frame's payload`,
    );
    return undefined;
  }
  const toc = await readTocOrFail(c, pos.offset, pos.length);
  if (toc === undefined) return undefined;
  if (toc.checksum !== checksum) {
    c.findings.fail(
      'manifest-checksum',
      `${checksumKey} is ${checksum}, the TOC at ${pos.offset} hashes to ${toc.checksum}`,
    );
    return undefined;
  }
  return toc;
}

async function readTocOrFail(c: Ctx, offset: number, length: number): Promise<Toc | undefined> {
  try {
    const toc = await readToc(c.store, c.desc, offset, length, c.signal);
    if (toc.version !== 1) c.findings.fail('toc', `TOC version is ${JSON.stringify(toc.version)}, not 1`);
    return toc;
  } catch (err) {
    // Only a TOC that does not parse is a finding; a store that cannot be read ends the run.
    if (!isErrorCode(err, 'MALFORMED')) throw err;
    c.findings.fail('toc', err.message);
    return undefined;
  }
}

async function readFooter(c: Ctx): Promise<{ footer?: Footer; cstorage: boolean }> {
  const tail = SKIPPABLE_HEADER_SIZE + FOOTER_SIZE;
  if (c.desc.size >= tail) {
    const bytes = await readBlobRange(c.store, c.desc, c.desc.size - tail, tail, c.signal);
    const footer =
      skippablePayloadLength(bytes.subarray(0, 8)) === FOOTER_SIZE
        ? parseFooter(bytes.subarray(8))
        : undefined;
    if (footer !== undefined) return { footer, cstorage: false };
  }
  const long = SKIPPABLE_HEADER_SIZE + CSTORAGE_FOOTER_SIZE;
  if (c.desc.size < long) return { cstorage: false };
  const bytes = await readBlobRange(c.store, c.desc, c.desc.size - long, long, c.signal);
  return { cstorage: bytes.subarray(long - 8).equals(CSTORAGE_FOOTER_MAGIC) };
}

/** stargz-snapshotter's view: the footer leads to a TOC whose JSON hashes to the toc.digest annotation. */
async function stargzView(
  c: Ctx,
  footer: Footer | undefined,
  known: Toc | undefined,
): Promise<Toc | undefined> {
  const want = c.desc.annotations?.[TocAnnotation.stargzTocDigest];
  if (want === undefined || footer === undefined) return undefined;
  if (!(await frameAt(c, footer.tocOffset, footer.tocLength))) {
    c.findings.fail(
      'footer',
      `the footer's TOC offset ${footer.tocOffset} is not a skippable frame's payload`,
    );
    return undefined;
  }
  const toc =
    known !== undefined && known.offset === footer.tocOffset
      ? known
      : await readTocOrFail(c, footer.tocOffset, footer.tocLength);
  if (toc === undefined) return undefined;
  if (toc.digest !== want) {
    c.findings.fail(
      'toc-digest',
      `${TocAnnotation.stargzTocDigest} is ${want}, the footer's TOC hashes to ${toc.digest}`,
    );
    return undefined;
  }
  if (known !== undefined && known.offset !== footer.tocOffset)
    c.findings.fail(
      'footer',
      `the footer points at ${footer.tocOffset}, manifest-position at ${known.offset}`,
    );
  return toc;
}

/** Where the tar-split is, if the layer has one. */
async function tarSplitPosition(c: Ctx, toc: Toc | undefined): Promise<Position | undefined> {
  const text = c.desc.annotations?.[TocAnnotation.tarSplitPosition];
  const newKeys = c.desc.annotations?.[TocAnnotation.checksum] !== undefined;
  if (text !== undefined) {
    const pos = parsePosition(text, 3);
    if (pos === undefined || !(await frameAt(c, pos.offset, pos.length))) {
      c.findings.fail(
        'tarsplit-position',
        `${TocAnnotation.tarSplitPosition} ${text} is not a skippable frame`,
      );
      return undefined;
    }
    return pos;
  }
  if (toc?.tarSplitDigest === undefined) return undefined;
  if (newKeys) {
    // containers/storage: "TOC requires a tar-split, but the … annotation does not describe a position".
    c.findings.fail(
      'tarsplit-position',
      `the TOC names a tar-split but ${TocAnnotation.tarSplitPosition} is missing`,
    );
    return undefined;
  }
  const offset = toc.offset + toc.length + SKIPPABLE_HEADER_SIZE;
  const length = await skippableAt(c, offset);
  return length === undefined ? undefined : { offset, length, uncompressedLength: 0 };
}

export async function readChunkedMeta(c: Ctx): Promise<ChunkedMeta> {
  const newToc = await containersToc(c, TocAnnotation.checksum, TocAnnotation.position);
  const legacyToc = await containersToc(c, TocAnnotation.legacyChecksum, TocAnnotation.legacyPosition);
  const { footer, cstorage } = await readFooter(c);
  const stargzToc = await stargzView(c, footer, newToc ?? legacyToc);
  const toc = newToc ?? legacyToc ?? stargzToc;
  return {
    toc,
    newKeysOk: newToc !== undefined,
    legacyKeysOk: legacyToc !== undefined,
    footer,
    cstorageFooter: cstorage,
    stargzOk: stargzToc !== undefined,
    tarSplit: await tarSplitPosition(c, toc),
  };
}
