// Runs the shared content-store contract on the OCI-layout backend over a fresh directory layout.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openOciLayout } from '../../src/oci-layout/index.js';
import { describeContentStoreContract } from './content-store-contract.js';

describeContentStoreContract(
  'oci layout (directory)',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsconvert-contract-'));
    const backend = await openOciLayout({
      path: join(dir, 'layout'),
      mode: 'write',
      signal: new AbortController().signal,
    });
    return {
      backend,
      async cleanup(): Promise<void> {
        await backend.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { labels: false },
);
