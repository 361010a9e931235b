// Before anything is written: walk the selected platforms and check that every blob the conversion will
// read is in the source store. Lazily pulled images and `docker commit` results often lack some; failing
// half-way (or pulling from a registry that never had the image, nerdctl #3764) is what this prevents.
// Also refuses a platform filter that keeps nothing, and collects the platforms it drops.

import { isErrorCode, TsconvertError } from '../errors.js';
import { isIndexType, isManifestType } from '../oci/media-types.js';
import { parseConfig, parseIndex, parseManifest } from '../oci/parse.js';
import { formatPlatform, type PlatformSpec } from '../oci/platform.js';
import type { Descriptor } from '../oci/types.js';
import { readJsonBlob } from './blobs.js';
import type { LayerSlot } from './progress.js';
import type { ConvertContext } from './context.js';
import { droppedChildren, keptChildren } from './platform-filter.js';
import { MAX_INDEX_DEPTH } from './walk.js';

interface Missing {
  platform: string;
  what: string;
  digest: string;
}

/** What the walk found, in the image's own order (whatever order the lookups finished in). */
interface Found {
  missing: Missing[];
  /** Layers of the selected platforms, in tree order, with repeats. */
  layers: LayerSlot[];
}

const merge = (parts: Found[]): Found => ({
  missing: parts.flatMap((p) => p.missing),
  layers: parts.flatMap((p) => p.layers),
});

/** Checks every needed blob is present; returns the selected layers in the image's order. */
export async function preflight(
  ctx: ConvertContext,
  imageName: string,
  target: Descriptor,
): Promise<LayerSlot[]> {
  if (!isIndexType(target.mediaType) && !isManifestType(target.mediaType)) {
    throw new TsconvertError(
      'FAILED_PRECONDITION',
      `image "${imageName}": its target ${target.digest} has media type ${target.mediaType}, which is not an image (an OCI or Docker manifest or index)`,
      { hint: 'tsconvert converts container images only; nothing was written' },
    );
  }
  const found = await visit(ctx, target, '', 0);
  if (found.missing.length > 0) throw missingContentError(ctx, imageName, found.missing);
  return found.layers;
}

async function present(ctx: ConvertContext, digest: Descriptor['digest']): Promise<boolean> {
  try {
    await ctx.src.content.info(digest, { signal: ctx.signal });
    return true;
  } catch (err) {
    if (isErrorCode(err, 'NOT_FOUND')) return false;
    throw err;
  }
}

async function visit(ctx: ConvertContext, desc: Descriptor, platform: string, depth: number): Promise<Found> {
  const none: Found = { missing: [], layers: [] };
  if (depth > MAX_INDEX_DEPTH) return none;
  const label = desc.platform ? formatPlatform(desc.platform) : platform;
  const kind = isIndexType(desc.mediaType) ? 'index' : isManifestType(desc.mediaType) ? 'manifest' : 'blob';
  if (!(await present(ctx, desc.digest)))
    return { missing: [{ platform: label, what: kind, digest: desc.digest }], layers: [] };
  if (kind === 'index') {
    const index = parseIndex(await readJsonBlob(ctx, desc, 'index'), `index ${desc.digest}`);
    const kept = keptChildren(ctx.options.platforms, index.manifests);
    for (const name of droppedChildren(ctx.options.platforms, index.manifests))
      ctx.droppedPlatforms.add(name);
    if (depth === 0 && kept.length === 0) {
      throw new TsconvertError(
        'NOT_FOUND',
        `no manifest in the image matches ${ctx.options.platforms.description}`,
        {
          hint: `it has ${[...ctx.droppedPlatforms].join(', ')}; choose with --platform or use --all-platforms`,
        },
      );
    }
    return merge(await Promise.all(kept.map((child) => visit(ctx, child, label, depth + 1))));
  }
  if (kind === 'manifest') {
    const missing: Missing[] = [];
    const manifest = parseManifest(await readJsonBlob(ctx, desc, 'manifest'), `manifest ${desc.digest}`);
    let where = label;
    if (await present(ctx, manifest.config.digest)) {
      const config = parseConfig(
        await readJsonBlob(ctx, manifest.config, 'config'),
        `config ${manifest.config.digest}`,
      );
      if (typeof config.os === 'string' && typeof config.architecture === 'string') {
        const variant = typeof config.variant === 'string' ? config.variant : undefined;
        const own = { os: config.os, architecture: config.architecture, variant };
        if (depth === 0) checkNamedPlatform(ctx, own);
        if (where === '') where = formatPlatform(own);
      }
    } else {
      missing.push({ platform: where, what: 'config', digest: manifest.config.digest });
    }
    const layers = await Promise.all(
      manifest.layers.map(async (l) => ((await present(ctx, l.digest)) ? undefined : l)),
    );
    for (const l of layers) if (l) missing.push({ platform: where, what: 'layer', digest: l.digest });
    return {
      missing,
      layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size, platform: where })),
    };
  }
  return none;
}

/** An image of one manifest has one platform, in its config: a `--platform` that is not it matches nothing. */
function checkNamedPlatform(ctx: ConvertContext, own: PlatformSpec): void {
  const { platforms } = ctx.options;
  if (!platforms.named || platforms.match(own)) return;
  throw new TsconvertError('NOT_FOUND', `--platform ${platforms.description} matches nothing in the image`, {
    hint: `it is a single-platform image for ${formatPlatform(own)}; convert it without --platform or with --platform ${formatPlatform(own)}`,
  });
}

function missingContentError(ctx: ConvertContext, imageName: string, missing: Missing[]): TsconvertError {
  const byPlatform = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const m of missing) {
    const key = `${m.platform}|${m.digest}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const list = byPlatform.get(m.platform || 'image') ?? [];
    list.push(`${m.what} ${m.digest}`);
    byPlatform.set(m.platform || 'image', list);
  }
  const parts = [...byPlatform].map(([p, items]) => `${p}: ${items.join(', ')}`);
  const count = seen.size;
  return new TsconvertError(
    'MISSING_CONTENT',
    `image "${imageName}" is incomplete, ${count} blob${count === 1 ? '' : 's'} missing locally (${parts.join('; ')})`,
    {
      hint: `${ctx.src.hints.missingContent(imageName)}, or convert only the platforms that are present with --platform; tsconvert never contacts a registry`,
    },
  );
}
