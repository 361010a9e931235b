// Behaviour specific to the OCI-layout backend (the shared contract covers the rest): read-only mode,
// how names address index.json entries, what put keeps, refusal to point at missing blobs, opening
// non-layouts, and an ingest left hard-linked to its blob by a crash between commit and clean-up.
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOciLayout, REF_NAME_ANNOTATION } from '../../../src/oci-layout/index.js';
import { sha256Digest } from '../../../src/oci/digest.js';
import type { Index } from '../../../src/oci/types.js';
import { DigestWorker } from '../../../src/stream/digest-worker.js';
import { openWriterRetrying } from '../../contract/content-store-contract.js';
import { putBlob, sig, writeSampleImage } from '../../helpers/oci-sample.js';

describe('OCI layout backend specifics', () => {
  let tmp: string;
  let n = 0;
  const fresh = (): string => join(tmp, `layout-${n++}`);
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsconvert-layout-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('creates a valid empty layout for writing, and refuses to open non-layouts for reading', async () => {
    const dir = fresh();
    await (await openOciLayout({ path: dir, mode: 'write', signal: sig() })).close();
    expect(JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    expect(JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'))).toMatchObject({
      schemaVersion: 2,
      manifests: [],
    });
    await expect(openOciLayout({ path: fresh(), mode: 'read', signal: sig() })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const plain = fresh();
    await mkdir(plain);
    await expect(openOciLayout({ path: plain, mode: 'read', signal: sig() })).rejects.toMatchObject({
      code: 'MALFORMED',
      message: expect.stringContaining('has no oci-layout file'),
    });
    await writeFile(join(plain, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    await expect(openOciLayout({ path: plain, mode: 'write', signal: sig() })).rejects.toMatchObject({
      code: 'MALFORMED',
    });
  });

  it('refuses every write when opened read-only', async () => {
    const dir = fresh();
    const w = await openOciLayout({ path: dir, mode: 'write', signal: sig() });
    const target = await writeSampleImage(w.content, 'ro');
    await w.images.put({ name: 'v1', labels: {}, target }, { signal: sig() });
    const r = await openOciLayout({ path: dir, mode: 'read', signal: sig() });
    const refused = { code: 'FAILED_PRECONDITION' };
    await expect(r.content.openWriter({ ref: 'x', signal: sig() })).rejects.toMatchObject(refused);
    await expect(r.content.abortIngest('x', { signal: sig() })).rejects.toMatchObject(refused);
    await expect(r.images.put({ name: 'v2', labels: {}, target }, { signal: sig() })).rejects.toMatchObject(
      refused,
    );
    await expect(r.images.delete('v1', { signal: sig() })).rejects.toMatchObject(refused);
    expect((await r.images.get('v1', { signal: sig() })).target.digest).toBe(target.digest);
  });

  it('addresses entries: "" is the only image for get, and an unnamed entry for put', async () => {
    const dir = fresh();
    const b = await openOciLayout({ path: dir, mode: 'write', signal: sig() });
    await expect(b.images.get('', { signal: sig() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const one = await writeSampleImage(b.content, 'one');
    await b.images.put({ name: '', labels: {}, target: one }, { signal: sig() });
    await b.images.put({ name: '', labels: {}, target: one }, { signal: sig() });
    expect(await b.images.get('', { signal: sig() })).toMatchObject({
      name: '',
      target: { digest: one.digest },
    });
    const two = await writeSampleImage(b.content, 'two');
    await b.images.put({ name: 'v2', labels: {}, target: two }, { signal: sig() });
    await expect(b.images.get('', { signal: sig() })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      hint: expect.stringContaining('"v2"'),
    });
    expect((await b.images.list({ signal: sig() })).map((r) => r.name)).toEqual(['', 'v2']);
  });

  it('keeps other annotations and index fields, moves ref.name into the record name, ignores labels', async () => {
    const dir = fresh();
    const b = await openOciLayout({ path: dir, mode: 'write', signal: sig() });
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Index;
    await writeFile(join(dir, 'index.json'), JSON.stringify({ ...index, annotations: { keep: 'me' } }));
    const target = await writeSampleImage(b.content, 'annot');
    const annotations = {
      'org.opencontainers.image.created': '2026-01-01T00:00:00Z',
      [REF_NAME_ANNOTATION]: 'old',
    };
    const rec = await b.images.put(
      { name: 'new', labels: { ignored: 'yes' }, target: { ...target, annotations } },
      { signal: sig() },
    );
    expect(rec).toEqual({
      name: 'new',
      labels: {},
      target: { ...target, annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' } },
    });
    const onDisk = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Index;
    expect(onDisk.annotations).toEqual({ keep: 'me' });
    expect(onDisk.manifests[0]?.annotations).toEqual({ ...annotations, [REF_NAME_ANNOTATION]: 'new' });
    expect(await b.images.get('new', { signal: sig() })).toEqual(rec);
  });

  it('never points index.json at a blob that is not in the layout, and rejects invalid names', async () => {
    const b = await openOciLayout({ path: fresh(), mode: 'write', signal: sig() });
    const missing = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256Digest('x'),
      size: 1,
    };
    await expect(
      b.images.put({ name: 'v1', labels: {}, target: missing }, { signal: sig() }),
    ).rejects.toMatchObject({
      code: 'MISSING_CONTENT',
    });
    expect(await b.images.list({ signal: sig() })).toEqual([]);
    const target = await writeSampleImage(b.content, 'names');
    await expect(
      b.images.put({ name: 'bad name', labels: {}, target }, { signal: sig() }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('does not write through an ingest left hard-linked to its blob by a crash after commit', async () => {
    const dir = fresh();
    const b = await openOciLayout({ path: dir, mode: 'write', signal: sig() });
    const data = randomBytes(4096);
    const blob = await putBlob(b.content, data, 'application/octet-stream');
    const ingest = join(dir, '.tsconvert-ingest', createHash('sha256').update('leftover').digest('hex'));
    await mkdir(ingest, { recursive: true });
    await link(join(dir, 'blobs/sha256', blob.digest.slice(7)), join(ingest, 'data'));
    await writeFile(join(ingest, 'meta.json'), JSON.stringify({ ref: 'leftover' }));
    const w = await b.content.openWriter({ ref: 'leftover', signal: sig() });
    expect(w.offset).toBe(0);
    await w.write(randomBytes(10));
    await w.abort();
    expect(sha256Digest(await readFile(join(dir, 'blobs/sha256', blob.digest.slice(7))))).toBe(blob.digest);
  });

  it('leaves no ingest directory when the signal fires while the writer is being opened', async () => {
    // Seen in CI: a failed run aborted a sibling's openWriter between its mkdir and its lock, and the
    // empty ingest directory stayed behind with no writer to abort it.
    const dir = fresh();
    const b = await openOciLayout({ path: dir, mode: 'write', signal: sig() });
    for (let i = 0; i < 20; i++) {
      const ctl = new AbortController();
      const opening = b.content.openWriter({ ref: `r${i}`, signal: ctl.signal });
      // Let it get a little way in: past the synchronous checks, sometimes past mkdir and the lock.
      await new Promise((r) => setImmediate(r));
      for (let k = 0; k < i % 4; k++) await new Promise((r) => setImmediate(r));
      ctl.abort(new Error('stop'));
      const w = await opening.catch(() => undefined);
      await w?.abort();
      expect(await readdir(join(dir, '.tsconvert-ingest')).catch(() => [])).toEqual([]);
    }
  });

  it('lists ingests with their expected digest and total; leases are accepted and do nothing', async () => {
    const b = await openOciLayout({ path: fresh(), mode: 'write', signal: sig() });
    const expected = sha256Digest('hello');
    const w = await b.content.openWriter({ ref: 'r1', expected, total: 5, signal: sig() });
    await w.write(Buffer.from('he'));
    expect(await b.content.listIngests({ signal: sig() })).toEqual([
      { ref: 'r1', offset: 2, total: 5, expected },
    ]);
    await w.abort();
    const lease = await b.leases.create({ a: 'b' }, { signal: sig() });
    await b.leases.addContent(lease.id, expected, { signal: sig() });
    await b.leases.delete(lease.id, { signal: sig() });
    expect(b.withLease(lease.id)).toBe(b);
    expect(b.kind).toBe('oci layout');
  });

  it("hashes what it is sent with the caller's hasher: resumed bytes, writes after a truncate, the commit", async () => {
    const b = await openOciLayout({ path: fresh(), mode: 'write', signal: sig() });
    const worker = new DigestWorker();
    let opened = 0;
    const hasher = (): ReturnType<DigestWorker['open']> => {
      opened++;
      return worker.open();
    };
    try {
      const first = randomBytes(300_000);
      const interrupted = new AbortController();
      const w1 = await b.content.openWriter({ ref: 'h', hasher, signal: interrupted.signal });
      await w1.write(first);
      await w1.truncate();
      await w1.write(first.subarray(0, 1000));
      // Interrupted: the next writer of the ref resumes the ingest and hashes its 1000 bytes again.
      interrupted.abort();
      await expect(w1.write(first)).rejects.toMatchObject({ code: 'CANCELLED' });
      const w2 = await openWriterRetrying(b.content, { ref: 'h', hasher, signal: sig() });
      expect(w2.offset).toBe(1000);
      const rest = randomBytes(2_000_000);
      await w2.write(rest);
      const whole = Buffer.concat([first.subarray(0, 1000), rest]);
      const done = await w2.commit({ size: whole.length });
      expect(done.digest).toBe(sha256Digest(whole));
      expect(opened).toBe(3);
      const blob = await readFile(join(b.root, 'blobs', 'sha256', done.digest.slice('sha256:'.length)));
      expect(`sha256:${createHash('sha256').update(blob).digest('hex')}`).toBe(done.digest);
    } finally {
      await worker.close();
      await b.close();
    }
  });

  it('with hashFile, hashes the written file once at commit, on the digest thread, and nothing as it passes', async () => {
    const b = await openOciLayout({ path: fresh(), mode: 'write', signal: sig() });
    const worker = new DigestWorker();
    const hashed: number[] = [];
    try {
      const data = randomBytes(3_000_000);
      const w = await b.content.openWriter({
        ref: 'f',
        hasher: () => {
          throw new Error('no running hash wanted');
        },
        hashFile: (path, size) => {
          hashed.push(size);
          return worker.hashFile(path, size);
        },
        signal: sig(),
      });
      await w.write(randomBytes(1000));
      await w.truncate();
      await w.write(data.subarray(0, 1_000_000));
      await w.write(data.subarray(1_000_000));
      await expect(w.commit({ size: data.length, expected: sha256Digest(randomBytes(10)) })).rejects.toThrow(
        /unexpected digest/,
      );
      const done = await w.commit({ size: data.length, expected: sha256Digest(data) });
      expect(done.digest).toBe(sha256Digest(data));
      expect(hashed).toEqual([data.length, data.length]);
    } finally {
      await worker.close();
      await b.close();
    }
  });
});
