// OCI / Docker image JSON shapes as tsconvert reads them. Only the fields the converter uses are typed;
// every object keeps its unknown fields (the index signature) so rewritten JSON loses nothing.

import type { Digest } from './digest.js';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  [key: string]: unknown;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
  [key: string]: unknown;
}

export interface Manifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface Index {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  rootfs?: { type?: string; diff_ids?: string[]; [key: string]: unknown };
  config?: Record<string, unknown>;
  container_config?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Annotation BuildKit puts on attestation manifests inside an index. */
const ATTESTATION_REF_TYPE = 'vnd.docker.reference.type';
export const ATTESTATION_REF_DIGEST = 'vnd.docker.reference.digest';
const ATTESTATION_MANIFEST = 'attestation-manifest';

export function isAttestation(desc: Descriptor): boolean {
  return desc.annotations?.[ATTESTATION_REF_TYPE] === ATTESTATION_MANIFEST;
}
