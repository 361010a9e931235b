// The glue between stores and a layer format: read the source blob, check its digest, decompress whatever
// it is, hash the tar (DiffID), run the format's encoder, and commit the result under the run's lease with
// the source blob's labels, then record it for reuse. One flight per source digest: duplicates share it, and
// its ingest is removed once, after the last waiter, if it was never committed. A layer an earlier run
// converted with the same options is reused instead (the one decision point is in convertLayer).

import { InvalidDataError, TsconvertError } from '../errors.js';
import { LayerFallback, type LayerFormat, type Scratch } from '../layers/layer-format.js';
import { shortDigest, type Digest } from '../oci/digest.js';
import {
  isNondistributable,
  type Compression,
  layerCompression,
  ociLayerType,
  uncompressedLayerType,
} from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import { copyPieces, decode, sniff, type Sniffed } from '../stream/decompress.js';
import { ByteCounter, checkContent, tapInto, verifyInto, type StreamDigest } from '../stream/digest-tap.js';
import { openDigest } from '../stream/digest-worker.js';
import {
  adoptExisting,
  blobDataError,
  ensureCopied,
  LAYER_STREAM_BYTES,
  openIngest,
  streamInto,
  type Ingest,
} from './blobs.js';
import type { ConvertContext } from './context.js';
import { contentCompression, labelMismatch } from './layer-label.js';
import { flightScratch } from './scratch.js';
import { findReusable, labelsForResult, recordResult, reuseKey } from './reuse.js';
import type { Flight } from './single-flight.js';
import { UNCOMPRESSED_LABEL } from '../store/content-store.js';

/** Layer annotations that describe the old blob's bytes and would be wrong on a re-encoded one. */
const STALE_ANNOTATIONS = [
  'containerd.io/snapshot/stargz/toc.digest',
  'io.containers.estargz.uncompressed-size',
  'io.containers.zstd-chunked.manifest-checksum',
  'io.containers.zstd-chunked.manifest-position',
  'io.github.containers.zstd-chunked.manifest-checksum',
  'io.github.containers.zstd-chunked.manifest-position',
  'io.github.containers.zstd-chunked.tarsplit-position',
];

/** Returns the descriptor the manifest should list for this layer (the input when it is kept). */
export async function convertLayer(
  ctx: ConvertContext,
  desc: Descriptor,
  expectedDiffId?: string,
): Promise<Descriptor> {
  const format = ctx.options.layerFormat;
  let declared = layerCompression(desc.mediaType);
  let reason = format === undefined ? 'no layer format requested' : format.skipReason(declared);
  if (format !== undefined && reason !== undefined) {
    // A layer kept for its label must really be what the label says (a gzip blob labelled tar is not).
    declared = await contentCompression(ctx, desc);
    reason = format.skipReason(declared);
  }
  if (format === undefined || reason !== undefined) {
    await ensureCopied(ctx, desc);
    ctx.progress.finish(desc.digest, 'kept', { result: desc.digest, reason });
    if (!ctx.reports.has(desc.digest)) {
      ctx.reports.set(desc.digest, {
        source: desc.digest,
        result: desc.digest,
        mediaType: desc.mediaType,
        format: declared === 'none' ? 'uncompressed' : declared,
        outcome: 'unchanged',
        reason,
      });
    }
    return desc;
  }
  return ctx.layers.join(desc.digest, async (flight) => {
    const reusable = await findReusable(ctx, desc, format, expectedDiffId);
    if (reusable === undefined) return encodeLayer(ctx, flight, desc, format, expectedDiffId);
    const { record } = reusable;
    // The same word a fresh conversion gives about readers that lose data from this layer.
    warnAboutReaders(ctx, desc, record.warnings ?? []);
    ctx.progress.finish(desc.digest, 'reused', {
      result: record.result,
      ...(record.reason === undefined ? {} : { reason: record.reason }),
    });
    ctx.logger.debug(
      { layer: desc.digest, result: record.result },
      `layer ${shortDigest(desc.digest)} reused`,
    );
    return finishLayer(ctx, desc, {
      format: reusable.format,
      result: { digest: record.result, size: record.size },
      annotations: record.annotations,
      reason: record.reason,
      reused: true,
    });
  });
}

function newLayerType(format: LayerFormat, source: Descriptor, oci: boolean): string {
  if (format.compression === 'none') return uncompressedLayerType(source.mediaType, oci);
  return ociLayerType(format.compression, isNondistributable(source.mediaType));
}

interface Attempt {
  format: LayerFormat;
  diffId: string;
  /** Bytes of the encoded blob; its digest comes from the store, which hashes what it is sent anyway. */
  outSize: number;
  annotations: Record<string, string>;
  /** The format's warnings about readers that lose data from this (correct) layer. */
  warnings: string[];
  /** Why the requested format was not used. */
  reason?: string;
  /** How the media type's compression differs from the content's ('' when it does not). */
  mislabel: string;
}

