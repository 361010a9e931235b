// Connects a ContainerdBackend to the test daemon in a fresh namespace, and small byte helpers.
import { randomBytes } from 'node:crypto';
import { connectContainerd, type ConnectOptions } from '../../src/containerd/connection.js';
import type { ContainerdBackend } from '../../src/containerd/backend.js';
import { silentLogger, type Logger } from '../../src/util/log.js';
import { newNamespace, testContainerd } from './containerd.js';

export interface TestBackend {
  backend: ContainerdBackend;
  namespace: string;
  signal: AbortSignal;
}

/** A backend on the test daemon in its own namespace; close it in afterEach/finally. */
export async function openTestBackend(
  logger: Logger = silentLogger,
  prefix = 't',
  { writeIngestFiles = true } = {},
): Promise<TestBackend> {
  const { address } = testContainerd();
  const namespace = newNamespace(prefix);
  const signal = new AbortController().signal;
  const backend = await connectContainerd({ address, namespace, logger, signal, writeIngestFiles });
  return { backend, namespace, signal };
}

export async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

export function randomBlob(size: number): Buffer {
  return randomBytes(size);
}

/**
 * Connections whose every write is held by a lease of its own: unreferenced blobs need one, or a collection
 * another test file's deletion triggers may take them between commit and read-back. Call closeAll in
 * afterEach; it deletes the leases and closes the channels.
 */
export function leasedConnections(signal: AbortSignal): {
  connect(options: Omit<ConnectOptions, 'address' | 'signal'>): Promise<ContainerdBackend>;
  closeAll(): Promise<void>;
} {
  const opened: { backend: ContainerdBackend; lease: string }[] = [];
  return {
    async connect(options) {
      const backend = await connectContainerd({ address: testContainerd().address, signal, ...options });
      const lease = await backend.leases.create({}, { signal });
      opened.push({ backend, lease: lease.id });
      return backend.withLease(lease.id);
    },
    async closeAll() {
      for (const { backend, lease } of opened.splice(0)) {
        await backend.leases.delete(lease, { signal });
        await backend.close();
      }
    },
  };
}
