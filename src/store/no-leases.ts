// The LeaseManager of a store without a garbage collector (an OCI layout, a registry): leases protect
// nothing there, so creating, deleting and adding to one only honour the signal.

import { randomUUID } from 'node:crypto';
import { throwIfAborted } from '../errors.js';
import type { CallOptions, Labels } from './content-store.js';
import type { Lease, LeaseManager } from './image-store.js';

export function noLeases(prefix: string): LeaseManager {
  return {
    async create(labels: Labels, options: CallOptions): Promise<Lease> {
      throwIfAborted(options.signal);
      return { id: `${prefix}-${randomUUID()}`, labels };
    },
    async delete(_id: string, options: CallOptions): Promise<void> {
      throwIfAborted(options.signal);
    },
    async addContent(_id: string, _digest: string, options: CallOptions): Promise<void> {
      throwIfAborted(options.signal);
    },
  };
}
