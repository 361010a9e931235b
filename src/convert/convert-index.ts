// Index conversion (OCI index or Docker manifest list, nested ones too): children whose platform the
// filter rejects are dropped, the rest converted concurrently, attestation manifests re-pointed at the
// converted image manifest (nerdctl leaves their `vnd.docker.reference.digest` stale), GC labels reset.

import { Buffer } from 'node:buffer';
import { marshalGoJson } from '../oci/json.js';
import { parseIndex } from '../oci/parse.js';
import { ATTESTATION_REF_DIGEST, isAttestation, type Descriptor, type Index } from '../oci/types.js';
import { ensureCopied, readJsonBlob, writeBlob } from './blobs.js';
import type { ConvertContext } from './context.js';
import { jsonMediaType, pointAt, sameBlob, withOciType } from './descriptors.js';
import { indexLabels } from './gc-labels.js';
import { keptChildren } from './platform-filter.js';

export type ConvertDescriptor = (
  ctx: ConvertContext,
  desc: Descriptor,
  depth: number,
) => Promise<Descriptor | undefined>;

export async function convertIndex(
  ctx: ConvertContext,
  desc: Descriptor,
  depth: number,
  convertChild: ConvertDescriptor,
): Promise<Descriptor | undefined> {
  const index = parseIndex(structuredClone(await readJsonBlob(ctx, desc, 'index')), `index ${desc.digest}`);
  const kept = keptChildren(ctx.options.platforms, index.manifests);
  const converted = await Promise.all(kept.map((child) => convertChild(ctx, child, depth + 1)));
  const renamed = new Map<string, string>();
  let children = kept.map((child, i) => {
    const blob = converted[i];
    if (blob !== undefined) renamed.set(child.digest, blob.digest);
    return withOciType(ctx, blob === undefined ? child : pointAt(child, blob));
  });
  children = children.map((child) => repointAttestation(child, renamed));

  const mediaType = jsonMediaType(ctx, desc.mediaType);
  const changed =
    mediaType !== desc.mediaType ||
    kept.length !== index.manifests.length ||
    children.some((c, i) => !sameBlob(c, kept[i] as Descriptor) || c.annotations !== kept[i]?.annotations);
  if (!changed) {
    await ensureCopied(ctx, desc, (source) =>
      indexLabels(
        source,
        kept.map((c) => c.digest),
      ),
    );
    return undefined;
  }
  const next: Index = { ...index, manifests: children };
  if (next.mediaType !== undefined) next.mediaType = mediaType;
  const info = await ctx.src.content.info(desc.digest, { signal: ctx.signal });
  const labels = indexLabels(
    info.labels,
    children.map((c) => c.digest),
  );
  return writeBlob(ctx, Buffer.from(marshalGoJson(next)), mediaType, labels, { kind: 'index', source: desc });
}

/** Points a BuildKit attestation manifest's subject annotation at the converted image manifest. */
function repointAttestation(child: Descriptor, renamed: ReadonlyMap<string, string>): Descriptor {
  if (!isAttestation(child)) return child;
  const subject = child.annotations?.[ATTESTATION_REF_DIGEST];
  const next = subject === undefined ? undefined : renamed.get(subject);
  if (next === undefined) return child;
  return { ...child, annotations: { ...child.annotations, [ATTESTATION_REF_DIGEST]: next } };
}
