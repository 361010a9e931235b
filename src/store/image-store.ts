// The image-record contract (name → target descriptor plus labels) and the lease contract that protects
// written content from garbage collection until an image record points at it.

import type { Descriptor } from '../oci/types.js';
import type { CallOptions, ContentStore, Labels } from './content-store.js';
import type { ReuseStore } from './reuse-store.js';

export interface ImageRecord {
  name: string;
  labels: Labels;
  target: Descriptor;
  createdAt?: Date;
  updatedAt?: Date;
}

export interface ImageStore {
  /** Throws NOT_FOUND when there is no such image. */
  get(name: string, options: CallOptions): Promise<ImageRecord>;
  list(options: CallOptions): Promise<ImageRecord[]>;
  /** Creates the record, or replaces the record of that name (labels and target) when it exists. */
  put(image: ImageRecord, options: CallOptions): Promise<ImageRecord>;
  delete(name: string, options: CallOptions & { sync?: boolean }): Promise<void>;
}

export interface Lease {
  id: string;
  labels: Labels;
}

export interface LeaseManager {
  create(labels: Labels, options: CallOptions): Promise<Lease>;
  delete(id: string, options: CallOptions): Promise<void>;
  /** Adds a blob to the lease so GC keeps it while the lease lives. */
  addContent(id: string, digest: string, options: CallOptions): Promise<void>;
}

/**
 * What a user can do when a backend lacks content or holds content that does not match its digest, in the
 * backend's own terms (containerd fetches or pulls again; a layout is re-created or copied again). The core
 * adds these to its messages and never needs to know which backend it talks to.
 */
export interface BackendHints {
  /** Blobs of `image` (its name as the user wrote it) are absent. */
  missingContent(image: string): string;
  /** A blob's bytes do not hash to its digest, have another size, or do not decode. */
  damagedContent: string;
}

/** One backend: content, images and leases in one namespace (containerd) or one layout (OCI). */
export interface DeadRunCleanupOptions extends CallOptions {
  leases?: 'keep' | 'only';
}

export interface ImageBackend {
  /** Short name for messages: "containerd" or "oci layout". */
  readonly kind: string;
  readonly content: ContentStore;
  /** Its get() throws NOT_FOUND naming the image and where it looked, with a hint of its own. */
  readonly images: ImageStore;
  readonly leases: LeaseManager;
  readonly hints: BackendHints;
  /**
   * Where this store keeps reuse records of converted layers (reuse-store.ts); absent where records would
   * not outlive the run (an archive destination is rewritten whole).
   */
  readonly reuse?: ReuseStore;
  /**
   * Makes a destination's result durable where writing it is a separate step (an archive is packed and
   * renamed into place); called once, after a successful conversion, before close(). Absent: nothing to do.
   */
  finish?(options: CallOptions): Promise<void>;
  /** The same backend with every write attached to the given lease. */
  withLease(leaseId: string): ImageBackend;
  /**
   * Removes what runs that are now dead left behind in this store (leases, ingests, temporary files), judged
   * by src/util/run-owner.ts; never anything of a live or unknown owner, never a committed blob. Returns one
   * line per thing removed, for the log. `leases` splits the work for a conversion: 'keep' leaves dead runs'
   * leases (the layers they protect may be reused by this run first), 'only' removes just those leases.
   */
  cleanupDeadRuns?(options: DeadRunCleanupOptions): Promise<string[]>;
  close(): Promise<void>;
}
