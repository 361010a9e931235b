// Config rewrite, containerd's rules (docs/containerd.md#config-rewrite): only when a DiffID changed, replace
// those entries of rootfs.diff_ids and drop the legacy Docker `Image` keys of `config` and
// `container_config`. Every other field is kept; top-level keys come out sorted, as Go writes a map.

import { Buffer } from 'node:buffer';
import { marshalGoJsonSortedTop } from '../oci/json.js';
import { parseConfig } from '../oci/parse.js';
import type { Descriptor } from '../oci/types.js';
import { readJsonBlob, writeBlob } from './blobs.js';
import type { ConvertContext } from './context.js';

/** Returns the new config descriptor, or undefined when the config blob stays as it is. */
export async function convertConfig(
  ctx: ConvertContext,
  desc: Descriptor,
  diffIdChanges: ReadonlyMap<string, string>,
): Promise<Descriptor | undefined> {
  if (diffIdChanges.size === 0) return undefined;
  const json = structuredClone(await readJsonBlob(ctx, desc, 'config'));
  const config = parseConfig(json, `config ${desc.digest}`);
  const rootfs = config.rootfs;
  if (rootfs?.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) return undefined;
  if (!rootfs.diff_ids.some((d) => diffIdChanges.has(d))) return undefined;
  rootfs.diff_ids = rootfs.diff_ids.map((d) => diffIdChanges.get(d) ?? d);
  for (const key of ['config', 'container_config'] as const) {
    const section = config[key];
    if (section && typeof section === 'object') delete section.Image;
  }
  const info = await ctx.src.content.info(desc.digest, { signal: ctx.signal });
  return writeBlob(ctx, Buffer.from(marshalGoJsonSortedTop(json)), desc.mediaType, info.labels, {
    kind: 'config',
    source: desc,
  });
}
