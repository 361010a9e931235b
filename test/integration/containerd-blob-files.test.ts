// Blob reads from containerd's content directory (src/containerd/blob-files.ts) against the real daemon:
// reads come from the file the content plugin's exported root names, keep the namespace's view (a blob
// another namespace wrote is NOT_FOUND), and fall back to gRPC when the files are out of reach.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BlobFiles } from '../../src/containerd/blob-files.js';
import type { ContainerdBackend } from '../../src/containerd/backend.js';
import type { CallContext } from '../../src/containerd/rpc.js';
import { sha256Digest, type Digest } from '../../src/oci/digest.js';
import { silentLogger } from '../../src/util/log.js';
import { collect, leasedConnections, randomBlob } from '../helpers/backend.js';
import { newNamespace, recordingLogger } from '../helpers/containerd.js';

const signal = new AbortController().signal;
const connections = leasedConnections(signal);

function connect(
  namespace: string,
  logger = recordingLogger(),
  readBlobFiles = true,
): Promise<ContainerdBackend> {
  // Writes off with the reads, so nothing asks for the content directory: the gRPC case below checks that.
  return connections.connect({ namespace, logger, readBlobFiles, writeIngestFiles: readBlobFiles });
}

async function store(backend: ContainerdBackend, data: Buffer): Promise<Digest> {
  const w = await backend.content.openWriter({ ref: `blob-files-${sha256Digest(data)}`, signal });
  await w.write(data);
  return (await w.commit({})).digest;
}

afterEach(() => connections.closeAll());

describe('blob reads from the content directory', () => {
  it('reads a blob from the file under the root the content plugin exports', async () => {
    const logger = recordingLogger();
    const backend = await connect(newNamespace('files'), logger);
    const data = randomBlob(3 * 1024 * 1024 + 17);
    const digest = await store(backend, data);

    expect((await collect(backend.content.read(digest, { signal }))).equals(data)).toBe(true);
    const part = await collect(backend.content.read(digest, { signal, offset: 1_000_000, size: 2_000_000 }));
    expect(part.equals(data.subarray(1_000_000, 3_000_000))).toBe(true);

    const found = logger.records.find((r) => r.msg === 'found the content store directory');
    const root = found?.obj.root;
    expect(typeof root).toBe('string');
    // The file really is the blob: containerd keeps it at blobs/<algorithm>/<hex> under that root.
    const file = await readFile(join(root as string, 'blobs', 'sha256', digest.slice('sha256:'.length)));
    expect(file.equals(data)).toBe(true);
    expect(logger.records.some((r) => r.msg.includes('over gRPC'))).toBe(false);
  });

  it('keeps the namespace view: a blob only another namespace has is NOT_FOUND', async () => {
    const writer = await connect(newNamespace('owner'));
    const digest = await store(writer, randomBlob(4096));
    const other = await connect(newNamespace('other'));
    await expect(collect(other.content.read(digest, { signal }))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('reads over gRPC when told to, or when the files are out of reach', async () => {
    const logger = recordingLogger();
    const backend = await connect(newNamespace('grpc'), logger, false);
    const data = randomBlob(2 * 1024 * 1024);
    const digest = await store(backend, data);
    expect((await collect(backend.content.read(digest, { signal }))).equals(data)).toBe(true);
    expect(logger.records.some((r) => r.msg === 'found the content store directory')).toBe(false);

    // A daemon whose content root this process cannot see (another host or mount namespace): a fake
    // Introspection answer, since the real daemon always names a directory that exists here.
    const fake = (answer: (cb: (e: unknown, r?: unknown) => void) => void): CallContext => ({
      address: 'fake',
      namespace: 'fake',
      lease: undefined,
      timeoutMs: 10_000,
      clients: {
        introspection: {
          plugins: (_req: unknown, _md: unknown, _opts: unknown, cb: (e: unknown, r?: unknown) => void) => {
            answer(cb);
            return { cancel: () => undefined };
          },
        },
      } as unknown as CallContext['clients'],
    });
    const withRoot = (root: string) =>
      fake((cb) => cb(null, { plugins: [{ type: 'io.containerd.content.v1', id: 'c', exports: { root } }] }));
    const away = recordingLogger();
    const files = new BlobFiles(withRoot('/nonexistent/tsconvert-test-root'), away);
    expect(await files.open(digest, signal)).toBeUndefined();
    expect(away.records.some((r) => r.msg === 'blob file not readable here, reading over gRPC')).toBe(true);
    // A daemon (or proxy) without the Introspection service.
    const unimplemented = Object.assign(new Error('12 UNIMPLEMENTED: unknown service'), {
      code: 12,
      details: 'unknown service containerd.services.introspection.v1.Introspection',
      metadata: undefined,
    });
    const unanswered = new BlobFiles(
      fake((cb) => cb(unimplemented)),
      silentLogger,
    );
    expect(await unanswered.open(digest, signal)).toBeUndefined();
  });
});
