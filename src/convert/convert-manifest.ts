// Manifest conversion: every layer through the layer job (duplicates share one flight), media types mapped
// with --oci, GC labels reset, unknown fields kept. The config blob is copied as it is: every format tsconvert
// writes decompresses to the source tar byte for byte, so no DiffID changes (the layer job checks each one
// against the config). Returns undefined when nothing about the manifest changed.

import { Buffer } from 'node:buffer';
import { marshalGoJson } from '../oci/json.js';
import { isLayerType } from '../oci/media-types.js';
import { parseConfig, parseManifest } from '../oci/parse.js';
import { isAttestation, type Descriptor, type Manifest } from '../oci/types.js';
import { ensureCopied, readJsonBlob, writeBlob } from './blobs.js';
import type { ConvertContext } from './context.js';
import { jsonMediaType, sameBlob, withOciType } from './descriptors.js';
import { manifestLabels } from './gc-labels.js';
import { convertLayer } from './layer-job.js';

/**
 * A blob a manifest lists with a media type that is not a layer's is copied as it is and reported, with a
 * warning unless it is an attestation's statement (those are never layers).
 */
async function keepNonLayer(ctx: ConvertContext, blob: Descriptor, attestation: boolean): Promise<void> {
  await ensureCopied(ctx, blob);
  const reason = `not a layer media type (${blob.mediaType})`;
  ctx.progress.finish(blob.digest, 'kept', { result: blob.digest, reason });
  if (ctx.reports.has(blob.digest)) return;
  ctx.reports.set(blob.digest, {
    source: blob.digest,
    result: blob.digest,
    mediaType: blob.mediaType,
    format: 'unknown',
    outcome: 'unchanged',
    reason,
  });
  if (!attestation) ctx.logger.warn({ layer: blob.digest }, `layer ${blob.digest} kept as it is: ${reason}`);
}

export async function convertManifest(
  ctx: ConvertContext,
  desc: Descriptor,
): Promise<Descriptor | undefined> {
  const where = `manifest ${desc.digest}`;
  const manifest = parseManifest(structuredClone(await readJsonBlob(ctx, desc, 'manifest')), where);
  const config = parseConfig(
    await readJsonBlob(ctx, manifest.config, 'config'),
    `config ${manifest.config.digest}`,
  );
  const diffIds = config.rootfs?.diff_ids ?? [];
  const expected = (i: number): string | undefined =>
    diffIds.length === manifest.layers.length ? diffIds[i] : undefined;

  const layers = await Promise.all(
    manifest.layers.map(async (layer, i) => {
      if (isLayerType(layer.mediaType)) return withOciType(ctx, await convertLayer(ctx, layer, expected(i)));
      await keepNonLayer(ctx, layer, isAttestation(desc));
      return layer;
    }),
  );
  await ensureCopied(ctx, manifest.config);
  const configDesc = withOciType(ctx, manifest.config);

  const mediaType = jsonMediaType(ctx, desc.mediaType);
  const changed =
    mediaType !== desc.mediaType ||
    !sameBlob(configDesc, manifest.config) ||
    layers.some((l, i) => !sameBlob(l, manifest.layers[i] as Descriptor));
  if (!changed) {
    await ensureCopied(ctx, desc, (source) =>
      manifestLabels(
        source,
        manifest.config.digest,
        manifest.layers.map((l) => l.digest),
      ),
    );
    return undefined;
  }
  const next: Manifest = { ...manifest, config: configDesc, layers };
  if (next.mediaType !== undefined) next.mediaType = mediaType;
  const info = await ctx.src.content.info(desc.digest, { signal: ctx.signal });
  const labels = manifestLabels(
    info.labels,
    configDesc.digest,
    layers.map((l) => l.digest),
  );
  return writeBlob(ctx, Buffer.from(marshalGoJson(next)), mediaType, labels, {
    kind: 'manifest',
    source: desc,
  });
}
