// A repository of a container registry (`docker://HOST[:PORT]/REPO[:TAG|@DIGEST]`) as an ImageBackend, on
// the OCI distribution API: content.ts and upload.ts for blobs, images.ts for tags and manifests, a client
// (client.ts) per registry with its TLS settings and credentials. A registry has no leases (nothing is
// collected while a run writes) and no leftovers of dead runs to clean: an upload it never finished expires
// there by itself. checkPartialPulls() probes whether a destination serves multi-range requests for
// zstd:chunked partial pulls (range-probe.ts). As a destination it keeps reuse records in the user's cache
// (reuse-records.ts).
//
//   const dst = await openRegistry({ reference, side: 'destination', tlsVerify: true, logger, signal });
//   try { ...convert... } finally { await dst.close(); }

import type { Digest } from '../oci/digest.js';
import type { BackendHints, ImageBackend, LeaseManager } from '../store/image-store.js';
import type { RecordFiles, ReuseStore } from '../store/reuse-store.js';
import { noLeases } from '../store/no-leases.js';
import type { MemoryBudget } from '../util/memory-budget.js';
import type { Logger } from '../util/log.js';
import { RegistryClient } from './client.js';
import { RegistryContentStore } from './content.js';
import { lookupCredentials, type CredentialOptions } from './credentials.js';
import { flagName, type Side } from './errors.js';
import { RegistryImageStore } from './images.js';
import { probeMultiRange } from './range-probe.js';
import type { RegistryReference } from './reference.js';
import { Repository } from './repository.js';
import { RegistryReuseStore, reuseCacheDir } from './reuse-records.js';

export interface OpenRegistryOptions extends CredentialOptions {
  reference: RegistryReference;
  side: Side;
  /** Verify the registry's TLS certificate (default true); false also allows plain HTTP. */
  tlsVerify: boolean;
  certDir?: string;
  /** How long the registry may take to answer (--timeout); undici's 300 s when absent. */
  timeoutMs?: number;
  /** Where upload buffers are taken from; none: unbounded (tests, `image verify`). */
  budget?: MemoryBudget;
  /** A destination's reuse record files (the CLI passes the layout's, oci-layout/reuse-records.ts). */
  recordFiles?: RecordFiles;
  logger: Logger;
  signal: AbortSignal;
}

export class RegistryBackend implements ImageBackend {
  readonly kind = 'registry';
  readonly content: RegistryContentStore;
  readonly images: RegistryImageStore;
  readonly leases: LeaseManager = noLeases('registry');
  readonly hints: BackendHints;
  readonly repository: Repository;
  readonly reuse: ReuseStore | undefined;

  /** `reuse`: where and how a destination keeps its reuse records (reuse-records.ts); none for a source. */
  constructor(repository: Repository, reuse?: { cacheDir: string; files: RecordFiles }) {
    this.repository = repository;
    this.reuse =
      reuse === undefined ? undefined : new RegistryReuseStore(reuse.cacheDir, repository, reuse.files);
    this.content = new RegistryContentStore(repository);
    this.images = new RegistryImageStore(repository, this.content);
    const where = repository.where;
    this.hints = {
      missingContent: (image) => `${where} lacks blobs of ${image}; push the image again`,
      damagedContent: `${where} serves a blob that does not match its digest; push the image again`,
    };
  }

  /** Leases mean nothing here, so the same backend serves every lease. */
  withLease(_leaseId: string): ImageBackend {
    return this;
  }

  /**
   * Warns when the registry does not serve the multi-range requests zstd:chunked partial pulls use, probed
   * on `layer`, a zstd:chunked blob it holds. A failed probe is a warning too: the image is pushed.
   */
  async checkPartialPulls(layer: Digest, signal: AbortSignal): Promise<void> {
    const repo = this.repository;
    try {
      const refused = await probeMultiRange(repo, layer, signal);
      if (refused === undefined) return;
      repo.logger.warn(
        `${repo.where} does not serve multi-range requests (it answered ${refused}): podman and CRI-O will pull the zstd:chunked layers in full from it, not partially; the image still works`,
      );
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      repo.logger.warn(`could not check whether ${repo.where} serves multi-range requests: ${why}`);
    }
  }

  close(): Promise<void> {
    return this.repository.client.close();
  }
}

/** Connects to the registry of `reference` (GET /v2/, credentials looked up) as an ImageBackend. */
export async function openRegistry(options: OpenRegistryOptions): Promise<RegistryBackend> {
  const { reference, side, logger } = options;
  const credentials = await lookupCredentials(reference.host, options, flagName(side, 'creds'));
  const client = new RegistryClient({
    host: reference.host,
    apiHost: reference.apiHost,
    side,
    credentials,
    tlsVerify: options.tlsVerify,
    certDir: options.certDir,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    logger,
  });
  try {
    await client.connect(options.signal);
  } catch (err) {
    await client.close();
    throw err;
  }
  const repository = new Repository(client, reference.repository, logger, options.budget);
  const { recordFiles } = options;
  return new RegistryBackend(
    repository,
    recordFiles === undefined ? undefined : { cacheDir: reuseCacheDir(options.env), files: recordFiles },
  );
}
