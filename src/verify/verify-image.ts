// `image verify` over an image tree: the index's children the platform matcher keeps (attestations are
// not image layers and are skipped), each manifest's config for the DiffIDs, and every layer checked
// once per digest and DiffID however often it is listed.

import { malformed, TsconvertError } from '../errors.js';
import { isIndexType, isLayerType, isManifestType } from '../oci/media-types.js';
import { parseConfig, parseIndex, parseManifest } from '../oci/parse.js';
import { formatPlatform, type PlatformMatcher } from '../oci/platform.js';
import { isAttestation, type Descriptor } from '../oci/types.js';
import type { ContentStore } from '../store/content-store.js';
import type { ImageBackend } from '../store/image-store.js';
import { readJsonObject } from '../store/json-blob.js';
import { verifyLayer, type LayerVerdict } from './verify-layer.js';

/** Deepest index nesting followed (as the converter does). */
const MAX_DEPTH = 8;

export interface PlatformVerdict {
  platform: string;
  manifest: string;
  layers: LayerVerdict[];
}

export interface ImageVerdict {
  image: string;
  digest: string;
  platforms: PlatformVerdict[];
  ok: boolean;
}

interface Walk {
  content: ContentStore;
  platforms: PlatformMatcher;
  signal: AbortSignal;
  cache: Map<string, Promise<LayerVerdict>>;
}

async function manifestVerdict(w: Walk, desc: Descriptor, platform: string): Promise<PlatformVerdict> {
  const manifest = parseManifest(
    await readJsonObject(w.content, desc, 'manifest', w.signal),
    `manifest ${desc.digest}`,
  );
  const config = parseConfig(
    await readJsonObject(w.content, manifest.config, 'config', w.signal),
    `config ${manifest.config.digest}`,
  );
  let label = platform;
  if (label === '' && typeof config.os === 'string' && typeof config.architecture === 'string')
    label = formatPlatform({ os: config.os, architecture: config.architecture, variant: config.variant });
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers: LayerVerdict[] = [];
  for (const [i, layer] of manifest.layers.entries()) {
    if (!isLayerType(layer.mediaType)) continue;
    const diffId = diffIds[i];
    const key = `${layer.digest} ${diffId ?? ''} ${JSON.stringify(layer.annotations ?? {})}`;
    let verdict = w.cache.get(key);
    if (verdict === undefined) {
      verdict = verifyLayer(w.content, layer, i, diffId, w.signal);
      w.cache.set(key, verdict);
    }
    layers.push({ ...(await verdict), index: i });
  }
  return { platform: label || 'unknown', manifest: desc.digest, layers };
}

async function visit(w: Walk, desc: Descriptor, platform: string, depth: number): Promise<PlatformVerdict[]> {
  if (depth > MAX_DEPTH) throw malformed(`indexes nested more than ${MAX_DEPTH} deep at ${desc.digest}`);
  if (isManifestType(desc.mediaType)) return [await manifestVerdict(w, desc, platform)];
  if (!isIndexType(desc.mediaType))
    throw malformed(`${desc.digest}: ${desc.mediaType} is neither an index nor a manifest`);
  const index = parseIndex(await readJsonObject(w.content, desc, 'index', w.signal), `index ${desc.digest}`);
  const kept = index.manifests.filter(
    (c) => !isAttestation(c) && (c.platform === undefined || w.platforms.match(c.platform)),
  );
  if (depth === 0 && kept.length === 0)
    throw new TsconvertError('NOT_FOUND', `no manifest in the image matches ${w.platforms.description}`, {
      hint: 'choose with --platform or use --all-platforms',
    });
  const out: PlatformVerdict[] = [];
  for (const child of kept)
    out.push(
      ...(await visit(w, child, child.platform ? formatPlatform(child.platform) : platform, depth + 1)),
    );
  return out;
}

/** Every layer of every platform passed (no failed check, no broken promise). */
export function allPassed(platforms: readonly PlatformVerdict[]): boolean {
  return platforms.every((p) => p.layers.every((l) => l.ok));
}

/** Verifies the tree under `target` in `content`. */
export async function verifyTarget(
  content: ContentStore,
  target: Descriptor,
  platforms: PlatformMatcher,
  signal: AbortSignal,
): Promise<PlatformVerdict[]> {
  return visit({ content, platforms, signal, cache: new Map() }, target, '', 0);
}

/** Verifies the image `name` of a backend. */
export async function verifyImage(
  backend: ImageBackend,
  name: string,
  display: string,
  platforms: PlatformMatcher,
  signal: AbortSignal,
): Promise<ImageVerdict> {
  const record = await backend.images.get(name, { signal });
  const verdicts = await verifyTarget(backend.content, record.target, platforms, signal);
  return {
    image: display,
    digest: record.target.digest,
    platforms: verdicts,
    ok: allPassed(verdicts),
  };
}
