// Fuzzing the tar scanner (src/tar) with structure-aware archives (tar-gen.ts): each generated archive is
// scanned whole, cut at every block boundary and inside each header block, and with up to three single
// mutations applied in turn (a header field overwritten and the checksum fixed again, a byte changed, a
// block dropped or repeated). Every input must either be read (the events give back the input exactly) or
// fail with a TsconvertError MALFORMED; never another error, a hang or a growing heap. A valid archive
// must read exactly as generated, and a cut of it that reads must yield a prefix of its members.

import fc from 'fast-check';
import { inspect, isDeepStrictEqual } from 'node:util';
import { describe, it } from 'vitest';
import { fuzzTimeout, runFuzz } from './harness.js';
import { encodeArchive } from './tar-encode.js';
import { archiveSpec, type ExpectedMember } from './tar-gen.js';
import { cutPoints, mutate, mutation } from './tar-hostile.js';
import { scanInput, type ScannedMember } from './tar-scan.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Throws when a member does not read as generated (plain checks: expect() would dominate the run). */
function checkMember(got: ScannedMember, want: ExpectedMember, where: string): void {
  const m = got.member;
  const same = (what: string, a: unknown, b: unknown): void => {
    if (!isDeepStrictEqual(a, b))
      throw new Error(`${where}: ${what} reads ${inspect(a)}, generated ${inspect(b)}`);
  };
  same('name', hex(m.name.raw), hex(want.name));
  if (want.linkname !== undefined) same('linkname', hex(m.linkname.raw), hex(want.linkname));
  same('typeflag', m.typeflag, want.typeflag);
  same('payload', hex(got.payload), hex(want.payload));
  same('size', m.size, want.size);
  same('sparse', m.facts.sparse, want.sparse);
  if (want.mtime)
    same(`mtime ${want.mtime.text}`, { ...m.mtime }, { sec: want.mtime.sec, nsec: want.mtime.nsec });
  if (want.uid !== undefined) same('uid', m.uid, want.uid);
  const xattrs = m.xattrs.map((x) => [Buffer.from(x.key.raw).toString('utf8'), hex(x.value)]);
  same(
    'xattrs',
    xattrs,
    want.xattrs.map(([k, v]) => [k, hex(v)]),
  );
}

const WHOLE = 1 << 20;
const chunkSize = fc.oneof(
  { weight: 4, arbitrary: fc.constant(WHOLE) },
  { weight: 2, arbitrary: fc.constant(512) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 700 }).map((n) => Math.max(n, 7)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 6 }) },
);

describe('fuzz: tar scanner', () => {
  it(
    'reads generated archives as written; cut or mutated ones read or fail MALFORMED, never crash or hang',
    async ({ task }) => {
      await runFuzz(task.meta, {
        arbitrary: fc.record({
          spec: archiveSpec,
          mutations: fc.array(mutation, { maxLength: 3 }),
          chunk: chunkSize,
          salt: fc.nat(),
        }),
        casesPerBatch: 2_000,
        check: async ({ spec, mutations, chunk, salt }) => {
          const archive = encodeArchive(spec);
          const { bytes, headerBlocks, expected } = archive;
          let inputs = 1;
          const whole = await scanInput(bytes, chunk);
          if (expected) {
            if (!whole.ok) throw new Error(`a valid archive failed: ${whole.error.message}`);
            if (whole.members.length !== expected.length)
              throw new Error(`${whole.members.length} members read, ${expected.length} generated`);
            whole.members.forEach((m, i) => checkMember(m, expected[i] as ExpectedMember, `member ${i}`));
          }
          // Cuts are read in one chunk, every eighth in the case's chunking (small chunks cost the most).
          for (const [i, cut] of cutPoints(bytes.length, headerBlocks, salt).entries()) {
            const r = await scanInput(bytes.subarray(0, cut), i % 8 === 0 ? chunk : WHOLE);
            inputs++;
            if (!expected || !r.ok) continue;
            r.members.forEach((m, i) => {
              const want = expected[i];
              if (!want || !Buffer.from(m.member.name.raw).equals(want.name))
                throw new Error(`cut at ${cut}: member ${i} is not the generated one`);
            });
          }
          let mutated = bytes;
          for (const m of mutations) {
            mutated = mutate(mutated, headerBlocks, m);
            await scanInput(mutated, chunk);
            inputs++;
          }
          return inputs;
        },
      });
    },
    fuzzTimeout(),
  );
});
