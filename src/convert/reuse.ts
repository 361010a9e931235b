// Reuse of layers converted by earlier runs (or by a run that was killed part-way): the layer job asks here
// before it converts, and records here what it committed. A record (store/reuse-store.ts) maps a source
// digest and the format's reuse key to the result blob; it is trusted only when the destination holds the
// result at the recorded size, the recorded DiffID is the one the config expects, and the recorded format is
// the requested one or its fallback. The blob is added to the run's lease before that check, so the garbage
// collector cannot take it between the check and the image record.

import { isErrorCode } from '../errors.js';
import type { LayerFormat } from '../layers/layer-format.js';
import type { Descriptor } from '../oci/types.js';
import type { Labels } from '../store/content-store.js';
import { recordId, REUSE_LABEL_PREFIX, type ReuseKey, type ReuseRecord } from '../store/reuse-store.js';
import type { ConvertContext } from './context.js';

/**
 * The label on a source blob that keeps a result alive in the same containerd (a GC reference, so the
 * result lives as long as the source does; docs/containerd.md#reuse-records).
 */
export const KEEP_LABEL_PREFIX = 'containerd.io/gc.ref.content.tsconvert.';

/** A reusable result: the record, and the format that wrote it (the requested one or its fallback). */
export interface Reusable {
  record: ReuseRecord;
  format: LayerFormat;
}

export const reuseKey = (desc: Descriptor, format: LayerFormat): ReuseKey => ({
  source: desc.digest as ReuseKey['source'],
  options: format.reuseKey,
});

/** The earlier result of converting `desc` with `format`, when the destination still holds it intact. */
export async function findReusable(
  ctx: ConvertContext,
  desc: Descriptor,
  format: LayerFormat,
  expectedDiffId: string | undefined,
): Promise<Reusable | undefined> {
  const store = ctx.dst.reuse;
  if (ctx.options.reuse === false || store === undefined) return undefined;
  const record = await store.find(reuseKey(desc, format), { signal: ctx.signal });
  if (record === undefined) return undefined;
  if (expectedDiffId !== undefined && record.diffId !== expectedDiffId) return undefined;
  const used = [format, format.fallback].find((f) => f?.name === record.format);
  if (used === undefined) return undefined;
  if (ctx.leaseId !== undefined)
    await ctx.dst.leases.addContent(ctx.leaseId, record.result, { signal: ctx.signal });
  try {
    const info = await ctx.dst.content.info(record.result, { signal: ctx.signal });
    if (info.size !== record.size) return undefined;
  } catch (err) {
    if (isErrorCode(err, 'NOT_FOUND')) return undefined;
    throw err;
  }
  return { record, format: used };
}

/**
 * Records a committed result for later runs, and in a store that holds the source too, labels the source
 * so the result lives as long as it does. A record that cannot be written costs only a later conversion,
 * so it is a warning, not a failure.
 */
export async function recordResult(ctx: ConvertContext, record: ReuseRecord): Promise<void> {
  const store = ctx.dst.reuse;
  if (store === undefined) return;
  try {
    // The keep label first: a record seen by a later run then always has its result kept too.
    if (ctx.sameStore) {
      const keep = { [`${KEEP_LABEL_PREFIX}${recordId(record)}`]: record.result };
      await ctx.src.content.updateLabels(record.source, keep, { signal: ctx.signal });
    }
    await store.put(record, { signal: ctx.signal });
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    const why = err instanceof Error ? err.message : String(err);
    ctx.logger.warn(
      { layer: record.source },
      `could not record the result of layer ${record.source} for reuse (${why}); a later run converts it again`,
    );
  }
}

/**
 * A source blob's labels as a converted blob gets them: without reuse records and keep references, which
 * describe the source (its own results), not the new blob.
 */
export function labelsForResult(source: Labels): Labels {
  return Object.fromEntries(
    Object.entries(source).filter(
      ([key]) => !key.startsWith(REUSE_LABEL_PREFIX) && !key.startsWith(KEEP_LABEL_PREFIX),
    ),
  );
}
