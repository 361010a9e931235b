// The streaming TOC reader against real zstd frames in a real OCI layout: entries handed out in order
// whatever the piece boundaries, the top-level fields wherever they stand, the digests of both forms, and
// one MALFORMED line for every way a TOC can be wrong that JSON.parse would have caught; and, on generated
// documents (whole, cut short, a byte changed), exactly JSON.parse's entries or a refusal.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Digest } from '../../../src/oci/digest.js';
import { readToc } from '../../../src/verify/toc-doc.js';
import { TocEntries, type TocEntry } from '../../../src/verify/toc-entries.js';
import { sig } from '../../helpers/oci-sample.js';
import { Layout, zstdFrame, zstdLayer } from './layers.js';

const layout = new Layout();
afterAll(() => layout.close());

/** A blob of some leading bytes and then the compressed `json`; the range the TOC takes in it. */
async function tocAt(json: string) {
  const lead = Buffer.alloc(100, 1);
  const payload = zstdFrame(Buffer.from(json));
  const desc = await layout.put(Buffer.concat([lead, payload]), zstdLayer);
  const store = (await layout.store()).content;
  return { store, desc, offset: lead.length, length: payload.length, signal: sig(), payload };
}

async function all(json: string): Promise<{ entries: TocEntry[]; reader: TocEntries }> {
  const reader = new TocEntries(await tocAt(json));
  const entries: TocEntry[] = [];
  try {
    for (let e = await reader.next(); e !== undefined; e = await reader.next()) entries.push(e);
  } finally {
    await reader.close();
  }
  return { entries, reader };
}

describe('TocEntries', () => {
  it('hands out every entry in order and keeps version and tarSplitDigest wherever they stand', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => ({ type: 'reg', name: `d/f${i}`, size: i }));
    const json = JSON.stringify({ entries: many, version: 1, tarSplitDigest: 'sha256:ab' });
    const { entries, reader } = await all(json);
    expect(entries).toEqual(many);
    expect(reader.version).toBe(1);
    expect(reader.tarSplitDigest).toBe('sha256:ab');
    expect(reader.json.digest()).toBe(sha256Digest(Buffer.from(json)));
    expect(reader.json.size).toBe(Buffer.byteLength(json));
  });

  it('peek does not take the entry', async () => {
    const reader = new TocEntries(await tocAt('{"version":1,"entries":[{"name":"a"},{"name":"b"}]}'));
    expect((await reader.peek())?.name).toBe('a');
    expect((await reader.next())?.name).toBe('a');
    expect((await reader.next())?.name).toBe('b');
    expect(await reader.next()).toBeUndefined();
    await reader.close();
  });

  it.each([
    ['{"version":1}', 'TOC has no entries array'],
    ['[{"name":"a"}]', 'TOC has no entries array'],
    ['{"version":1,"entries":{"a":{"name":"x"}}}', 'TOC has no entries array'],
    ['{"version":1,"entries":7}', 'TOC has no entries array'],
    ['{"entries":[{"name":"a"}],"entries":[{"name":"b"}]}', 'more than one entries array'],
    ['{"version":1,"entries":[{"type":"reg"}]}', 'TOC entry without a name'],
    ['{"version":1,"entries":[3]}', 'TOC entry without a name'],
    ['{"version":1,"entries":[{"name":"a"}]', 'TOC is not valid JSON'],
    ['{"version":1,"entries":[]} trailing', 'TOC is not valid JSON'],
    ['{"version":1,"entries":[{"name":"a",}]}', 'TOC is not valid JSON'],
  ])('%s is MALFORMED: %s', async (json, message) => {
    await expect(all(json)).rejects.toMatchObject({
      code: 'MALFORMED',
      message: expect.stringContaining(message),
    });
  });

  it('accepts an empty entries array and whitespace after the object', async () => {
    const { entries } = await all('{"version":1,"entries":[]}\n ');
    expect(entries).toEqual([]);
  });

  it('says the blob is too short when the range runs past its end', async () => {
    const at = await tocAt('{"version":1,"entries":[]}');
    const reader = new TocEntries({ ...at, length: at.length + 10 });
    await expect(reader.next()).rejects.toMatchObject({
      code: 'MALFORMED',
      message: expect.stringContaining('blob too short'),
    });
    await reader.close();
  });

  it('says when the payload is not zstd', async () => {
    const desc = await layout.put(Buffer.from('not zstd at all, just text'), zstdLayer);
    const store = (await layout.store()).content;
    const reader = new TocEntries({ store, desc, offset: 0, length: desc.size, signal: sig() });
    await expect(reader.next()).rejects.toMatchObject({ code: 'MALFORMED' });
    await reader.close();
  });
});

