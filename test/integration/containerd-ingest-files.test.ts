// Large-blob writes through the ingest's data file (src/containerd/ingest-files.ts) against the real daemon:
// the blob lands committed, labelled and leased as over gRPC; containerd itself checks the bytes (a file
// changed behind our back fails the commit); abort leaves no ingest; two writers of one ref do not collide;
// small blobs, --content-writes grpc and a content root out of reach all stay on the Write stream.
import { open, readdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ContainerdBackend } from '../../src/containerd/backend.js';
import { INGEST_FILE_MIN_BYTES, openIngestFileWriter } from '../../src/containerd/ingest-files.js';
import type { CallContext } from '../../src/containerd/rpc.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { collect, leasedConnections, randomBlob } from '../helpers/backend.js';
import { newNamespace, recordingLogger } from '../helpers/containerd.js';

const signal = new AbortController().signal;
const connections = leasedConnections(signal);
const VIA_FILE = 'writing the ingest through its data file';

function connect(
  namespace: string,
  logger = recordingLogger(),
  writeIngestFiles = true,
): Promise<ContainerdBackend> {
  return connections.connect({ namespace, logger, writeIngestFiles });
}

/** Writes in pieces of uneven size, as the layer pipeline does. */
async function writeAll(w: { write(d: Uint8Array): Promise<void> }, data: Buffer): Promise<void> {
  for (let pos = 0, step = 300_001; pos < data.length; pos += step, step = (step * 7) % 900_001 || 1)
    await w.write(data.subarray(pos, pos + step));
}

afterEach(() => connections.closeAll());

