// One repository of one registry, as the content and image stores share it: the HTTP client, the API paths,
// the token scopes, and the manifests this run holds. A manifest or index written to a registry destination
// is not uploaded when it is written: it waits here until the image record is put (images.ts), which pushes
// every manifest after the blobs it lists and the index after its manifests, so a failed or interrupted run
// leaves no manifest and no tag. Source manifests read by tag are kept too, so they are fetched once.

import type { Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { MemoryBudget } from '../util/memory-budget.js';
import type { Logger } from '../util/log.js';
import type { RegistryClient } from './client.js';

/** Manifest types asked for when reading one (Accept). */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest,
].join(', ');

export interface HeldManifest {
  bytes: Buffer;
  mediaType: string;
}

export class Repository {
  readonly client: RegistryClient;
  readonly name: string;
  readonly logger: Logger;
  readonly budget: MemoryBudget | undefined;
  /** Other repositories of the same registry blobs may be mounted from (the source's). */
  readonly mountFrom: string[] = [];
  /** Manifests written by this run and not pushed yet, and manifests read by tag. */
  readonly manifests = new Map<Digest, HeldManifest>();

  constructor(client: RegistryClient, name: string, logger: Logger, budget: MemoryBudget | undefined) {
    this.client = client;
    this.name = name;
    this.logger = logger;
    this.budget = budget;
  }

  get host(): string {
    return this.client.host;
  }

  /** "registry HOST repository REPO", for messages. */
  get where(): string {
    return `registry ${this.client.host} repository ${this.name}`;
  }

  path(kind: 'blobs' | 'manifests', ref: string): string {
    return `/v2/${this.name}/${kind}/${ref}`;
  }

  get uploadsPath(): string {
    return `/v2/${this.name}/blobs/uploads/`;
  }

  get pull(): string[] {
    return [`repository:${this.name}:pull`];
  }

  get push(): string[] {
    return [`repository:${this.name}:pull,push`];
  }
}

/**
 * Whether bytes written as a blob are an image manifest or index (so they are pushed as one): a JSON object
 * with schemaVersion 2 and `manifests`, or `config` and `layers`. A config or an attestation never has these.
 */
export function asManifest(bytes: Buffer): HeldManifest | undefined {
  if (bytes.byteLength === 0 || bytes[0] !== 0x7b) return undefined;
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== 'object' || doc.schemaVersion !== 2) return undefined;
  const isIndex = Array.isArray(doc.manifests);
  const isManifest = Array.isArray(doc.layers) && typeof doc.config === 'object' && doc.config !== null;
  if (!isIndex && !isManifest) return undefined;
  const mediaType =
    typeof doc.mediaType === 'string' ? doc.mediaType : isIndex ? MediaType.ociIndex : MediaType.ociManifest;
  return { bytes, mediaType };
}
