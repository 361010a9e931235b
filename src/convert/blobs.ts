// Blob I/O for the converter core: read a JSON blob (size-limited, digest-checked, cached per run), write a
// blob from a stream into the destination store under the run's lease, and copy an unchanged blob between
// stores when source and destination differ.

import { pipeline } from 'node:stream/promises';
import { ContentMismatch, InvalidDataError, isErrorCode } from '../errors.js';
import { sha256Digest, type Digest } from '../oci/digest.js';
import { checkJsonWrite } from '../oci/json-limits.js';
import type { Descriptor } from '../oci/types.js';
import { readJsonObject, type ImageJsonKind } from '../store/json-blob.js';
import type { CommitOptions, CommitResult, ContentWriter, Labels } from '../store/content-store.js';
import { checkContent, DigestCounter, verifyInto } from '../stream/digest-tap.js';
import { readAhead } from '../stream/read-ahead.js';
import { ownedRef } from '../util/run-tags.js';
import type { ConvertContext } from './context.js';
import type { Flight } from './single-flight.js';

/** Reads and parses a manifest, index or config from the source store (store/json-blob.ts), once per run. */
export function readJsonBlob(
  ctx: ConvertContext,
  desc: Descriptor,
  kind: ImageJsonKind,
): Promise<Record<string, unknown>> {
  return ctx.json.join(desc.digest, async () => {
    try {
      return await readJsonObject(ctx.src.content, desc, kind, ctx.signal);
    } catch (err) {
      throw err instanceof InvalidDataError ? blobDataError(ctx, `${kind} ${desc.digest}`, desc, err) : err;
    }
  });
}

/**
 * Names the blob in an error about its bytes, with what to do: a wrong size alone means the descriptor is
 * wrong (the blob is intact); anything else means the source's copy is damaged, fixed in its backend's way.
 */
export function blobDataError(
  ctx: ConvertContext,
  what: string,
  desc: Descriptor,
  err: InvalidDataError,
): InvalidDataError {
  const hint =
    err instanceof ContentMismatch && err.sizeOnly
      ? `the blob is intact, but the descriptor that lists it gives a wrong size; rebuild the image`
      : err.source === 'tar'
        ? 'the layer is not a valid tar archive'
        : ctx.src.hints.damagedContent;
  const sep = err.source === 'digest' ? ' ' : ': ';
  return new InvalidDataError(err.source, `${what} ${desc.digest}${sep}${err.message}`, { cause: err, hint });
}

/**
 * Bytes the source may run ahead of the writer. A containerd write() waits for the daemon's
 * acknowledgement; with nothing buffered the encoder stood idle for every round trip. The read-ahead's
 * ring is allocated whole and every byte of it is touched once it wraps, so it is RSS per layer: 2 MiB ran
 * the bench image as fast as 8 MiB (~15 ms of output ahead; an acknowledgement takes ~1 ms).
 */
const WRITE_READ_AHEAD_BYTES = 2 << 20;

/**
 * Memory one layer job takes from the run's budget for its streams, whatever its format: the read-ahead,
 * and decoder state and stream buffers (gunzip's window, a zstd source's window, the tar scanner's pieces,
 * the dead ones V8 has not collected yet). 24 MiB in all was measured as what each further layer at once
 * adds to peak RSS, with an 8 MiB read-ahead holding chunks. The read-ahead is a 2 MiB ring now, but with
 * fewer fresh buffers V8 runs its full collections less often, so dead ones live longer: the job still
 * takes 24 MiB rather than hand the difference to frame slots.
 */
export const LAYER_STREAM_BYTES = 24 << 20;

/** Sends every chunk of `source` to the writer, with bounded read-ahead, backpressure and the run's signal. */
export async function streamInto(
  ctx: ConvertContext,
  source: AsyncIterable<Uint8Array>,
  writer: ContentWriter,
): Promise<void> {
  await pipeline(
    readAhead(source, WRITE_READ_AHEAD_BYTES),
    async (chunks: AsyncIterable<Uint8Array>) => {
      for await (const chunk of chunks) await writer.write(chunk);
    },
    { signal: ctx.signal },
  );
}

/** After a commit found the blob already there: make sure the lease holds it and labels are applied. */
export async function adoptExisting(ctx: ConvertContext, digest: Digest, labels: Labels): Promise<void> {
  if (ctx.leaseId !== undefined) await ctx.dst.leases.addContent(ctx.leaseId, digest, { signal: ctx.signal });
  if (Object.keys(labels).length > 0)
    await ctx.dst.content.updateLabels(digest, labels, { signal: ctx.signal });
}

/** An open ingest owned by a flight: removed by the flight's clean-up unless it was committed. */
export interface Ingest {
  readonly writer: ContentWriter;
  commit(options: CommitOptions): Promise<CommitResult>;
}

/**
 * Opens an ingest for `ref` (plus this run's owner token and a random suffix, so it is this writer's alone)
 * in the destination and registers its removal with the flight. Returns undefined when a blob with `expected`
 * digest already exists. A half-written ingest of an earlier run is never resumed: committed blobs are what
 * later runs reuse, and what a dead run left is for its lease's expiry or a clean-up of dead runs' leftovers.
 */
