// Image records and leases against the real daemon, checked with `ctr images ls` / `ctr leases ls`.
import { afterEach, describe, expect, it } from 'vitest';
import type { ContainerdBackend } from '../../src/containerd/backend.js';
import { sha256Digest, type Digest } from '../../src/oci/digest.js';
import { openTestBackend, type TestBackend } from '../helpers/backend.js';
import { ctr } from '../helpers/containerd.js';

let current: TestBackend | undefined;

afterEach(async () => {
  await current?.backend.close();
  current = undefined;
});

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

async function putBlob(backend: ContainerdBackend, text: string, signal: AbortSignal): Promise<Digest> {
  const writer = await backend.content.openWriter({ ref: `blob-${sha256Digest(text)}`, signal });
  await writer.write(Buffer.from(text));
  return (await writer.commit({ size: Buffer.byteLength(text) })).digest;
}

describe('containerd image store', () => {
  it('creates, then replaces a record keeping created_at', async () => {
    current = await openTestBackend(undefined, 'images');
    const { backend, namespace, signal } = current;
    const first = await putBlob(backend, '{"first":true}', signal);
    const second = await putBlob(backend, '{"second":true}', signal);
    const name = 'example.com/tsconvert/test:v1';

    const created = await backend.images.put(
      { name, labels: { old: 'label' }, target: { mediaType: MANIFEST, digest: first, size: 14 } },
      { signal },
    );
    expect(created.target).toEqual({ mediaType: MANIFEST, digest: first, size: 14 });
    expect(created.createdAt).toBeInstanceOf(Date);
    await new Promise((resolve) => setTimeout(resolve, 20));

    const replaced = await backend.images.put(
      {
        name,
        labels: { new: 'label' },
        target: { mediaType: MANIFEST, digest: second, size: 15, annotations: { a: 'b' } },
      },
      { signal },
    );
    expect(replaced.labels).toEqual({ new: 'label' }); // whole record replaced, old label gone
    expect(replaced.target).toEqual({
      mediaType: MANIFEST,
      digest: second,
      size: 15,
      annotations: { a: 'b' },
    });
    expect(replaced.createdAt?.getTime()).toBe(created.createdAt?.getTime());
    expect(replaced.updatedAt!.getTime()).toBeGreaterThan(created.updatedAt!.getTime());

    expect(await backend.images.get(name, { signal })).toEqual(replaced);
    expect((await backend.images.list({ signal })).map((i) => i.name)).toEqual([name]);
    const ls = await ctr(['images', 'ls'], { namespace });
    expect(ls.stdout).toContain(name);
    expect(ls.stdout).toContain(second);
  });

  it('deletes (sync) and reports missing images as NOT_FOUND', async () => {
    current = await openTestBackend(undefined, 'images');
    const { backend, namespace, signal } = current;
    const digest = await putBlob(backend, '{"gone":true}', signal);
    await backend.images.put(
      { name: 'gone:latest', labels: {}, target: { mediaType: MANIFEST, digest, size: 13 } },
      { signal },
    );
    await backend.images.delete('gone:latest', { signal, sync: true });
    await expect(backend.images.get('gone:latest', { signal })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'image "gone:latest": not found in containerd',
      hint: expect.stringContaining('ctr images ls') as unknown,
    });
    await expect(backend.images.delete('gone:latest', { signal })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect((await ctr(['images', 'ls', '-q'], { namespace })).stdout.trim()).toBe('');
  });

  it('passes the daemon validation message through', async () => {
    current = await openTestBackend(undefined, 'images');
    const { backend, signal } = current;
    await expect(
      backend.images.put(
        {
          name: 'zero:size',
          labels: {},
          target: { mediaType: MANIFEST, digest: sha256Digest('x'), size: 0 },
        },
        { signal },
      ),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'Target.Size must be greater than zero: invalid argument',
    });
  });
});

describe('containerd leases', () => {
  it('creates a lease with labels, holds content in it, and deletes it', async () => {
    current = await openTestBackend(undefined, 'leases');
    const { backend, namespace, signal } = current;
    const lease = await backend.leases.create(
      { 'containerd.io/gc.expire': '2099-01-01T00:00:00Z' },
      { signal },
    );
    expect(lease.id).not.toBe('');
    expect(lease.labels).toEqual({ 'containerd.io/gc.expire': '2099-01-01T00:00:00Z' });
    expect((await ctr(['leases', 'ls'], { namespace })).stdout).toContain(lease.id);

    // Content committed through a withLease view is a resource of that lease.
    const leased = backend.withLease(lease.id);
    const viaHeader = await putBlob(leased, 'written under the lease', signal);
    const other = await putBlob(backend, 'added explicitly', signal);
    await backend.leases.addContent(lease.id, other, { signal });
    const resources = await backend.leases.listResources(lease.id, { signal });
    expect(resources).toEqual(
      expect.arrayContaining([
        { type: 'content', id: viaHeader },
        { type: 'content', id: other },
      ]),
    );

    await backend.leases.delete(lease.id, { signal });
    expect((await ctr(['leases', 'ls'], { namespace })).stdout).not.toContain(lease.id);
    await expect(backend.leases.delete(lease.id, { signal })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `lease "${lease.id}": not found`,
    });
    await expect(backend.leases.addContent('no-such-lease', other, { signal })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
