// Runs the shared content-store contract on the containerd backend, in a fresh namespace of the private
// test daemon started by test/setup/global-containerd.ts.
import { connectContainerd } from '../../src/containerd/connection.js';
import { silentLogger } from '../../src/util/log.js';
import { newNamespace, testContainerd } from '../helpers/containerd.js';
import { describeContentStoreContract } from './content-store-contract.js';

// Twice: blobs read from and large blobs written into the daemon's content directory (the default), and
// everything over the gRPC content service.
for (const files of [true, false]) {
  describeContentStoreContract(
    files ? 'containerd' : 'containerd, everything over gRPC',
    async () => {
      const signal = new AbortController().signal;
      const backend = await connectContainerd({
        address: testContainerd().address,
        namespace: newNamespace('contract'),
        logger: silentLogger,
        signal,
        readBlobFiles: files,
        writeIngestFiles: files,
      });
      // The cases' blobs are referenced by nothing; without a lease, a garbage collection that another test
      // file's deletion triggers may remove one between its commit and its read-back.
      const lease = await backend.leases.create({}, { signal });
      return {
        backend: backend.withLease(lease.id),
        cleanup: async () => {
          await backend.leases.delete(lease.id, { signal });
          await backend.close();
        },
      };
    },
    { labels: true },
  );
}
