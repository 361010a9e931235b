// Fuzzing the location parser (src/cli/locations.ts parseLocation, with src/oci/reference.ts and
// src/oci-layout/reference.ts under it): containerd names built from registry hosts, path components,
// tags and digests, each valid or broken in one place, then used as they are, behind `oci:`,
// `oci-archive:` and `docker://`, as a layout REF, and upper-cased; plus arbitrary strings. Each must parse or fail with a
// TsconvertError USAGE, quickly (no regular expression may backtrack for long). What parses must round-trip:
// a normalised containerd name normalises to itself, a layout reference prints as its display form and
// parses back to the same thing, and `oci:DIR:REF` with a valid REF keeps DIR and REF exactly.

import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { describe, it } from 'vitest';
import { parseLocation, type ParsedLocation } from '../../../src/cli/locations.js';
import { isValidRefName } from '../../../src/oci-layout/reference.js';
import { expectTyped, fuzzTimeout, runFuzz } from './harness.js';

/** Longest one parse may take; a backtracking regular expression shows up here. */
const PARSE_TIME_LIMIT_MS = 50;

const lower = fc.string({ unit: fc.constantFrom(...'abcz019'), minLength: 1, maxLength: 8 });
const separator = fc.constantFrom('.', '_', '__', '-', '---', '', '..', '/');
const component = fc
  .array(fc.tuple(lower, separator), { minLength: 1, maxLength: 3 })
  .map((parts) => parts.map(([a, s]) => a + s).join(''));
const domain = fc.oneof(
  fc.constantFrom('', 'docker.io', 'index.docker.io', 'localhost', 'localhost:5000', 'ghcr.io', '[::1]:5000'),
  fc.constantFrom('Reg.Example.COM', 'a-.b', '-a.b', 'host:', 'host:x', '[zz]', 'a..b'),
  fc
    .tuple(lower, lower, fc.option(fc.nat(70_000)))
    .map(([a, b, p]) => `${a}.${b}${p === null ? '' : `:${p}`}`),
);
const tag = fc.oneof(
  fc.constant(''),
  fc.string({ unit: fc.constantFrom(...'aZ09_.-'), minLength: 1, maxLength: 130 }),
  fc.constantFrom('latest', 'v1.2.3', '+x', '.x', 'a'.repeat(128)),
);
const digest = fc.oneof(
  fc.constant(''),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `sha256:${Buffer.from(b).toString('hex')}`),
  fc.constantFrom('sha256:abc', 'sha512:' + 'a'.repeat(128), 'SHA256:' + '0'.repeat(64), ':'),
);
const imageName = fc
  .tuple(domain, fc.array(component, { minLength: 1, maxLength: 4 }), tag, digest)
  .map(
    ([d, path, t, g]) =>
      `${d === '' ? '' : `${d}/`}${path.join('/')}${t === '' ? '' : `:${t}`}${g === '' ? '' : `@${g}`}`,
  );
const anyText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(...'oci-archive:/@._aZ09 '), maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** Parses, or returns undefined after checking the error is a USAGE error. */
function parseOrUsage(text: string): ParsedLocation | undefined {
  try {
    return parseLocation(text);
  } catch (err) {
    expectTyped(err, ['USAGE'], () => JSON.stringify(text));
    return undefined;
  }
}

/** The fastest of up to three parses: one slow parse on a loaded machine is a pause, three are the parser. */
function parseTimeMs(text: string): number {
  let best = Infinity;
  for (let i = 0; i < 3 && best > PARSE_TIME_LIMIT_MS; i++) {
    const started = performance.now();
    parseOrUsage(text);
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

function checkLocation(text: string): void {
  const started = performance.now();
  const parsed = parseOrUsage(text);
  if (performance.now() - started > PARSE_TIME_LIMIT_MS) {
    const ms = parseTimeMs(text);
    if (ms > PARSE_TIME_LIMIT_MS)
      throw new Error(`parsing ${JSON.stringify(text)} took ${Math.round(ms)} ms`);
  }
  if (parsed === undefined) return;
  const fail = (why: string): never => {
    throw new Error(`${JSON.stringify(text)} parsed to ${JSON.stringify(parsed)}: ${why}`);
  };
  const again = parseLocation(parsed.display);
  if (!isDeepStrictEqual(again, parsed)) fail(`its display form parses to ${JSON.stringify(again)}`);
  if (parsed.registry !== null) {
    const r = parsed.registry;
    if (r.host === '' || r.repository === '' || r.reference === '')
      fail('empty part of a docker:// reference');
    if (
      parsed.name !== r.reference ||
      parsed.display !== `docker://${r.host}/${r.repository}${r.byDigest ? '@' : ':'}${r.reference}`
    )
      fail('name or display not the reference');
  } else if (parsed.transport === null) {
    if (parsed.name !== parsed.display || !/^[^/]+\/[^/]/.test(parsed.name)) fail('not a full name');
    if (!/(:[\w][\w.-]{0,127}|@[a-z0-9]+[^@]*)$/.test(parsed.name)) fail('no tag or digest');
  } else if (parsed.transport.path === '' || parsed.transport.path.includes(':')) {
    fail('bad layout path');
  }
}

describe('fuzz: location parser', () => {
  it(
    'containerd names and oci:/oci-archive:/docker:// references parse and round-trip, or fail USAGE quickly',
    async ({ task }) => {
      await runFuzz(task.meta, {
        arbitrary: fc.record({ name: imageName, dir: component, other: anyText }),
        casesPerBatch: 10_000,
        check: ({ name, dir, other }) => {
          const inputs = [
            name,
            `oci:${name}`,
            `oci-archive:${name}`,
            `docker://${name}`,
            name.toUpperCase(),
            other,
            `oci:${other}`,
          ];
          for (const text of inputs) checkLocation(text);
          const layout = `oci-archive:${dir.replace(/:/g, '')}:${name}`;
          checkLocation(layout);
          const path = dir.replace(/:/g, '');
          if (path !== '' && isValidRefName(name)) {
            const parsed = parseLocation(layout);
            if (parsed.transport?.path !== path || parsed.transport.ref !== name || parsed.name !== name)
              throw new Error(`${layout} parsed to ${JSON.stringify(parsed)}`);
          }
          return inputs.length + 1;
        },
      });
    },
    fuzzTimeout(),
  );
});
