// Fuzzing the JSON side of src/oci: parseJsonObject and the index, manifest, config and descriptor
// parsers, fed generated OCI documents (oci-gen.ts) with tree edits and then each of several text-level
// damages, plus arbitrary JSON and arbitrary bytes. Each input must either give an object that really has
// the typed shape the parser promises (checked here independently) or fail with a TsconvertError
// MALFORMED; and what tsconvert writes back (marshalGoJson) must parse to the same
// document, keys included. Platform strings go through parsePlatform: a normalised platform or USAGE.

import fc from 'fast-check';
import { inspect, isDeepStrictEqual } from 'node:util';
import { describe, it } from 'vitest';
import { marshalGoJson, parseJsonObject } from '../../../src/oci/json.js';
import { parseConfig, parseDescriptor, parseIndex, parseManifest } from '../../../src/oci/parse.js';
import { parsePlatform } from '../../../src/oci/platform.js';
import { expectTyped, fuzzTimeout, runFuzz } from './harness.js';
import {
  applyEdit,
  applyTextEdit,
  config,
  index,
  manifest,
  platform,
  textEdit,
  treeEdit,
} from './oci-gen.js';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringMap = (v: unknown): boolean =>
  v === undefined || (isRecord(v) && Object.values(v).every((x) => typeof x === 'string'));
const isDigest = (v: unknown): boolean => typeof v === 'string' && /^sha256:[0-9a-f]{64}$/.test(v);

function isDescriptor(v: unknown): boolean {
  if (!isRecord(v) || typeof v.mediaType !== 'string' || v.mediaType === '' || !isDigest(v.digest))
    return false;
  if (
    typeof v.size !== 'number' ||
    !Number.isSafeInteger(v.size) ||
    v.size < 0 ||
    !isStringMap(v.annotations)
  )
    return false;
  const p = v.platform;
  return p === undefined || (isRecord(p) && typeof p.os === 'string' && typeof p.architecture === 'string');
}

const SHAPES = {
  index: (v: Record<string, unknown>) =>
    v.schemaVersion === 2 &&
    Array.isArray(v.manifests) &&
    v.manifests.every(isDescriptor) &&
    isStringMap(v.annotations),
  manifest: (v: Record<string, unknown>) =>
    v.schemaVersion === 2 &&
    isDescriptor(v.config) &&
    Array.isArray(v.layers) &&
    v.layers.every(isDescriptor) &&
    isStringMap(v.annotations),
  config: (v: Record<string, unknown>) =>
    v.rootfs === undefined ||
    (isRecord(v.rootfs) &&
      (v.rootfs.diff_ids === undefined ||
        (Array.isArray(v.rootfs.diff_ids) && v.rootfs.diff_ids.every(isDigest)))),
  descriptor: isDescriptor,
};

const PARSERS: Record<keyof typeof SHAPES, (v: Record<string, unknown>, where: string) => unknown> = {
  index: parseIndex,
  manifest: parseManifest,
  config: parseConfig,
  descriptor: parseDescriptor,
};

function checkWritten(doc: Record<string, unknown>, written: string, what: string): void {
  if (/[<>&\u2028\u2029]/.test(written)) throw new Error(`${what} left a character Go escapes: ${written}`);
  const again: unknown = JSON.parse(written);
  if (!isDeepStrictEqual(again, doc))
    throw new Error(`${what} changed ${inspect(doc)} into ${inspect(again)}`);
}

function checkBytes(bytes: Buffer): void {
  const show = (): string => JSON.stringify(bytes.toString('latin1').slice(0, 300));
  let doc: Record<string, unknown>;
  try {
    doc = parseJsonObject(bytes, 'blob sha256:fuzz');
  } catch (err) {
    expectTyped(err, ['MALFORMED'], show);
    return;
  }
  if (!isRecord(doc)) throw new Error(`parseJsonObject returned a non-object for ${show()}`);
  for (const kind of Object.keys(SHAPES) as (keyof typeof SHAPES)[]) {
    let parsed: unknown;
    try {
      parsed = PARSERS[kind](doc, `fuzz ${kind}`);
    } catch (err) {
      expectTyped(err, ['MALFORMED'], show);
      continue;
    }
    if (parsed !== doc || !SHAPES[kind](doc)) throw new Error(`parse${kind} accepted ${show()}`);
  }
  checkWritten(doc, marshalGoJson(doc), 'marshalGoJson');
}

const HOST = { os: 'linux', architecture: 'amd64' };

function checkPlatformText(text: string): void {
  try {
    const p = parsePlatform(text, HOST);
    const ok = [p.os, p.architecture, p.variant ?? 'x'].every(
      (s: unknown) => typeof s === 'string' && s !== '' && s === s.toLowerCase(),
    );
    if (!ok) throw new Error(`parsePlatform(${JSON.stringify(text)}) gave ${inspect(p)}`);
  } catch (err) {
    expectTyped(err, ['USAGE'], () => JSON.stringify(text));
  }
}

const document = fc.oneof(
  { weight: 3, arbitrary: fc.oneof(index, manifest, config).map((d) => Buffer.from(JSON.stringify(d))) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.oneof(index, manifest, config), treeEdit)
      .map(([d, e]) => Buffer.from(JSON.stringify(applyEdit(d, e)))),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? '')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
);

const platformText = fc.oneof(
  platform.map((p) => [p.os, p.architecture, p.variant].filter((s) => s !== undefined).join('/')),
  fc.string({ maxLength: 20 }),
);

describe('fuzz: OCI JSON parsers', () => {
  it(
    'index, manifest, config and descriptor parsers return the typed shape or fail MALFORMED; writing loses nothing',
    async ({ task }) => {
      await runFuzz(task.meta, {
        arbitrary: fc.record({
          base: document,
          damage: fc.array(textEdit, { minLength: 10, maxLength: 16 }),
          platform: platformText,
        }),
        casesPerBatch: 5_000,
        check: ({ base, damage, platform: text }) => {
          checkBytes(base);
          for (const edit of damage) checkBytes(applyTextEdit(base, edit));
          checkPlatformText(text);
          return 1 + damage.length;
        },
      });
    },
    fuzzTimeout(),
  );
});
