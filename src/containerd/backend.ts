// containerd as an ImageBackend: the content, image and lease services of one namespace over one channel.
// `withLease` returns a view that shares the channel and sends `containerd-lease` on every call; only the
// backend returned by connectContainerd owns (and closes) the channel.
import type { BackendHints, DeadRunCleanupOptions, ImageBackend } from '../store/image-store.js';
import type { Logger } from '../util/log.js';
import { ContainerdContentStore, type ContentFiles } from './content.js';
import { ContainerdImageStore } from './images.js';
import { removeDeadRuns } from './dead-runs.js';
import { ContainerdLeaseManager } from './leases.js';
import { ContainerdReuseStore } from './reuse-records.js';
import type { CallContext } from './rpc.js';

export interface BackendInfo {
  /** Daemon version reported at connect time. */
  version: string;
  /** Whether close() closes the channel (false for withLease views). */
  owner: boolean;
  /** Which transfers use the daemon's content directory; shared by every view of the connection. */
  contentFiles: ContentFiles | undefined;
}

/** containerd gets content from a registry: fetch what is missing, pull again what is damaged. */
const containerdHints: BackendHints = {
  missingContent: (image) =>
    `fetch them first (e.g. "ctr content fetch --all-platforms ${image}" or pull the image again)`,
  damagedContent: 'the local copy is damaged; remove the image and pull it again',
};

export class ContainerdBackend implements ImageBackend {
  readonly kind = 'containerd';
  readonly hints = containerdHints;
  readonly content: ContainerdContentStore;
  readonly images: ContainerdImageStore;
  readonly leases: ContainerdLeaseManager;
  /** Reuse records as labels on result blobs (reuse-records.ts). */
  readonly reuse: ContainerdReuseStore;

  constructor(
    private readonly context: CallContext,
    private readonly logger: Logger,
    private readonly info: BackendInfo,
  ) {
    this.content = new ContainerdContentStore(context, logger, info.contentFiles);
    this.images = new ContainerdImageStore(context);
    this.leases = new ContainerdLeaseManager(context);
    this.reuse = new ContainerdReuseStore(this.content);
  }

  get namespace(): string {
    return this.context.namespace;
  }

  get address(): string {
    return this.context.address;
  }

  get version(): string {
    return this.info.version;
  }

  /** The lease this view attaches writes to, if any. */
  get lease(): string | undefined {
    return this.context.lease;
  }

  withLease(leaseId: string): ContainerdBackend {
    return new ContainerdBackend({ ...this.context, lease: leaseId }, this.logger, {
      ...this.info,
      owner: false,
    });
  }

  /** Leases and ingests of dead tsconvert runs in this namespace (dead-runs.ts). */
  cleanupDeadRuns(options: DeadRunCleanupOptions): Promise<string[]> {
    return removeDeadRuns(this.content, this.leases, options);
  }

  /** Closes the shared channel (owner only; a withLease view's close does nothing). */
  close(): Promise<void> {
    if (this.info.owner) this.context.clients.content.close();
    return Promise.resolve();
  }
}
