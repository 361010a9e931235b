// Validating parsers for manifests, indexes and descriptors. Input is untrusted JSON; a bad field gives a
// MALFORMED error naming the blob and the field. Unknown fields are kept as they are.

import { malformed } from '../errors.js';
import { isDigest } from './digest.js';
import type { Descriptor, ImageConfig, Index, Manifest } from './types.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkStringMap(v: unknown, where: string): void {
  if (v === undefined) return;
  if (!isRecord(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw malformed(`${where}: annotations must map strings to strings`);
  }
}

export function parseDescriptor(v: unknown, where: string): Descriptor {
  if (!isRecord(v)) throw malformed(`${where}: descriptor is not an object`);
  if (typeof v.mediaType !== 'string' || v.mediaType === '')
    throw malformed(`${where}: descriptor has no mediaType`);
  if (!isDigest(v.digest))
    throw malformed(`${where}: descriptor digest ${JSON.stringify(v.digest)} is not sha256:<hex>`);
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) {
    throw malformed(`${where}: descriptor size ${JSON.stringify(v.size)} is not a non-negative integer`);
  }
  checkStringMap(v.annotations, where);
  if (v.platform !== undefined) {
    const p = v.platform;
    if (!isRecord(p) || typeof p.os !== 'string' || typeof p.architecture !== 'string') {
      throw malformed(`${where}: platform needs string os and architecture`);
    }
  }
  return v as Descriptor;
}

export function parseManifest(v: Record<string, unknown>, where: string): Manifest {
  if (v.schemaVersion !== 2)
    throw malformed(`${where}: schemaVersion ${JSON.stringify(v.schemaVersion)} is not 2`);
  if (!Array.isArray(v.layers)) throw malformed(`${where}: manifest has no layers array`);
  parseDescriptor(v.config, `${where} config`);
  v.layers.forEach((l, i) => parseDescriptor(l, `${where} layer ${i}`));
  checkStringMap(v.annotations, where);
  return v as Manifest;
}

export function parseIndex(v: Record<string, unknown>, where: string): Index {
  if (v.schemaVersion !== 2)
    throw malformed(`${where}: schemaVersion ${JSON.stringify(v.schemaVersion)} is not 2`);
  if (!Array.isArray(v.manifests)) throw malformed(`${where}: index has no manifests array`);
  v.manifests.forEach((m, i) => parseDescriptor(m, `${where} manifest ${i}`));
  checkStringMap(v.annotations, where);
  return v as Index;
}

export function parseConfig(v: Record<string, unknown>, where: string): ImageConfig {
  const rootfs = v.rootfs;
  if (rootfs !== undefined) {
    if (!isRecord(rootfs)) throw malformed(`${where}: rootfs is not an object`);
    const ids = rootfs.diff_ids;
    if (ids !== undefined && (!Array.isArray(ids) || ids.some((d) => !isDigest(d)))) {
      throw malformed(`${where}: rootfs.diff_ids must be a list of sha256 digests`);
    }
  }
  return v as ImageConfig;
}
