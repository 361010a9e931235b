// Every check of one layer, in the order a reader meets them: the blob is there with its descriptor's
// size; for zstd:chunked, the metadata each reader family finds by range (chunked-meta.ts); then one
// sequential pass over the blob (layer-pass.ts); then the digests that pass produced against the
// descriptor, the config's DiffID, the content label and the annotations. The verdict says which reader
// pulls the layer how, and why.

import { isErrorCode, throwIfAborted } from '../errors.js';
import { TocAnnotation } from '../layers/zstdchunked/format.js';
import { layerCompression } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import { UNCOMPRESSED_LABEL, type ContentStore, type Labels } from '../store/content-store.js';
import { DigestCounter } from '../stream/digest-tap.js';
import { readChunkedMeta, type ChunkedMeta } from './chunked-meta.js';
import { Findings, type Failure } from './findings.js';
import { layerPass, type PassResult } from './layer-pass.js';
import { brokenPromise, readerVerdicts, type ReaderVerdict } from './readers.js';
import { TarSplitCheck } from './tar-split-check.js';
import { TarSplitReader } from './tar-split-lines.js';
import type { Toc } from './toc-doc.js';
import { StageError, taggedStep, unwrapStoreError } from './stages.js';

export interface LayerVerdict {
  /** 0-based position in its manifest. */
  index: number;
  digest: string;
  mediaType: string;
  size: number;
  /** "zstd:chunked", "zstd", "gzip", "estargz", "uncompressed". */
  format: string;
  diffId: string | undefined;
  failures: Failure[];
  warnings: string[];
  readers: ReaderVerdict[];
  ok: boolean;
}

const TOC_KEYS = Object.values(TocAnnotation) as string[];

function formatOf(desc: Descriptor): string {
  const compression = layerCompression(desc.mediaType);
  const keys = Object.keys(desc.annotations ?? {});
  if (compression === 'zstd' && keys.some((k) => TOC_KEYS.includes(k))) return 'zstd:chunked';
  if (compression === 'gzip' && keys.includes(TocAnnotation.stargzTocDigest)) return 'estargz';
  return compression === 'none' ? 'uncompressed' : compression;
}

async function blobInfo(store: ContentStore, desc: Descriptor, findings: Findings, signal: AbortSignal) {
  try {
    const info = await store.info(desc.digest, { signal });
    if (info.size !== desc.size) {
      findings.fail('blob-size', `the blob has ${info.size} bytes, its descriptor says ${desc.size}`);
      return undefined;
    }
    return info;
  } catch (err) {
    if (!isErrorCode(err, 'NOT_FOUND')) throw err;
    findings.fail('blob-present', 'the blob is not in the store');
    return undefined;
  }
}

async function blobDigest(store: ContentStore, desc: Descriptor, signal: AbortSignal): Promise<string> {
  const counter = new DigestCounter();
  for await (const chunk of store.read(desc.digest, { signal })) counter.update(chunk);
  return counter.digest();
}

/** stargz-snapshotter's `Verifiers()`: unique offsets, and a chunk digest for every chunk. */
function stargzVerifier(toc: Toc, findings: Findings): void {
  const { duplicateOffsets, noDigest, digestOnly, chunkEntries } = toc.stargz;
  for (const message of duplicateOffsets) findings.fail('stargz-verifier', message);
  for (const name of chunkEntries ? [...noDigest, ...digestOnly] : noDigest)
    findings.fail('stargz-verifier', `"${name}" has a chunk without chunkDigest`);
}

function afterPass(
  pass: PassResult,
  desc: Descriptor,
  labels: Labels,
  expectedDiffId: string | undefined,
  findings: Findings,
): void {
  if (pass.blobDigest !== desc.digest)
    findings.fail('blob-digest', `the blob hashes to ${pass.blobDigest}, its descriptor says ${desc.digest}`);
  if (expectedDiffId === undefined) findings.fail('diffid', 'the config lists no DiffID for this layer');
  else if (pass.diffId !== expectedDiffId)
    findings.fail('diffid', `the tar hashes to ${pass.diffId}, the config's DiffID is ${expectedDiffId}`);
  const label = labels[UNCOMPRESSED_LABEL];
  if (label !== undefined && label !== pass.diffId)
    findings.fail(
      'uncompressed-label',
      `${UNCOMPRESSED_LABEL} is ${label}, the tar hashes to ${pass.diffId}`,
    );
  const size = desc.annotations?.[TocAnnotation.estargzUncompressedSize];
  if (size !== undefined && size !== String(pass.tarSize))
    findings.fail(
      'uncompressed-size',
      `${TocAnnotation.estargzUncompressedSize} is ${size}, the tar has ${pass.tarSize} bytes`,
    );
  if (pass.rebuiltDiffId !== undefined && pass.rebuiltDiffId !== expectedDiffId)
    findings.fail('rebuilt-diffid', `the tar rebuilt from the tar-split hashes to ${pass.rebuiltDiffId}`);
}

