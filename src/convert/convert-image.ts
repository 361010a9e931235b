// One conversion, start to finish: resolve the source image, take a lease (labelled as tsconvert's, with a
// GC expiry so it dies with a crashed process), protect the source root with it (so SRC == DST converts in
// place without losing content), check every needed blob is present, convert the tree, point the
// destination image record at the result, and release the lease — on success, failure and abort alike.
// Clean-up has one deadline (a stopped daemon must not hold the process): what it could not remove stays
// recorded in options.leftovers for the CLI to report, and the lease expires by itself.

import { setMaxListeners } from 'node:events';
import { abortError, TsconvertError } from '../errors.js';
import type { Descriptor } from '../oci/types.js';
import type { ImageBackend, ImageRecord, Lease } from '../store/image-store.js';
import { OWNER_LABEL } from '../util/run-tags.js';
import { createContext, type ConvertContext } from './context.js';
import type { ConvertOptions, ConvertResult } from './options.js';
import { preflight } from './preflight.js';
import { convertDescriptor } from './walk.js';

const DEFAULT_LEASE_TTL_MS = 24 * 60 * 60 * 1000;
/** How long clean-up may take once the run is over (it must not hang on a dead daemon). */
export const CLEANUP_TIMEOUT_MS = 10_000;

const GC_EXPIRE_LABEL = 'containerd.io/gc.expire';

interface HeldLease {
  backend: ImageBackend;
  lease: Lease;
  /** Takes the lease off the run's leftovers once it is deleted. */
  forget: (() => void) | undefined;
}

export async function convertImage(options: ConvertOptions): Promise<ConvertResult> {
  const { source, destination, logger } = options;
  const run = new AbortController();
  // Every concurrent gRPC call and stream of the run listens on this one signal; more than Node's default
  // ten is normal, not a leak, and the warning would break the one-line stderr promise.
  setMaxListeners(0, run.signal);
  const stop = (): void => run.abort(options.signal.reason);
  if (options.signal.aborted) throw abortError(options.signal);
  options.signal.addEventListener('abort', stop, { once: true });
  const leases: HeldLease[] = [];
  let ctx: ConvertContext | undefined;
  try {
    const image = await source.backend.images.get(source.name, { signal: run.signal });
    const ttl = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    for (const backend of new Set([source.backend, destination.backend])) {
      const lease = await createRunLease(backend, options.leaseOwner ?? 'tsconvert', ttl, run.signal);
      const expiry = lease.labels[GC_EXPIRE_LABEL] ?? 'its expiry';
      const forget = options.leftovers?.add(`lease ${lease.id} (expires by itself at ${expiry})`);
      leases.push({ backend, lease, forget });
    }
    const srcLease = leases[0]?.lease.id;
    const dstLease = leases.find((l) => l.backend === destination.backend)?.lease.id;
    if (srcLease !== undefined)
      await source.backend.leases.addContent(srcLease, image.target.digest, { signal: run.signal });
    const src = srcLease === undefined ? source.backend : source.backend.withLease(srcLease);
    const dst = destination.backend === source.backend ? src : destination.backend.withLease(dstLease ?? '');
    ctx = createContext(options, src, dst, dstLease, run.signal);
    logger.debug({ source: source.name, target: image.target.digest, lease: dstLease }, 'converting');
    const slots = await preflight(ctx, source.display ?? source.name, image.target);
    ctx.progress.plan(slots);
    const layerOrder = slots.map((s) => s.digest);
    const converted = await convertDescriptor(ctx, image.target).catch((err: unknown) => {
      run.abort(err);
      throw err;
    });
    const target: Descriptor = { ...(converted ?? image.target), annotations: image.target.annotations };
    if (target.annotations === undefined) delete target.annotations;
    await options.beforeRecord?.(target, dst.content, run.signal);
    const record: ImageRecord = { name: destination.name, labels: image.labels, target };
    await dst.images.put(record, { signal: run.signal });
    return resultOf(ctx, record, layerOrder);
  } catch (err) {
    if (options.signal.aborted) throw abortError(options.signal);
    throw err;
  } finally {
    options.signal.removeEventListener('abort', stop);
    if (!run.signal.aborted) run.abort(new Error('conversion finished'));
    const deadline = AbortSignal.timeout(options.cleanupTimeoutMs ?? CLEANUP_TIMEOUT_MS);
    const drained = (async () => {
      await ctx?.layers.drain();
      await Promise.all([ctx?.copies.drain(), ctx?.writes.drain(), ctx?.json.drain()]);
    })();
    await Promise.race([drained, aborted(deadline)]);
    await Promise.all(leases.map((held) => releaseLease(held, logger, deadline)));
  }
}

/** Resolves when `signal` fires. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

async function createRunLease(
  backend: ImageBackend,
  owner: string,
  ttlMs: number,
  signal: AbortSignal,
): Promise<Lease> {
  const expire = new Date(Date.now() + ttlMs).toISOString().replace(/\.\d+Z$/, 'Z');
  return backend.leases.create({ [OWNER_LABEL]: owner, [GC_EXPIRE_LABEL]: expire }, { signal });
}

/** Deletes the lease; one that cannot be (in time) stays in the run's leftovers, which the CLI reports. */
async function releaseLease(
  { backend, lease, forget }: HeldLease,
  logger: ConvertOptions['logger'],
  signal: AbortSignal,
): Promise<void> {
  try {
    await backend.leases.delete(lease.id, { signal });
    forget?.();
  } catch (err) {
    const why = err instanceof TsconvertError ? err.message : String(err);
    const message = `could not delete lease ${lease.id} (${why}); it expires by itself`;
    // With a leftovers record the CLI names the lease in its last line; without one, say it here.
    if (forget === undefined) logger.warn({ lease: lease.id }, message);
    else logger.debug({ lease: lease.id }, message);
  }
}

/** The result, with layer reports in the image's order (first occurrence), whatever order they finished in. */
function resultOf(ctx: ConvertContext, record: ImageRecord, layerOrder: readonly string[]): ConvertResult {
  const layers = [...new Set(layerOrder)].flatMap((d) => {
    const report = ctx.reports.get(d);
    return report === undefined ? [] : [report];
  });
  return {
    name: record.name,
    digest: record.target.digest,
    mediaType: record.target.mediaType,
    size: record.target.size,
    layers,
    droppedPlatforms: [...ctx.droppedPlatforms],
  };
}
