// Blob I/O for the converter core: read a JSON blob (size-limited, digest-checked, cached per run), write a
// blob from a stream into the destination store under the run's lease, and copy an unchanged blob between
// stores when source and destination differ.

import { pipeline } from 'node:stream/promises';
import { isErrorCode, TsconvertError } from '../errors.js';
import { sha256Digest, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/types.js';
import { readJsonObject } from '../store/json-blob.js';
import type { CommitOptions, CommitResult, ContentWriter, Labels } from '../store/content-store.js';
import { DigestCounter, tapInto } from '../stream/digest-tap.js';
import { readAhead } from '../stream/read-ahead.js';
import type { ConvertContext } from './context.js';
import type { Flight } from './single-flight.js';

/** Reads and parses a manifest, index or config from the source store, once per run per digest. */
export function readJsonBlob(
  ctx: ConvertContext,
  desc: Descriptor,
  what: string,
): Promise<Record<string, unknown>> {
  return ctx.json.join(desc.digest, () => readJsonObject(ctx.src.content, desc, what, ctx.signal));
}

/**
 * Bytes the source may run ahead of the writer. A containerd write() waits for the daemon's
 * acknowledgement; with nothing buffered the encoder stood idle for every round trip.
 */
const WRITE_READ_AHEAD_BYTES = 8 << 20;

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
 * Opens an ingest for `ref` in the destination, resets any stale data from an interrupted run, and registers
 * its removal with the flight. Returns undefined when a blob with `expected` digest already exists.
 */
export async function openIngest(
  ctx: ConvertContext,
  flight: Flight,
  ref: string,
  expected?: Descriptor,
): Promise<Ingest | undefined> {
  let writer: ContentWriter;
  try {
    writer = await ctx.dst.content.openWriter({
      ref,
      signal: ctx.signal,
      ...(expected ? { expected: expected.digest, total: expected.size } : {}),
    });
  } catch (err) {
    if (expected && isErrorCode(err, 'ALREADY_EXISTS')) return undefined;
    throw err;
  }
  let committed = false;
  flight.defer(async () => {
    if (!committed) await writer.abort();
  });
  if (writer.offset > 0) await writer.truncate();
  return {
    writer,
    async commit(options) {
      const result = await writer.commit(options);
      committed = true;
      return result;
    },
  };
}

/** Writes a small blob (rewritten JSON) with labels, once per digest; an existing identical blob is reused. */
export function writeBlob(
  ctx: ConvertContext,
  bytes: Uint8Array,
  mediaType: string,
  labels: Labels,
): Promise<Descriptor> {
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
  return ctx.copies.join(desc.digest, async (flight) => {
    const info = await ctx.src.content.info(desc.digest, { signal: ctx.signal });
    const labels = labelsFor(info.labels);
    const ingest = await openIngest(ctx, flight, `tsconvert-copy-${desc.digest}`, desc);
    if (ingest === undefined) {
      await adoptExisting(ctx, desc.digest, labels);
      return;
    }
    const counter = new DigestCounter();
    await streamInto(
      ctx,
      tapInto(counter)(ctx.src.content.read(desc.digest, { signal: ctx.signal })),
      ingest.writer,
    );
    if (counter.digest() !== desc.digest) {
      throw new TsconvertError('FAILED_PRECONDITION', `blob ${desc.digest} is corrupt in the source store`, {
        hint: 'pull the image again',
      });
    }
    const result = await ingest.commit({ size: desc.size, expected: desc.digest, labels });
    if (result.existed) await adoptExisting(ctx, desc.digest, labels);
  });
}