export async function verifyLayer(
  store: ContentStore,
  desc: Descriptor,
  index: number,
  expectedDiffId: string | undefined,
  signal: AbortSignal,
): Promise<LayerVerdict> {
  const findings = new Findings();
  const format = formatOf(desc);
  const annotations = desc.annotations ?? {};
  if (
    annotations[TocAnnotation.stargzTocDigest] !== undefined &&
    annotations[TocAnnotation.checksum] !== undefined
  ) {
    findings.fail(
      'annotation-families',
      `carries both ${TocAnnotation.stargzTocDigest} and ${TocAnnotation.checksum}`,
    );
  }
  let meta: ChunkedMeta | undefined;
  let pass: PassResult | undefined;
  const info = await blobInfo(store, desc, findings, signal);
  if (info !== undefined) {
    if (format === 'zstd:chunked') meta = await readChunkedMeta({ store, desc, signal, findings });
    pass = await runPass(store, desc, meta, findings, signal);
    if (pass !== undefined) afterPass(pass, desc, info.labels, expectedDiffId, findings);
    else if ((await blobDigest(store, desc, signal)) !== desc.digest)
      findings.fail('blob-digest', `the blob does not hash to its descriptor's digest ${desc.digest}`);
    if (meta?.toc !== undefined && annotations[TocAnnotation.stargzTocDigest] !== undefined)
      stargzVerifier(meta.toc, findings);
  }
  // A read cut short by Ctrl-C looks like a broken blob to the checks above: it is not one.
  throwIfAborted(signal);
  const facts = { annotations, meta, estargz: format === 'estargz', escapedName: pass?.escapedName };
  const readers = readerVerdicts(facts, findings);
  if (pass?.escapedName !== undefined && annotations[TocAnnotation.legacyChecksum] !== undefined)
    findings.warn(`containers/storage 1.43 stops reading the TOC at ${JSON.stringify(pass.escapedName)}`);
  if (pass !== undefined && pass.fifos > 0)
    findings.warn(`${pass.fifos} fifo entr${pass.fifos === 1 ? 'y' : 'ies'}`);
  return {
    index,
    digest: desc.digest,
    mediaType: desc.mediaType,
    size: desc.size,
    format,
    diffId: pass?.diffId,
    failures: findings.failures,
    warnings: findings.warnings,
    readers,
    ok: findings.failures.length === 0 && !readers.some(brokenPromise),
  };
}

async function runPass(
  store: ContentStore,
  desc: Descriptor,
  meta: ChunkedMeta | undefined,
  findings: Findings,
  signal: AbortSignal,
): Promise<PassResult | undefined> {
  const toc = meta?.toc;
  const at = meta?.tarSplit;
  const reader =
    toc !== undefined && at !== undefined
      ? new TarSplitReader(store, desc, at.offset, at.length, signal)
      : undefined;
  try {
    const tarSplit = reader === undefined ? undefined : new TarSplitCheck(reader, findings);
    const pass = await layerPass({ store, desc, signal, toc, tarSplit }, findings);
    if (pass !== undefined && reader !== undefined) {
      const { digest } = await taggedStep('tar-split', () => reader.finish());
      if (digest !== toc?.tarSplitDigest) {
        findings.fail(
          'tar-split-digest',
          `the tar-split frame hashes to ${digest}, the TOC says ${toc?.tarSplitDigest ?? 'nothing'}`,
        );
      }
    }
    return pass;
  } catch (err) {
    if (!(err instanceof StageError)) throw unwrapStoreError(err);
    findings.fail(err.check, err.message);
    return undefined;
  } finally {
    await reader?.close();
  }
}