describe('readToc', () => {
  it('counts members and entries, hashes both forms, and keeps no entry', async () => {
    const json = JSON.stringify({
      version: 1,
      entries: [
        { type: 'dir', name: 'd/' },
        { type: 'reg', name: 'd/a', size: 10, digest: 'sha256:1', offset: 5, chunkDigest: 'sha256:1' },
        { type: 'chunk', name: 'd/a', offset: 9, chunkOffset: 5, chunkDigest: 'sha256:2' },
        { type: 'reg', name: 'd/b', size: 3, digest: 'sha256:3', offset: 9 },
      ],
      tarSplitDigest: 'sha256:ts',
    });
    const at = await tocAt(json);
    const toc = await readToc(at.store, at.desc, at.offset, at.length, sig());
    expect(toc).toMatchObject({
      memberCount: 3,
      entryCount: 4,
      version: 1,
      tarSplitDigest: 'sha256:ts',
      checksum: sha256Digest(at.payload),
      digest: sha256Digest(Buffer.from(json)),
      uncompressedLength: Buffer.byteLength(json),
    });
    // stargz-snapshotter's view: d/b repeats the chunk's offset 9, and lacks a chunkDigest in a TOC with chunks.
    expect(toc.stargz).toEqual({
      duplicateOffsets: ['offset 9 found twice (at "d/b")'],
      noDigest: [],
      digestOnly: ['d/b'],
      chunkEntries: true,
    });
    const again: string[] = [];
    const entries = toc.entries();
    for (let e = await entries.next(); e !== undefined; e = await entries.next()) again.push(e.name);
    await entries.close();
    expect(again).toEqual(['d/', 'd/a', 'd/a', 'd/b']);
  });

  it('refuses a chunk entry that follows no regular file', async () => {
    const at = await tocAt(
      '{"version":1,"entries":[{"type":"dir","name":"d/"},{"type":"chunk","name":"d/"}]}',
    );
    await expect(readToc(at.store, at.desc, at.offset, at.length, sig())).rejects.toMatchObject({
      code: 'MALFORMED',
      message: expect.stringContaining('does not follow a regular file'),
    });
  });
});

describe('TocEntries against JSON.parse', () => {
  /** What JSON.parse makes of `text` as a TOC: its entries, or undefined where the reader must refuse it. */
  function expected(text: string): { entries: unknown[]; version: unknown } | undefined {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
    const { entries, version } = doc as { entries?: unknown; version?: unknown };
    if (!Array.isArray(entries)) return undefined;
    const named = (e: unknown): boolean =>
      typeof e === 'object' && e !== null && typeof (e as { name?: unknown }).name === 'string';
    return entries.every(named) ? { entries, version } : undefined;
  }

  const entry = fc.record(
    { type: fc.constantFrom('reg', 'dir', 'chunk'), name: fc.string(), size: fc.nat(), x: fc.jsonValue() },
    { requiredKeys: ['name'] },
  );
  const toc = fc
    .record(
      {
        version: fc.jsonValue(),
        entries: fc.oneof(fc.array(entry), fc.jsonValue()),
        tarSplitDigest: fc.string(),
      },
      { requiredKeys: [] },
    )
    .map((d) => JSON.stringify(d));
  // Whole documents, any JSON at all, and documents cut short or with a byte flipped.
  const text = fc.oneof(
    toc,
    fc.json(),
    fc.tuple(toc, fc.nat()).map(([t, n]) => t.slice(0, n % (t.length + 1))),
    fc.tuple(toc, fc.nat(), fc.integer({ min: 32, max: 126 })).map(([t, n, c]) => {
      const at = n % Math.max(1, t.length);
      return `${t.slice(0, at)}${String.fromCharCode(c)}${t.slice(at + 1)}`;
    }),
  );

  it('hands out exactly what JSON.parse finds, or refuses with MALFORMED', async () => {
    await fc.assert(
      fc.asyncProperty(text, async (t) => {
        const want = expected(t);
        const got = await all(t).then(
          (r) => ({ entries: r.entries as unknown[], version: r.reader.version }),
          (err: unknown) => err,
        );
        if (want === undefined) expect(got).toMatchObject({ code: 'MALFORMED' });
        else expect(got).toEqual(want);
      }),
      // A fixed seed, so CI checks the same documents every run.
      { numRuns: 150, seed: 20 },
    );
  });
});