/** Where one layer's encoding goes: its ingest, and the flight's scratch space for what it must hold. */
interface LayerTarget {
  ingest: Ingest;
  scratch: Scratch;
}

interface DecodePass {
  tar: AsyncIterable<Uint8Array>;
  /** The tar's pieces are views of memory reused once the next is asked for. */
  reused: boolean;
  source: StreamDigest;
  diff: StreamDigest;
}

/**
 * The source blob's tar, with its source digest and DiffID. gzip is decoded on the digest thread when the
 * run has one (offloaded-gunzip.ts); otherwise here, with the two hashes on that thread when there is one.
 */
function decodePass(ctx: ConvertContext, desc: Descriptor, sniffed: Sniffed): DecodePass {
  const digests = ctx.options.digests;
  if (digests !== undefined && sniffed.compression === 'gzip') {
    const pass = digests.gunzip(sniffed.stream, desc, ctx.signal);
    return { tar: pass.tar(), reused: true, source: pass.source, diff: pass.diff };
  }
  const source = openDigest(digests);
  const diff = openDigest(digests);
  const tar = decode(verifyInto(source, desc)(sniffed.stream), sniffed.compression);
  // A plain tar is the source's own pieces, which a file-backed store reuses.
  return { tar: tapInto(diff)(tar), reused: sniffed.compression === 'none', source, diff };
}

/** One pass over the source blob through `format` into the ingest; checks the source digest and DiffID. */
async function runFormat(
  ctx: ConvertContext,
  desc: Descriptor,
  format: LayerFormat,
  target: LayerTarget,
  expectedDiffId: string | undefined,
): Promise<Attempt> {
  const out = new ByteCounter();
  let source: StreamDigest | undefined;
  let diff: StreamDigest | undefined;
  let annotations: Record<string, string>;
  let warnings: string[];
  let compression: Compression;
  try {
    // Every step up to the decoder is done with a piece when it asks for the next (the digests copy or
    // hash it at once), so a file-backed store may read each into memory it reuses.
    const read = ctx.src.content.read(desc.digest, { signal: ctx.signal, reusesChunks: true });
    const sniffed = await sniff(read);
    compression = sniffed.compression;
    const pass = decodePass(ctx, desc, sniffed);
    ({ source, diff } = pass);
    ctx.progress.attach(desc.digest, source, out);
    // A format that keeps views of the tar past a piece gets copies of memory the pass reuses.
    const tar = format.borrowsTar === true || !pass.reused ? pass.tar : copyPieces(pass.tar);
    const encoded = format.encode(tar, target.scratch);
    await streamInto(ctx, tapInto(out)(encoded.output), target.ingest.writer);
    await source.finish();
    checkContent(source, desc);
    annotations = encoded.annotations();
    warnings = encoded.warnings?.() ?? [];
    await diff.finish();
  } catch (err) {
    source?.drop?.();
    diff?.drop?.();
    // Only errors typed at their source (tar scanner, decoder, digest check) say the layer is bad.
    throw err instanceof InvalidDataError ? blobDataError(ctx, 'layer', desc, err) : err;
  }
  const diffId = diff.digest();
  const mislabel = labelMismatch(desc, compression);
  if (expectedDiffId !== undefined && diffId !== expectedDiffId) {
    throw new TsconvertError(
      'FAILED_PRECONDITION',
      `layer ${desc.digest}${mislabel === '' ? '' : ` (${mislabel})`} decompresses to ${diffId}, but the image config says ${expectedDiffId}`,
      {
        // Its bytes matched their digest, so a fresh copy would be the same: only a rebuild fixes it.
        hint: 'the image is inconsistent (its config does not describe its layers); rebuild it',
      },
    );
  }
  return { format, diffId, outSize: out.size, annotations, warnings, mislabel };
}

/** Runs the format, and its fallback (reporting why) when the layer is one the format cannot carry. */
async function runWithFallback(
  ctx: ConvertContext,
  desc: Descriptor,
  format: LayerFormat,
  target: LayerTarget,
  expectedDiffId: string | undefined,
): Promise<Attempt> {
  try {
    return await runFormat(ctx, desc, format, target, expectedDiffId);
  } catch (err) {
    if (!(err instanceof LayerFallback) || format.fallback === undefined) throw err;
    ctx.logger.warn(
      { layer: desc.digest },
      `layer ${desc.digest} written as ${format.fallback.resultLabel}, not ${format.resultLabel}: ${err.reason}`,
    );
    await target.ingest.writer.truncate();
    // The job paid for the format's start, not the fallback's: the rare rest is counted without waiting.
    const extra = Math.max(0, (format.fallback.startMemory ?? 0) - (format.startMemory ?? 0));
    ctx.options.budget?.overdraw(extra);
    try {
      return {
        ...(await runFormat(ctx, desc, format.fallback, target, expectedDiffId)),
        reason: `not ${format.resultLabel}: ${err.reason}`,
      };
    } finally {
      ctx.options.budget?.release(extra);
    }
  }
}

