// Structure-aware OCI documents for the JSON fuzzer: indexes, manifests, configs and their descriptors and
// platforms, close to what registries serve, then broken in the ways hostile or buggy producers break
// them: a field replaced by any JSON value or deleted, digests and sizes that are almost right, keys that
// JavaScript treats specially ("__proto__", "constructor"), and text-level damage (cuts, stray bytes,
// numbers beyond a double, a byte-order mark, invalid UTF-8).

import fc from 'fast-check';

const MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.in-toto+json',
  '',
];

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));

export const digest: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: hex64.map((h) => `sha256:${h}`) },
  { weight: 1, arbitrary: hex64.map((h) => `sha256:${h.toUpperCase()}`) },
  { weight: 1, arbitrary: hex64.map((h) => `sha256:${h.slice(1)}`) },
  { weight: 1, arbitrary: hex64.map((h) => `sha512:${h}${h}`) },
  { weight: 1, arbitrary: fc.constantFrom('', 'sha256:', 'sha256', null, 42, ['sha256:x']) },
);

const size: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: fc.nat() },
  { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, 2 ** 53, 2 ** 53 - 1, -0, '12', null, true) },
);

const text = fc.oneof(
  fc.constantFrom('linux', 'windows', 'amd64', 'arm64', 'arm', 'v7', 'v8', '', 'x86_64', 'Linux'),
  fc.string({ maxLength: 12 }),
);

export const platform = fc.record(
  {
    architecture: text,
    os: text,
    variant: text,
    'os.version': text,
    'os.features': fc.array(text, { maxLength: 2 }),
  },
  { requiredKeys: ['architecture', 'os'] },
);

const annotations = fc.dictionary(
  fc.oneof(
    fc.constantFrom('org.opencontainers.image.ref.name', 'vnd.docker.reference.type'),
    fc.string({ maxLength: 8 }),
  ),
  fc.oneof(
    { weight: 9, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
  ),
  { maxKeys: 3 },
);

export const descriptor = fc.record(
  {
    mediaType: fc.constantFrom(...MEDIA_TYPES),
    digest,
    size,
    annotations,
    platform,
    urls: fc.array(fc.webUrl(), { maxLength: 1 }),
  },
  { requiredKeys: ['mediaType', 'digest', 'size'] },
);

const schemaVersion = fc.oneof(
  { weight: 9, arbitrary: fc.constant(2) },
  { weight: 1, arbitrary: fc.constantFrom(1, '2', 2.0001, null) },
);

export const manifest = fc.record(
  {
    schemaVersion,
    mediaType: fc.constantFrom(...MEDIA_TYPES),
    config: descriptor,
    layers: fc.array(descriptor, { maxLength: 4 }),
    annotations,
  },
  { requiredKeys: ['schemaVersion', 'config', 'layers'] },
);

export const index = fc.record(
  {
    schemaVersion,
    mediaType: fc.constantFrom(...MEDIA_TYPES),
    manifests: fc.array(descriptor, { maxLength: 4 }),
    annotations,
  },
  { requiredKeys: ['schemaVersion', 'manifests'] },
);

export const config = fc.record(
  {
    architecture: text,
    os: text,
    rootfs: fc.record({ type: fc.constant('layers'), diff_ids: fc.array(digest, { maxLength: 4 }) }),
    config: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
    history: fc.array(fc.record({ created_by: fc.string({ maxLength: 10 }) }), { maxLength: 2 }),
  },
  { requiredKeys: ['rootfs'] },
);

/** One change to a JSON tree: at the `at`-th node (mod the node count), replace, delete or add a key. */
export interface TreeEdit {
  at: number;
  op: 'replace' | 'delete' | 'add';
  key: string;
  value: unknown;
}

export const treeEdit: fc.Arbitrary<TreeEdit> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('replace', 'delete', 'add'),
  key: fc.oneof(
    fc.constantFrom('__proto__', 'constructor', 'toString', 'mediaType', 'digest', 'size', 'layers'),
    fc.string({ maxLength: 6 }),
  ),
  value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom({}, [], null, '', 0, -1, 'sha256:')),
});

/** Applies an edit to a deep copy; objects are built with own data properties, "__proto__" included. */
export function applyEdit(doc: unknown, edit: TreeEdit): unknown {
  const copy: unknown = JSON.parse(JSON.stringify(doc));
  const nodes: Record<string, unknown>[] = [];
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null) return;
    nodes.push(v as Record<string, unknown>);
    for (const child of Object.values(v)) walk(child);
  };
  walk(copy);
  const node = nodes[edit.at % nodes.length];
  if (node === undefined) return copy;
  const keys = Object.keys(node);
  if (Array.isArray(node) && (edit.op === 'add' || keys.length === 0)) {
    node.push(edit.value);
    return copy;
  }
  const key = edit.op === 'add' || keys.length === 0 ? edit.key : (keys[edit.at % keys.length] as string);
  if (edit.op === 'delete') {
    if (Array.isArray(node)) node.splice(Number(key), 1);
    else delete node[key];
  } else
    Object.defineProperty(node, key, {
      value: edit.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return copy;
}

/** Text-level damage: cut at a point, insert a byte, make a number overflow, add a BOM. */
export type TextEdit = { op: 'cut' | 'insert' | 'overflow' | 'bom'; at: number; byte: number };

export const textEdit: fc.Arbitrary<TextEdit> = fc.record({
  op: fc.constantFrom('cut', 'insert', 'overflow', 'bom'),
  at: fc.nat(),
  byte: fc.constantFrom(0x00, 0x22, 0x2c, 0x5c, 0x7b, 0x7d, 0x80, 0xc3, 0xff, 0x1b),
});

export function applyTextEdit(bytes: Buffer, e: TextEdit): Buffer {
  const at = bytes.length === 0 ? 0 : e.at % bytes.length;
  if (e.op === 'cut') return bytes.subarray(0, at);
  if (e.op === 'insert') return Buffer.concat([bytes.subarray(0, at), Buffer.of(e.byte), bytes.subarray(at)]);
  if (e.op === 'bom') return Buffer.concat([Buffer.from('\ufeff'), bytes]);
  return Buffer.from(bytes.toString('latin1').replace(/\d+/, '1e400'), 'latin1');
}
