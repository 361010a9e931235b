// containerd's garbage-collection reference labels on manifests and indexes (docs/containerd.md#gc-labels). A
// rewritten blob starts from the source blob's labels (distribution sources and the like survive), drops
// every content reference, and gets one reference per child it now points at.

import type { Labels } from '../store/content-store.js';

const GC_CONTENT_PREFIX = 'containerd.io/gc.ref.content.';
const REWRITTEN_REF = /^containerd\.io\/gc\.ref\.content\.(?:m\.\d+|l\.\d+|config)$/;

export function manifestLabels(
  sourceLabels: Labels,
  configDigest: string,
  layerDigests: readonly string[],
): Labels {
  const labels = withoutContentRefs(sourceLabels);
  labels[`${GC_CONTENT_PREFIX}config`] = configDigest;
  layerDigests.forEach((d, i) => {
    labels[`${GC_CONTENT_PREFIX}l.${i}`] = d;
  });
  return labels;
}

export function indexLabels(sourceLabels: Labels, childDigests: readonly string[]): Labels {
  const labels = withoutContentRefs(sourceLabels);
  childDigests.forEach((d, i) => {
    labels[`${GC_CONTENT_PREFIX}m.${i}`] = d;
  });
  return labels;
}

function withoutContentRefs(labels: Labels): Labels {
  const out: Labels = {};
  for (const [k, v] of Object.entries(labels)) if (!REWRITTEN_REF.test(k)) out[k] = v;
  return out;
}
