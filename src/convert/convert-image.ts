// One conversion, start to finish: resolve the source image, take a lease (labelled as tsconvert's, with a
// GC expiry so it dies with a crashed process), protect the source root with it (so SRC == DST converts in
// place without losing content), check every needed blob is present, convert the tree, point the
// destination image record at the result, and release the lease — on success, failure and abort alike.

import { setMaxListeners } from 'node:events';
import { abortError, isErrorCode, notFound, TsconvertError } from '../errors.js';
import type { Descriptor } from '../oci/types.js';
import type { ImageBackend, ImageRecord, Lease } from '../store/image-store.js';
import { createContext, type ConvertContext } from './context.js';
import type { ConvertOptions, ConvertResult } from './options.js';
import { preflight } from './preflight.js';
import { convertDescriptor } from './walk.js';

export const DEFAULT_LEASE_TTL_MS = 24 * 60 * 60 * 1000;
/** How long clean-up may take once the run is over (it must not hang on a dead daemon). */
const CLEANUP_TIMEOUT_MS = 15_000;

export const LEASE_OWNER_LABEL = 'io.tsconvert/owner';

export async function convertImage(options: ConvertOptions): Promise<ConvertResult> {
  const { source, destination, logger } = options;
  const run = new AbortController();
  // Every concurrent gRPC call and stream of the run listens on this one signal; more than Node's default
  // ten is normal, not a leak, and the warning would break the one-line stderr promise.
  setMaxListeners(0, run.signal);
  const stop = (): void => run.abort(options.signal.reason);
  if (options.signal.aborted) throw abortError(options.signal);
  options.signal.addEventListener('abort', stop, { once: true });
  const leases: Array<{ backend: ImageBackend; lease: Lease }> = [];
  let ctx: ConvertContext | undefined;
  try {
    const image = await getSourceImage(source, run.signal);
    const ttl = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    for (const backend of new Set([source.backend, destination.backend])) {
      leases.push({
        backend,
        lease: await createRunLease(backend, options.leaseOwner ?? 'tsconvert', ttl, run.signal),
      });
    }
    const srcLease = leases[0]?.lease.id;
    const dstLease = leases.find((l) => l.backend === destination.backend)?.lease.id;
    if (srcLease !== undefined)
      await source.backend.leases.addContent(srcLease, image.target.digest, { signal: run.signal });
    const src = srcLease === undefined ? source.backend : source.backend.withLease(srcLease);
    const dst = destination.backend === source.backend ? src : destination.backend.withLease(dstLease ?? '');
    ctx = createContext(options, src, dst, dstLease, run.signal);
    logger.debug({ source: source.name, target: image.target.digest, lease: dstLease }, 'converting');
    const layerOrder = await preflight(ctx, source.display ?? source.name, image.target);
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
    await ctx?.layers.drain();
    await Promise.all([ctx?.copies.drain(), ctx?.writes.drain(), ctx?.json.drain()]);
    await Promise.all(leases.map(({ backend, lease }) => releaseLease(backend, lease, logger)));
  }
}

async function getSourceImage(source: ConvertOptions['source'], signal: AbortSignal): Promise<ImageRecord> {
  try {
    return await source.backend.images.get(source.name, { signal });
  } catch (err) {
    if (!isErrorCode(err, 'NOT_FOUND') || source.backend.kind !== 'containerd') throw err;
    throw notFound(`image "${source.display ?? source.name}": not found in containerd`, {
      cause: err,
      hint: 'check the name and namespace (ctr images ls / --namespace); tsconvert never pulls from a registry',
    });
  }
}

async function createRunLease(
  backend: ImageBackend,
  owner: string,
  ttlMs: number,
  signal: AbortSignal,
): Promise<Lease> {
  const expire = new Date(Date.now() + ttlMs).toISOString().replace(/\.\d+Z$/, 'Z');
  return backend.leases.create({ [LEASE_OWNER_LABEL]: owner, 'containerd.io/gc.expire': expire }, { signal });
}

async function releaseLease(
  backend: ImageBackend,
  lease: Lease,
  logger: ConvertOptions['logger'],
): Promise<void> {
  try {
    await backend.leases.delete(lease.id, { signal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS) });
  } catch (err) {
    const why = err instanceof TsconvertError ? err.message : String(err);
    logger.warn({ lease: lease.id }, `could not delete lease ${lease.id} (${why}); it expires by itself`);
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
