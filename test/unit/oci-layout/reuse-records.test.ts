// Reuse records (issue 21): the record encoding both backends share, and the `oci:` layout's record files:
// written whole, read back only for the same key and only while the result blob is there at its size; a
// damaged, oversized or non-file record is ignored (the layer is converted again and the record replaced);
// a dead run's half-written record temp file is removed by the layout's clean-up, records are not.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOciLayout } from '../../../src/oci-layout/index.js';
import { cleanupLayout } from '../../../src/oci-layout/dead-runs.js';
import { sha256Digest } from '../../../src/oci/digest.js';
import { MediaType } from '../../../src/oci/media-types.js';
import { decodeRecord, encodeRecord, recordId, type ReuseRecord } from '../../../src/store/reuse-store.js';
import { currentOwner, formatOwner } from '../../../src/util/run-owner.js';
import { putBlob, sig } from '../../helpers/oci-sample.js';

const opts = { signal: sig() };
const source = sha256Digest('source layer');
const key = { source, options: 'zstd/1 level=3' };

function recordFor(result: { digest: string; size: number }): ReuseRecord {
  return {
    ...key,
    result: result.digest as ReuseRecord['result'],
    size: result.size,
    diffId: sha256Digest('tar'),
    format: 'zstd',
    annotations: { 'example.com/a': 'b' },
  };
}

describe('reuse record encoding', () => {
  it('reads back a record only for the key it was written for', () => {
    const record = recordFor({ digest: sha256Digest('x'), size: 1 });
    expect(decodeRecord(encodeRecord(record), key)).toEqual(record);
    expect(decodeRecord(encodeRecord(record), { ...key, options: 'zstd/1 level=4' })).toBeUndefined();
    expect(decodeRecord(encodeRecord(record), { ...key, source: sha256Digest('other') })).toBeUndefined();
    expect(recordId(key)).not.toBe(recordId({ ...key, options: 'zstd/1 level=4' }));
    const warned = { ...record, reason: 'not zstd:chunked: why', warnings: ['a reader loses x'] };
    expect(decodeRecord(encodeRecord(warned), key)).toEqual(warned);
  });

  it('ignores what is not a well-formed record', () => {
    const good = JSON.parse(encodeRecord(recordFor({ digest: sha256Digest('x'), size: 1 }))) as object;
    for (const bad of [
      undefined,
      '',
      'not json',
      'null',
      '[]',
      JSON.stringify({ ...good, v: 2 }),
      JSON.stringify({ ...good, result: 'sha256:short' }),
      JSON.stringify({ ...good, size: -1 }),
      JSON.stringify({ ...good, size: 1.5 }),
      JSON.stringify({ ...good, annotations: { a: 1 } }),
      JSON.stringify({ ...good, reason: 7 }),
      JSON.stringify({ ...good, warnings: 'one' }),
      JSON.stringify({ ...good, warnings: [1] }),
    ])
      expect(decodeRecord(bad, key), String(bad)).toBeUndefined();
  });
});

describe('layout reuse records', () => {
  let tmp: string;
  let n = 0;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsconvert-reuse-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  async function layoutWithBlob() {
    const dir = join(tmp, `layout-${n++}`);
    const layout = await openOciLayout({ path: dir, mode: 'write', signal: sig() });
    const blob = await putBlob(layout.content, Buffer.from('converted layer'), MediaType.ociLayerZstd);
    const reuse = layout.reuse;
    if (reuse === undefined) throw new Error('a writable layout directory has a reuse store');
    const file = join(dir, '.tsconvert-reuse', `${recordId(key)}.json`);
    return { dir, layout, blob, reuse, file };
  }

  it('finds a record it wrote while the blob is there at its size; not after the blob is gone', async () => {
    const { layout, blob, reuse, dir } = await layoutWithBlob();
    expect(await reuse.find(key, opts)).toBeUndefined();
    await reuse.put(recordFor(blob), opts);
    expect(await reuse.find(key, opts)).toEqual(recordFor(blob));
    await reuse.put({ ...recordFor(blob), size: blob.size + 1 }, opts);
    expect(await reuse.find(key, opts)).toBeUndefined();
    await reuse.put(recordFor(blob), opts);
    await rm(join(dir, 'blobs', 'sha256', blob.digest.slice(7)));
    expect(await reuse.find(key, opts)).toBeUndefined();
    await layout.close();
  });

  it('ignores a damaged, oversized or non-file record, and a later put replaces it', async () => {
    const { layout, blob, reuse, file } = await layoutWithBlob();
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, '{"v":1,"source":');
    expect(await reuse.find(key, opts)).toBeUndefined();
    await writeFile(file, ' '.repeat((64 << 10) + 1));
    expect(await reuse.find(key, opts)).toBeUndefined();
    await reuse.put(recordFor(blob), opts);
    expect(await reuse.find(key, opts)).toEqual(recordFor(blob));
    await rm(file);
    await mkdir(file);
    expect(await reuse.find(key, opts)).toBeUndefined();
    await layout.close();
  });

  it('has none in an archive: the archive is rewritten whole and would not keep them', async () => {
    const archive = await openOciLayout({
      path: join(tmp, `archive-${n++}.tar`),
      archive: true,
      mode: 'write',
      signal: sig(),
    });
    expect(archive.reuse).toBeUndefined();
    await archive.close();
  });

  it("the layout's clean-up removes a dead run's record temp file and keeps records", async () => {
    const { layout, blob, reuse, dir } = await layoutWithBlob();
    await reuse.put(recordFor(blob), opts);
    const me = currentOwner();
    const dead = formatOwner({ ...me, start: String(Number(me.start) + 1) });
    const live = formatOwner(me);
    const records = join(dir, '.tsconvert-reuse');
    const name = (owner: string): string => `.${recordId(key)}.json.tmp-${owner}-0123456789ab`;
    await writeFile(join(records, name(dead)), '{"v":1');
    await writeFile(join(records, name(live)), '{"v":1');
    const removed = await cleanupLayout(dir, sig());
    expect(removed).toEqual([expect.stringContaining(name(dead))]);
    expect((await readdir(records)).sort()).toEqual([name(live), `${recordId(key)}.json`].sort());
    expect(await reuse.find(key, opts)).toEqual(recordFor(blob));
    await layout.close();
  });
});
