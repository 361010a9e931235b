// containerd leases as a LeaseManager: a lease keeps the content written under it (and content added to it)
// safe from garbage collection until it is deleted or its `containerd.io/gc.expire` label passes.
import type { CallOptions, Labels } from '../store/content-store.js';
import type { Lease, LeaseManager } from '../store/image-store.js';
import type { CreateResponse__Output } from './generated/containerd/services/leases/v1/CreateResponse.js';
import type { ListResourcesResponse__Output } from './generated/containerd/services/leases/v1/ListResourcesResponse.js';
import type { ListResponse__Output } from './generated/containerd/services/leases/v1/ListResponse.js';
import type { Empty__Output } from './generated/google/protobuf/Empty.js';
import { unaryCall, type CallContext } from './rpc.js';

/** Lease resource type for blobs (id = digest). */
const CONTENT_RESOURCE = 'content';

export class ContainerdLeaseManager implements LeaseManager {
  constructor(private readonly context: CallContext) {}

  /** Creates a lease with a daemon-chosen id. */
  async create(labels: Labels, { signal }: CallOptions): Promise<Lease> {
    const res = await unaryCall<CreateResponse__Output>(
      this.context,
      signal,
      'leases.Create',
      (md, opts, cb) => this.context.clients.leases.create({ id: '', labels }, md, opts, cb),
    );
    if (res.lease === null) throw new Error('containerd returned no lease');
    return { id: res.lease.id, labels: { ...res.lease.labels } };
  }

  async delete(id: string, { signal }: CallOptions): Promise<void> {
    await unaryCall<Empty__Output>(this.context, signal, 'leases.Delete', (md, opts, cb) =>
      this.context.clients.leases.delete({ id, sync: false }, md, opts, cb),
    );
  }

  async addContent(id: string, digest: string, { signal }: CallOptions): Promise<void> {
    await unaryCall<Empty__Output>(this.context, signal, 'leases.AddResource', (md, opts, cb) =>
      this.context.clients.leases.addResource(
        { id, resource: { id: digest, type: CONTENT_RESOURCE } },
        md,
        opts,
        cb,
      ),
    );
  }

  /** Leases in the namespace. Not part of LeaseManager; used by tests and diagnostics. */
  async list({ signal }: CallOptions): Promise<Lease[]> {
    const res = await unaryCall<ListResponse__Output>(this.context, signal, 'leases.List', (md, opts, cb) =>
      this.context.clients.leases.list({ filters: [] }, md, opts, cb),
    );
    return res.leases.map((lease) => ({ id: lease.id, labels: { ...lease.labels } }));
  }

  /** What a lease holds, as `{ type, id }` pairs. Not part of LeaseManager; used by tests. */
  async listResources(id: string, { signal }: CallOptions): Promise<{ type: string; id: string }[]> {
    const res = await unaryCall<ListResourcesResponse__Output>(
      this.context,
      signal,
      'leases.ListResources',
      (md, opts, cb) => this.context.clients.leases.listResources({ id }, md, opts, cb),
    );
    return res.resources.map((resource) => ({ type: resource.type, id: resource.id }));
  }
}
