// The containerd ContentStore against a real daemon: writes are checked with `ctr content get`, and every
// Write-stream quirk from the reference notes (resume, truncate, failed commit, ALREADY_EXISTS) is exercised.
// Every blob goes over the Write stream here; containerd-ingest-files.test.ts covers the ingest-file path.
import { afterEach, describe, expect, it } from 'vitest';
import type { ContainerdBackend } from '../../src/containerd/backend.js';
import { WRITE_CHUNK_SIZE } from '../../src/containerd/content-writer.js';
import { TsconvertError } from '../../src/errors.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { openTestBackend, collect, randomBlob, type TestBackend } from '../helpers/backend.js';
import { ctr, recordingLogger } from '../helpers/containerd.js';

let current: (TestBackend & { lease: string }) | undefined;

/**
 * A backend whose writes a lease holds: the blobs here are referenced by nothing, so without one a garbage
 * collection that another test file's deletion triggers could take a blob between its commit and read-back.
 */
async function open(logger = recordingLogger()): Promise<TestBackend & { backend: ContainerdBackend }> {
  const opened = await openTestBackend(logger, 'content', { writeIngestFiles: false });
  const lease = await opened.backend.leases.create({}, { signal: opened.signal });
  current = { ...opened, lease: lease.id };
  return { ...opened, backend: opened.backend.withLease(lease.id) };
}

afterEach(async () => {
  if (current === undefined) return;
  await current.backend.leases.delete(current.lease, { signal: current.signal });
  await current.backend.close();
  current = undefined;
});

