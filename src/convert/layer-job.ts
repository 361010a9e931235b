// The glue between stores and a layer format: read the source blob, check its digest, decompress whatever
// it is, hash the tar (DiffID), run the format's encoder, and commit the result under the run's lease with
// the source blob's labels. One flight per source digest: duplicates share it, and its ingest is removed
// once, after the last waiter, if it was never committed.

import { TsconvertError } from '../errors.js';
import { LayerFallback, type LayerFormat, type Scratch } from '../layers/layer-format.js';
import { shortDigest } from '../oci/digest.js';
import {
  isNondistributable,
  layerCompression,
  ociLayerType,
  uncompressedLayerType,
} from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import { decode, sniff } from '../stream/decompress.js';
import { ByteCounter, DigestCounter, tapInto } from '../stream/digest-tap.js';
import { adoptExisting, ensureCopied, openIngest, streamInto, type Ingest } from './blobs.js';
import type { ConvertContext } from './context.js';
import { flightScratch } from './scratch.js';
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
  const declared = layerCompression(desc.mediaType);
  const reason = format === undefined ? 'no layer format requested' : format.skipReason(declared);
  if (format === undefined || reason !== undefined) {
    await ensureCopied(ctx, desc);
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
  return ctx.layers.join(desc.digest, (flight) => encodeLayer(ctx, flight, desc, format, expectedDiffId));
}

/** Codec failures (zlib, zstd) name the layer; store and abort errors pass through as they are. */
function asLayerError(err: unknown, desc: Descriptor, compression: string): unknown {
  if (err instanceof LayerFallback || !(err instanceof Error) || err.name === 'AbortError') return err;
  if (err instanceof TsconvertError) {
    if (err.code !== 'MALFORMED' || err.message.includes(desc.digest)) return err;
    return new TsconvertError('MALFORMED', `layer ${desc.digest}: ${err.message}`, {
      cause: err,
      hint: 'the layer is not a valid tar archive',
    });
  }
  const what = compression === 'none' ? 'tar' : compression;
  return new TsconvertError(
    'MALFORMED',
    `layer ${desc.digest} is corrupt or not valid ${what}: ${err.message}`,
    {
      cause: err,
      hint: 'the local copy is damaged; remove the image and pull it again',
    },
  );
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
  /** Why the requested format was not used. */
  reason?: string;
}

/** Where one layer's encoding goes: its ingest, and the flight's scratch space for what it must hold. */
interface LayerTarget {
  ingest: Ingest;
  scratch: Scratch;
}

/** One pass over the source blob through `format` into the ingest; checks the source digest and DiffID. */
async function runFormat(
  ctx: ConvertContext,
  desc: Descriptor,
  format: LayerFormat,
  target: LayerTarget,
  expectedDiffId: string | undefined,
): Promise<Attempt> {
  const source = new DigestCounter();
  const diff = new DigestCounter();
  const out = new ByteCounter();
  const sniffed = await sniff(tapInto(source)(ctx.src.content.read(desc.digest, { signal: ctx.signal })));
  const tar = tapInto(diff)(decode(sniffed.stream, sniffed.compression));
  const encoded = format.encode(tar, target.scratch);
  try {
    await streamInto(ctx, tapInto(out)(encoded.output), target.ingest.writer);
  } catch (err) {
    throw asLayerError(err, desc, sniffed.compression);
  }
  if (source.digest() !== desc.digest || source.size !== desc.size) {
    throw new TsconvertError(
      'FAILED_PRECONDITION',
      `layer ${desc.digest} is corrupt: its content hashes to ${source.digest()}`,
      {
        hint: 'the local copy is damaged; remove the image and pull it again',
      },
    );
  }
  const diffId = diff.digest();
  if (expectedDiffId !== undefined && diffId !== expectedDiffId) {
    throw new TsconvertError(
      'FAILED_PRECONDITION',
      `layer ${desc.digest} decompresses to ${diffId}, but the image config says ${expectedDiffId}`,
      {
        hint: 'the image is inconsistent; rebuild or pull it again',
      },
    );
  }
  return { format, diffId, outSize: out.size, annotations: encoded.annotations() };
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
    return {
      ...(await runFormat(ctx, desc, format.fallback, target, expectedDiffId)),
      reason: `not ${format.resultLabel}: ${err.reason}`,
    };
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
    return { info, ingest, done: await runWithFallback(ctx, desc, format, target, expectedDiffId) };
  });
  const labels = { ...info.labels };
  if (done.format.compression === 'none') delete labels[UNCOMPRESSED_LABEL];
  else labels[UNCOMPRESSED_LABEL] = done.diffId;
  // No expected digest: both stores hash what they are sent and report it, so hashing the output here as
  // well would be a third sha256 pass on the main thread. The size check still catches a short write.
  const out = await ingest.commit({ size: done.outSize, labels });
  if (out.existed) await adoptExisting(ctx, out.digest, labels);

  const annotations = { ...desc.annotations, ...done.annotations };
  for (const key of STALE_ANNOTATIONS) if (!(key in done.annotations)) delete annotations[key];
  const mediaType = newLayerType(done.format, desc, ctx.options.oci);
  ctx.reports.set(desc.digest, {
    source: desc.digest,
    result: out.digest,
    mediaType,
    format: done.format.resultLabel,
    outcome: 'converted',
    ...(done.reason === undefined ? {} : { reason: done.reason }),
  });
  ctx.logger.debug(
    { layer: desc.digest, result: out.digest, size: out.size },
    `layer ${shortDigest(desc.digest)} converted`,
  );
  const next: Descriptor = { ...desc, mediaType, digest: out.digest, size: out.size };
  if (Object.keys(annotations).length > 0) next.annotations = annotations;
  else delete next.annotations;
  return next;
}
