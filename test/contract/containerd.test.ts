// Runs the shared content-store contract on the containerd backend, in a fresh namespace of the private
// test daemon started by test/setup/global-containerd.ts.
import { connectContainerd } from '../../src/containerd/connection.js';
import { silentLogger } from '../../src/util/log.js';
import { newNamespace, testContainerd } from '../helpers/containerd.js';
import { describeContentStoreContract } from './content-store-contract.js';

describeContentStoreContract(
  'containerd',
  async () => {
    const backend = await connectContainerd({
      address: testContainerd().address,
      namespace: newNamespace('contract'),
      logger: silentLogger,
      signal: new AbortController().signal,
    });
    return { backend, cleanup: () => backend.close() };
  },
  { labels: true },
);