describe('large blobs written through the ingest file', () => {
  it('commits a blob with labels and the lease, with containerd hashing what the file holds', async () => {
    const logger = recordingLogger();
    const backend = await connect(newNamespace('ingest'), logger);
    const data = randomBlob(5 * 1024 * 1024 + 3);
    const digest = sha256Digest(data);
    const w = await backend.content.openWriter({ ref: `ingest-files-${digest}`, signal });
    await writeAll(w, data);
    expect(w.offset).toBe(data.length);
    const dir = logger.records.find((r) => r.msg === VIA_FILE)?.obj.dir as string;
    expect(typeof dir).toBe('string');
    expect((await stat(`${dir}/data`)).size).toBe(data.length);

    const result = await w.commit({ expected: digest, labels: { 'test.tsconvert/kind': 'ingest-file' } });
    expect(result).toEqual({ digest, size: data.length, existed: false });
    const info = await backend.content.info(digest, { signal });
    expect(info.labels['test.tsconvert/kind']).toBe('ingest-file');
    expect((await collect(backend.content.read(digest, { signal }))).equals(data)).toBe(true);
    // The lease holds it: nothing else references the blob, yet it is listed among the lease's resources.
    const resources = await backend.leases.listResources(backend.lease as string, { signal });
    expect(resources.some((r) => r.id === digest)).toBe(true);
    expect(await backend.content.listIngests({ signal })).toEqual([]);
    await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('fails the commit when the file no longer holds what we wrote, and abort removes the ingest', async () => {
    const logger = recordingLogger();
    const backend = await connect(newNamespace('ingest-bad'), logger);
    const data = randomBlob(2 * 1024 * 1024);
    const w = await backend.content.openWriter({ ref: `ingest-files-bad-${sha256Digest(data)}`, signal });
    await w.write(data);
    const dir = logger.records.find((r) => r.msg === VIA_FILE)?.obj.dir as string;
    const file = await open(`${dir}/data`, 'r+');
    await file.write(Buffer.from([data[1000]! ^ 0xff]), 0, 1, 1000);
    await file.close();

    await expect(w.commit({ expected: sha256Digest(data) })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
    await w.abort();
    expect(await backend.content.listIngests({ signal })).toEqual([]);
    expect((await readdir(dirname(dir))).includes(dir.slice(dirname(dir).length + 1))).toBe(false);
  });

  it('truncates, and an abort before commit leaves nothing behind', async () => {
    const backend = await connect(newNamespace('ingest-trunc'));
    const data = randomBlob(INGEST_FILE_MIN_BYTES * 2);
    const w = await backend.content.openWriter({ ref: 'ingest-files-truncate', signal });
    await w.write(randomBlob(1_500_000));
    await w.truncate();
    expect(w.offset).toBe(0);
    await w.write(data);
    expect((await w.commit({ expected: sha256Digest(data) })).size).toBe(data.length);

    const dropped = await backend.content.openWriter({ ref: 'ingest-files-dropped', signal });
    await dropped.write(randomBlob(3_000_000));
    await dropped.abort();
    await dropped.abort();
    expect(await backend.content.listIngests({ signal })).toEqual([]);
  });

  it('gives two writers of one ref an ingest each: both finish, the second commit adopts the blob', async () => {
    const logger = recordingLogger();
    const backend = await connect(newNamespace('ingest-pair'), logger);
    const data = randomBlob(3 * 1024 * 1024 + 11);
    const digest = sha256Digest(data);
    // Interleaved: on one shared ingest the second writer would wait for the first's lock, or reset its file.
    const [a, b] = [
      await backend.content.openWriter({ ref: 'ingest-files-pair', signal }),
      await backend.content.openWriter({ ref: 'ingest-files-pair', signal }),
    ];
    expect(a.ref).not.toBe(b.ref);
    expect(a.ref.startsWith('ingest-files-pair@')).toBe(true);
    await a.write(data.subarray(0, 1_000_000));
    await b.write(data.subarray(0, 2_000_000));
    await a.write(data.subarray(1_000_000));
    await b.write(data.subarray(2_000_000));
    expect(await a.commit({ expected: digest })).toEqual({ digest, size: data.length, existed: false });
    expect(await b.commit({ expected: digest })).toEqual({ digest, size: data.length, existed: true });
    expect(logger.records.some((r) => r.msg === 'ingest ref locked, retrying')).toBe(false);
    expect((await collect(backend.content.read(digest, { signal }))).equals(data)).toBe(true);
    expect(await backend.content.listIngests({ signal })).toEqual([]);
  });

  it('adopts a blob that already exists, applying the labels', async () => {
    const backend = await connect(newNamespace('ingest-again'));
    const data = randomBlob(3 * 1024 * 1024);
    const digest = sha256Digest(data);
    for (const [i, existed] of [false, true].entries()) {
      const w = await backend.content.openWriter({ ref: `ingest-files-again-${i}`, signal });
      await w.write(data);
      const labels = { [`test.tsconvert/run-${i}`]: 'yes' };
      expect(await w.commit({ expected: digest, labels })).toEqual({ digest, size: data.length, existed });
    }
    const info = await backend.content.info(digest, { signal });
    expect(info.labels).toMatchObject({ 'test.tsconvert/run-0': 'yes', 'test.tsconvert/run-1': 'yes' });
    expect(await backend.content.listIngests({ signal })).toEqual([]);
  });

  it('keeps small blobs, --content-writes grpc and an unreachable root on the Write stream', async () => {
    const small = recordingLogger();
    const a = await connect(newNamespace('ingest-small'), small);
    const json = randomBlob(4096);
    const w1 = await a.content.openWriter({ ref: 'ingest-files-small', total: json.length, signal });
    await w1.write(json);
    await w1.commit({ expected: sha256Digest(json) });
    expect(small.records.some((r) => r.msg === VIA_FILE)).toBe(false);

    const off = recordingLogger();
    const b = await connect(newNamespace('ingest-off'), off, false);
    const big = randomBlob(2 * 1024 * 1024);
    const w2 = await b.content.openWriter({ ref: 'ingest-files-off', signal });
    await w2.write(big);
    expect((await w2.commit({ expected: sha256Digest(big) })).size).toBe(big.length);
    expect(off.records.some((r) => r.msg === VIA_FILE)).toBe(false);

    // A root this process cannot see (another host or mount namespace): the stream that opened the
    // ingest carries on. The context is the backend's own, reached past TypeScript's `private`.
    const away = recordingLogger();
    const context = (b as unknown as { context: CallContext }).context;
    const w3 = await openIngestFileWriter(
      { context, logger: away, labels: b.content },
      { ref: 'ingest-files-away', signal },
      '/nonexistent/tsconvert-test-root',
    );
    const other = randomBlob(1_200_000);
    await w3.write(other);
    expect((await w3.commit({ expected: sha256Digest(other) })).size).toBe(other.length);
    expect(away.records.some((r) => r.msg === 'ingest file not reachable here, writing over gRPC')).toBe(
      true,
    );
    expect(await b.content.listIngests({ signal })).toEqual([]);
  });
});