describe('containerd content store', () => {
  it('lists only the blobs that carry a label key with / and . in it (the reuse records lookup)', async () => {
    const { backend, signal } = await open();
    const key = 'io.tsconvert/reuse.0123abcd';
    const put = async (body: string, labels: Record<string, string>): Promise<string> => {
      const data = Buffer.from(body);
      const writer = await backend.content.openWriter({ ref: `list-${body}`, signal });
      await writer.write(data);
      return (await writer.commit({ size: data.length, labels })).digest;
    };
    const labelled = await put('labelled', { [key]: '{"v":1}' });
    await put('other key', { 'io.tsconvert/reuse.0123abce': 'x' });
    await put('no labels', {});
    const found = await backend.content.list([`labels."${key}"`], { signal });
    expect(found).toEqual([{ digest: labelled, size: 8, labels: { [key]: '{"v":1}' } }]);
    expect(await backend.content.list([`labels."io.tsconvert/reuse.none"`], { signal })).toEqual([]);
  });

  it('writes, commits and reads back a blob that ctr sees byte for byte', async () => {
    const { backend, namespace, signal } = await open();
    const data = Buffer.from('hello from tsconvert\n');
    const writer = await backend.content.openWriter({ ref: 'basic-1', signal });
    expect(writer.offset).toBe(0);
    await writer.write(data);
    const result = await writer.commit({
      size: data.length,
      expected: sha256Digest(data),
      labels: { a: '1' },
    });
    expect(result).toEqual({ digest: sha256Digest(data), size: data.length, existed: false });

    const fromCtr = await ctr(['content', 'get', result.digest], { namespace });
    expect(fromCtr.code).toBe(0);
    expect(fromCtr.stdoutBytes.equals(data)).toBe(true);
    expect(await collect(backend.content.read(result.digest, { signal }))).toEqual(data);
    expect(await collect(backend.content.read(result.digest, { signal, offset: 6, size: 4 }))).toEqual(
      Buffer.from('from'),
    );
    const info = await backend.content.info(result.digest, { signal });
    expect(info).toEqual({ digest: result.digest, size: data.length, labels: { a: '1' } });
    expect(await backend.content.listIngests({ signal })).toEqual([]);
  });

  it('writes and reads a blob larger than the 16 MiB message limit', async () => {
    const { backend, namespace, signal } = await open();
    const data = randomBlob(20 * 1024 * 1024 + 123);
    const writer = await backend.content.openWriter({ ref: 'big-1', signal, total: data.length });
    // One write call with the whole buffer: the writer must split it into small messages.
    await writer.write(data);
    const result = await writer.commit({ size: data.length, expected: sha256Digest(data) });
    expect(result.digest).toBe(sha256Digest(data));
    const fromCtr = await ctr(['content', 'get', result.digest], { namespace });
    expect(sha256Digest(fromCtr.stdoutBytes)).toBe(result.digest);
    const back = await collect(backend.content.read(result.digest, { signal }));
    expect(back.length).toBe(data.length);
    expect(back.equals(data)).toBe(true);
  });

  it('resumes a stale ingest: the new stream reports the offset and the commit is right', async () => {
    const logger = recordingLogger();
    const { backend, signal } = await open(logger);
    const data = randomBlob(9 * WRITE_CHUNK_SIZE + 777);
    const firstPart = 6 * WRITE_CHUNK_SIZE + 10; // 7 messages, all acknowledged when write() resolves
    const first = new AbortController();
    const writer1 = await backend.content.openWriter({ ref: 'resume-1', signal: first.signal });
    await writer1.write(data.subarray(0, firstPart));
    first.abort(new Error('simulated crash')); // drops the stream; the ingest stays
    await expect(writer1.write(data)).rejects.toMatchObject({ code: 'CANCELLED' });

    const writer2 = await backend.content.openWriter({ ref: 'resume-1', signal, total: data.length });
    const resumed = writer2.offset;
    expect(resumed).toBe(firstPart);
    const ingests = await backend.content.listIngests({ signal });
    expect(ingests).toContainEqual(expect.objectContaining({ ref: 'resume-1', offset: resumed }));
    await writer2.write(data.subarray(resumed));
    const result = await writer2.commit({ size: data.length, expected: sha256Digest(data) });
    expect(result.digest).toBe(sha256Digest(data));
    expect((await collect(backend.content.read(result.digest, { signal }))).equals(data)).toBe(true);
    const opened = logger.records.filter((r) => r.msg === 'content write stream opened');
    expect(opened.map((r) => r.obj.ref)).toEqual(['resume-1', 'resume-1']);
  });

  it('resumes exactly where a failed commit left the ingest', async () => {
    const { backend, signal } = await open();
    const data = Buffer.from('resumable content, written in two sessions');
    const w1 = await backend.content.openWriter({ ref: 'resume-2', signal });
    await w1.write(data.subarray(0, 17));
    await expect(w1.commit({ size: data.length })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    const w2 = await backend.content.openWriter({ ref: 'resume-2', signal, total: data.length });
    expect(w2.offset).toBe(17);
    await w2.write(data.subarray(17));
    expect(await w2.commit({ size: data.length, expected: sha256Digest(data) })).toMatchObject({
      digest: sha256Digest(data),
      existed: false,
    });
  });

  it('truncates an ingest back to zero', async () => {
    const { backend, signal } = await open();
    const stale = await backend.content.openWriter({ ref: 'trunc-1', signal });
    await stale.write(Buffer.from('garbage that must go'));
    await stale.truncate();
    expect(stale.offset).toBe(0);
    await stale.write(Buffer.from('world'));
    const result = await stale.commit({ size: 5 });
    expect(result).toMatchObject({ digest: sha256Digest('world'), size: 5, existed: false });
    expect((await collect(backend.content.read(result.digest, { signal }))).toString()).toBe('world');
  });

  it('truncates a resumed ingest whose leftovers are longer than the expected total', async () => {
    const { backend, signal } = await open();
    const stale = await backend.content.openWriter({ ref: 'trunc-2', signal });
    await stale.write(Buffer.from('0123456789'));
    await expect(stale.commit({ size: 99 })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect(await backend.content.listIngests({ signal })).toEqual([
      expect.objectContaining({ ref: 'trunc-2', offset: 10 }),
    ]);
    const writer = await backend.content.openWriter({ ref: 'trunc-2', signal, total: 3 });
    expect(writer.offset).toBe(0);
    await writer.write(Buffer.from('abc'));
    const result = await writer.commit({ size: 3 });
    expect(result.digest).toBe(sha256Digest('abc'));
  });

  it('a commit with the wrong digest fails with FAILED_PRECONDITION and keeps the ingest', async () => {
    const { backend, namespace, signal } = await open();
    const writer = await backend.content.openWriter({ ref: 'wrong-digest', signal });
    await writer.write(Buffer.from('some bytes'));
    const err: unknown = await writer
      .commit({ expected: sha256Digest('other bytes') })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TsconvertError);
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect((err as Error).message).toContain('unexpected commit digest');
    expect(await backend.content.listIngests({ signal })).toEqual([
      expect.objectContaining({ ref: 'wrong-digest', offset: 10 }),
    ]);
    const active = await ctr(['content', 'active'], { namespace });
    expect(active.stdout).toContain('wrong-digest');
    await writer.abort();
    await writer.abort(); // safe twice
    expect(await backend.content.listIngests({ signal })).toEqual([]);
    await expect(backend.content.abortIngest('wrong-digest', { signal })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('a commit with the wrong size fails with FAILED_PRECONDITION', async () => {
    const { backend, signal } = await open();
    const writer = await backend.content.openWriter({ ref: 'wrong-size', signal });
    await writer.write(Buffer.from('12345'));
    await expect(writer.commit({ size: 6 })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringContaining('failed size validation') as unknown,
    });
    await writer.abort();
  });

  it('treats ALREADY_EXISTS on commit as success and applies the new labels', async () => {
    const { backend, namespace, signal } = await open();
    const data = Buffer.from('duplicate blob');
    const w1 = await backend.content.openWriter({ ref: 'dup-1', signal });
    await w1.write(data);
    await w1.commit({ labels: { first: 'yes' } });
    const w2 = await backend.content.openWriter({ ref: 'dup-2', signal });
    await w2.write(data);
    const again = await w2.commit({ labels: { second: 'yes' } });
    expect(again).toEqual({ digest: sha256Digest(data), size: data.length, existed: true });
    const info = await backend.content.info(sha256Digest(data), { signal });
    expect(info.labels).toEqual({ first: 'yes', second: 'yes' });
    const ls = await ctr(['content', 'ls'], { namespace });
    expect(ls.stdout).toMatch(/first=yes/);
    expect(ls.stdout).toMatch(/second=yes/);
    expect(await backend.content.listIngests({ signal })).toEqual([]);

    // With `expected` known up front the daemon refuses at open: the caller can skip the work.
    await expect(
      backend.content.openWriter({ ref: 'dup-3', signal, expected: sha256Digest(data) }),
    ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('sets and removes single labels without touching the others', async () => {
    const { backend, signal } = await open();
    const w = await backend.content.openWriter({ ref: 'labels-1', signal });
    await w.write(Buffer.from('labelled'));
    const { digest } = await w.commit({ labels: { keep: 'k', drop: 'd' } });
    const info = await backend.content.updateLabels(digest, { drop: undefined, add: 'a' }, { signal });
    expect(info.labels).toEqual({ keep: 'k', add: 'a' });
    expect((await backend.content.updateLabels(digest, {}, { signal })).labels).toEqual({
      keep: 'k',
      add: 'a',
    });
  });

  it('maps daemon errors: missing blob, bad digest, read past the end', async () => {
    const { backend, signal } = await open();
    const missing = sha256Digest('never written');
    await expect(backend.content.info(missing, { signal })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `content digest ${missing}: not found`,
    });
    await expect(collect(backend.content.read(missing, { signal }))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const w = await backend.content.openWriter({ ref: 'short', signal });
    await w.write(Buffer.from('short'));
    const { digest } = await w.commit({});
    await expect(collect(backend.content.read(digest, { signal, offset: 99 }))).rejects.toMatchObject({
      code: 'OUT_OF_RANGE',
    });
  });

  it('stops reading when the consumer stops, and rejects with CANCELLED when the signal fires', async () => {
    const { backend, signal } = await open();
    const data = randomBlob(8 * 1024 * 1024);
    const w = await backend.content.openWriter({ ref: 'read-cancel', signal });
    await w.write(data);
    const { digest } = await w.commit({});
    for await (const chunk of backend.content.read(digest, { signal })) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    const ac = new AbortController();
    const chunks: Uint8Array[] = [];
    const reading = (async () => {
      for await (const chunk of backend.content.read(digest, { signal: ac.signal })) {
        chunks.push(chunk);
        if (chunks.length === 1) ac.abort(new Error('stop reading'));
      }
    })();
    await expect(reading).rejects.toMatchObject({ code: 'CANCELLED', message: 'stop reading' });
    expect(chunks.length).toBeLessThan(8);
    // The connection is still good after both cancellations.
    expect((await collect(backend.content.read(digest, { signal }))).equals(data)).toBe(true);
  });
});