async function encodeLayer(
  ctx: ConvertContext,
  flight: Flight,
  desc: Descriptor,
  format: LayerFormat,
  expectedDiffId: string | undefined,
): Promise<Descriptor> {
  // Only the encoding holds a job slot. The commit is the store's work (containerd reads the whole blob
  // back through sha256 before it answers), so the next layer starts meanwhile instead of a core idling.
  const { info, ingest, done } = await ctx.limit(async () => {
    const info = await ctx.src.content.info(desc.digest, { signal: ctx.signal });
    const ref = `tsconvert-${format.name}-from-${desc.digest}`;
    const ingest = await openIngest(ctx, flight, ref);
    if (ingest === undefined) throw new TsconvertError('INTERNAL', `no ingest opened for ${ref}`);
    ctx.logger.debug({ layer: desc.digest, ref }, 'converting layer');
    const target = { ingest, scratch: flightScratch(flight) };
    // The job's streams and the format's start draw from the run's memory budget in one go, before any
    // work: past the budget this layer waits, holding nothing, for others to end.
    const budget = ctx.options.budget;
    const memory = LAYER_STREAM_BYTES + (format.startMemory ?? 0);
    await budget?.acquire(memory, ctx.signal);
    ctx.progress.start(desc.digest);
    try {
      return { info, ingest, done: await runWithFallback(ctx, desc, format, target, expectedDiffId) };
    } finally {
      budget?.release(memory);
    }
  });
  if (done.mislabel !== '')
    ctx.logger.warn(
      { layer: desc.digest },
      `layer ${desc.digest} is ${done.mislabel}; converted by its content`,
    );
  warnAboutReaders(ctx, desc, done.warnings);
  const labels = labelsForResult(info.labels);
  if (done.format.compression === 'none') delete labels[UNCOMPRESSED_LABEL];
  else labels[UNCOMPRESSED_LABEL] = done.diffId;
  // No expected digest: both stores hash what they are sent and report it, so hashing the output here as
  // well would be a third sha256 pass on the main thread. The size check still catches a short write.
  const out = await ingest.commit({ size: done.outSize, labels });
  if (out.existed) await adoptExisting(ctx, out.digest, labels);
  await recordResult(ctx, {
    ...reuseKey(desc, format),
    result: out.digest,
    size: out.size,
    diffId: done.diffId as Digest,
    format: done.format.name,
    annotations: done.annotations,
    ...(done.reason === undefined ? {} : { reason: done.reason }),
    ...(done.warnings.length === 0 ? {} : { warnings: done.warnings }),
  });
  ctx.progress.finish(desc.digest, 'done', {
    result: out.digest,
    ...(done.reason === undefined ? {} : { reason: done.reason }),
  });
  ctx.logger.debug(
    { layer: desc.digest, result: out.digest, size: out.size },
    `layer ${shortDigest(desc.digest)} converted`,
  );
  return finishLayer(ctx, desc, {
    format: done.format,
    result: out,
    annotations: done.annotations,
    reason: done.reason,
    reused: false,
  });
}

/** The format's warnings about readers that lose data from this (correct) layer. */
function warnAboutReaders(ctx: ConvertContext, desc: Descriptor, warnings: readonly string[]): void {
  for (const warning of warnings) ctx.logger.warn({ layer: desc.digest }, `layer ${desc.digest}: ${warning}`);
}

/** What a layer came to, converted now or reused from an earlier run. */
interface LayerResult {
  /** The format that wrote the result (the requested one or its fallback). */
  format: LayerFormat;
  result: { digest: Digest; size: number };
  /** The format's annotations for the result. */
  annotations: Record<string, string>;
  reason: string | undefined;
  reused: boolean;
}

/** Reports the layer and returns its new descriptor: the same for a reused result as for a fresh one. */
function finishLayer(ctx: ConvertContext, desc: Descriptor, done: LayerResult): Descriptor {
  const annotations = { ...desc.annotations, ...done.annotations };
  for (const key of STALE_ANNOTATIONS) if (!(key in done.annotations)) delete annotations[key];
  const mediaType = newLayerType(done.format, desc, ctx.options.oci);
  ctx.reports.set(desc.digest, {
    source: desc.digest,
    result: done.result.digest,
    mediaType,
    format: done.format.resultLabel,
    outcome: 'converted',
    ...(done.reused ? { reused: true } : {}),
    ...(done.reason === undefined ? {} : { reason: done.reason }),
  });
  const next: Descriptor = { ...desc, mediaType, digest: done.result.digest, size: done.result.size };
  if (Object.keys(annotations).length > 0) next.annotations = annotations;
  else delete next.annotations;
  return next;
}