export async function openIngest(
  ctx: ConvertContext,
  flight: Flight,
  ref: string,
  expected?: Descriptor,
): Promise<Ingest | undefined> {
  let writer: ContentWriter;
  const digests = ctx.options.digests;
  try {
    writer = await ctx.dst.content.openWriter({
      // Named after this run, so a later run can tell whether a leftover ingest's run is dead.
      ref: ownedRef(ref),
      signal: ctx.signal,
      ...(expected ? { expected: expected.digest, total: expected.size } : {}),
      // A store that hashes what it is sent does it on the digest thread: on the main thread, the layout's
      // hash of the converted layers was ~10 % of that thread's CPU on the bench image (issue 18).
      ...(digests
        ? { hasher: () => digests.open(), hashFile: (path, size) => digests.hashFile(path, size) }
        : {}),
    });
  } catch (err) {
    if (expected && isErrorCode(err, 'ALREADY_EXISTS')) return undefined;
    throw err;
  }
  let committed = false;
  const forget = ctx.options.leftovers?.add(`ingest ${writer.ref}`);
  flight.defer(async () => {
    if (!committed) await writer.abort();
    forget?.();
  });
  // A fresh ref can still start non-empty: containerd opens a write of a blob that another namespace already
  // holds at its full size (shared content, docs/containerd.md), and appending to it would double the blob
  // (test/e2e/convert-safety "missing content"). Start from zero.
  if (writer.offset > 0) await writer.truncate();
  return {
    writer,
    async commit(options) {
      const result = await writer.commit(options);
      committed = true;
      forget?.();
      return result;
    },
  };
}

/** What a rewritten JSON blob is, for its size check: its kind, and the source blob it replaces. */
export interface RewriteOf {
  kind: ImageJsonKind;
  source: Descriptor;
}

const GROWTH_HINT: Readonly<Record<ImageJsonKind, string>> = {
  manifest:
    'zstd:chunked adds four annotations to every layer; convert with --zstd, or rebuild the image with fewer layers',
  index: 'convert fewer platforms (--platform)',
  config: 'rebuild the image with a shorter history',
};

/**
 * Writes a small blob (rewritten JSON) with labels, once per digest; an existing identical blob is reused.
 * A document larger than its kind's limit is refused before anything is written: tsconvert would not read
 * it back, and registries would not take it.
 */
export function writeBlob(
  ctx: ConvertContext,
  bytes: Uint8Array,
  mediaType: string,
  labels: Labels,
  of: RewriteOf,
): Promise<Descriptor> {
  checkJsonWrite(
    of.kind,
    `the converted ${of.kind} of ${of.source.digest}`,
    bytes.byteLength,
    GROWTH_HINT[of.kind],
  );
  const desc: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength };
  return ctx.writes.join(desc.digest, (flight) => writeSmallBlob(ctx, flight, bytes, desc, labels));
}

async function writeSmallBlob(
  ctx: ConvertContext,
  flight: Flight,
  bytes: Uint8Array,
  desc: Descriptor,
  labels: Labels,
): Promise<Descriptor> {
  const ingest = await openIngest(ctx, flight, `tsconvert-json-${desc.digest}`, desc);
  if (ingest === undefined) {
    await adoptExisting(ctx, desc.digest, labels);
    return desc;
  }
  await ingest.writer.write(bytes);
  const result = await ingest.commit({ size: desc.size, expected: desc.digest, labels });
  if (result.existed) await adoptExisting(ctx, desc.digest, labels);
  return desc;
}

/**
 * Makes an unchanged blob available in the destination when it is a different store. `labelsFor` turns the
 * source blob's labels into the copy's: a manifest or index copied as it is needs GC references to its
 * children in the destination, or containerd collects them once the lease is gone (a layout has no labels).
 */
export function ensureCopied(
  ctx: ConvertContext,
  desc: Descriptor,
  labelsFor: (source: Labels) => Labels = (source) => source,
): Promise<void> {
  if (ctx.sameStore) return Promise.resolve();
  // A copy holds a job slot like a layer's encoding: a manifest of 27 000 small layers opened them all at
  // once (EMFILE, 950 MB). It is leaf work, so the one limiter is never nested.
  return ctx.copies.join(desc.digest, (flight) => ctx.limit(() => copyBlob(ctx, flight, desc, labelsFor)));
}

async function copyBlob(
  ctx: ConvertContext,
  flight: Flight,
  desc: Descriptor,
  labelsFor: (source: Labels) => Labels,
): Promise<void> {
  const info = await ctx.src.content.info(desc.digest, { signal: ctx.signal });
  const labels = labelsFor(info.labels);
  const ingest = await openIngest(ctx, flight, `tsconvert-copy-${desc.digest}`, desc);
  if (ingest === undefined) {
    await adoptExisting(ctx, desc.digest, labels);
    return;
  }
  const counter = new DigestCounter();
  try {
    await streamInto(
      ctx,
      verifyInto(counter, desc)(ctx.src.content.read(desc.digest, { signal: ctx.signal })),
      ingest.writer,
    );
    checkContent(counter, desc);
  } catch (err) {
    throw err instanceof InvalidDataError ? blobDataError(ctx, 'blob', desc, err) : err;
  }
  const result = await ingest.commit({ size: desc.size, expected: desc.digest, labels });
  if (result.existed) await adoptExisting(ctx, desc.digest, labels);
}
