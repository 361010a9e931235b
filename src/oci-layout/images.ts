// The ImageStore of an OCI image layout: image names are the `org.opencontainers.image.ref.name`
// annotations of index.json entries. Writes hold DIR/.tsconvert.lock around read-modify-write and replace
// index.json atomically, so concurrent tsconvert processes never lose each other's entries and a reader
// never sees a half-written index. Record labels have no home in a layout and are ignored.
//
// Addressing: the name "" means "the only image" for get (the single entry of index.json, named or not;
// NOT_FOUND when there are several), and "an unnamed entry" for put/delete (as skopeo does for `oci:DIR`).
// The ref.name annotation is carried by the record's name, not by its target descriptor.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { malformed, notFound, throwIfAborted, TsconvertError } from '../errors.js';
import { checkJsonWrite } from '../oci/json-limits.js';
import { parseJsonObject } from '../oci/json.js';
import { MediaType } from '../oci/media-types.js';
import { parseIndex } from '../oci/parse.js';
import type { Descriptor, Index } from '../oci/types.js';
import type { CallOptions } from '../store/content-store.js';
import type { ImageRecord, ImageStore } from '../store/image-store.js';
import { atomicWriteFile, isENOENT } from './fs-util.js';
import { readJsonFile } from './json-file.js';
import { acquireFileLock } from './lock.js';
import { blobPath, INDEX_FILE, INDEX_LOCK_FILE } from './paths.js';
import { isValidRefName } from './reference.js';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
const INDEX_FULL_HINT = 'the layout lists too many images; write into another layout';

export function emptyIndex(): Index {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}

const refName = (d: Descriptor): string => d.annotations?.[REF_NAME_ANNOTATION] ?? '';

function toRecord(entry: Descriptor): ImageRecord {
  const { annotations, ...rest } = entry;
  const target: Descriptor = { ...rest };
  const others = Object.entries(annotations ?? {}).filter(([k]) => k !== REF_NAME_ANNOTATION);
  if (others.length > 0) target.annotations = Object.fromEntries(others);
  return { name: refName(entry), labels: {}, target };
}

function toEntry(name: string, target: Descriptor): Descriptor {
  const annotations = { ...target.annotations };
  delete annotations[REF_NAME_ANNOTATION];
  if (name !== '') annotations[REF_NAME_ANNOTATION] = name;
  const entry: Descriptor = { ...target };
  delete entry.annotations;
  if (Object.keys(annotations).length > 0) entry.annotations = annotations;
  return entry;
}

/** index.json's entries with `entry` put in place of the one it replaces (or appended). */
function withEntry(manifests: Descriptor[], name: string, entry: Descriptor): Descriptor[] {
  const replaces = (m: Descriptor): boolean =>
    refName(m) === name && (name !== '' || m.digest === entry.digest);
  const at = manifests.findIndex(replaces);
  if (at < 0) return [...manifests, entry];
  return manifests.flatMap((m, i) => (i === at ? [entry] : replaces(m) ? [] : [m]));
}

export class LayoutImageStore implements ImageStore {
  readonly #root: string;
  readonly #readOnly: boolean;
  /** How messages name the layout: "OCI layout DIR", or "OCI archive FILE" for one extracted from a tar. */
  readonly #where: string;

  constructor(root: string, readOnly: boolean, where = `OCI layout ${root}`) {
    this.#root = root;
    this.#readOnly = readOnly;
    this.#where = where;
  }

  get #indexPath(): string {
    return join(this.#root, INDEX_FILE);
  }

  async #read(signal: AbortSignal): Promise<Index> {
    throwIfAborted(signal);
    let bytes: Buffer;
    try {
      bytes = await readJsonFile(this.#indexPath, 'index.json', signal);
    } catch (err) {
      if (isENOENT(err)) throw malformed(`${this.#root} is not an OCI image layout: it has no ${INDEX_FILE}`);
      throw err;
    }
    // The same parser and strictness as an index blob; `where` names the file.
    return parseIndex(parseJsonObject(bytes, this.#indexPath), this.#indexPath);
  }

  /** Read-modify-write of index.json under the layout lock; `change` returns the new manifests. */
  async #update(signal: AbortSignal, change: (manifests: Descriptor[]) => Descriptor[]): Promise<void> {
    if (this.#readOnly) {
      throw new TsconvertError('FAILED_PRECONDITION', `OCI layout ${this.#root} was opened read-only`);
    }
    const lock = await acquireFileLock(join(this.#root, INDEX_LOCK_FILE), {
      signal,
      what: `OCI layout ${this.#root}`,
    });
    try {
      const index = await this.#read(signal);
      const next: Index = { ...index, manifests: change(index.manifests) };
      throwIfAborted(signal);
      const text = `${JSON.stringify(next)}\n`;
      checkJsonWrite('index.json', this.#indexPath, Buffer.byteLength(text), INDEX_FULL_HINT);
      await atomicWriteFile(this.#indexPath, text, signal);
    } finally {
      await lock.release();
    }
  }

  async get(name: string, options: CallOptions): Promise<ImageRecord> {
    const { manifests } = await this.#read(options.signal);
    if (name === '') {
      const [only] = manifests;
      if (only !== undefined && manifests.length === 1) return toRecord(only);
      const names = manifests.map((m) => JSON.stringify(refName(m))).join(', ');
      throw notFound(`${this.#where} has ${manifests.length} images; name one`, {
        hint: manifests.length > 0 ? `add :REF, one of ${names}` : undefined,
      });
    }
    const entry = manifests.find((m) => refName(m) === name);
    if (entry === undefined) {
      const names = manifests.map((m) => JSON.stringify(refName(m))).join(', ');
      throw notFound(`image ${JSON.stringify(name)} not found in ${this.#where}`, {
        hint: manifests.length > 0 ? `it has ${names}` : 'it holds no image',
      });
    }
    return toRecord(entry);
  }

  async list(options: CallOptions): Promise<ImageRecord[]> {
    const { manifests } = await this.#read(options.signal);
    return manifests.map(toRecord);
  }

  async put(image: ImageRecord, options: CallOptions): Promise<ImageRecord> {
    if (image.name !== '' && !isValidRefName(image.name)) {
      throw new TsconvertError(
        'INVALID_ARGUMENT',
        `${JSON.stringify(image.name)} is not a valid OCI ref name`,
      );
    }
    const entry = toEntry(image.name, image.target);
    try {
      // Never let index.json point at a blob that is not (yet) in the layout.
      await stat(blobPath(this.#root, entry.digest));
    } catch (err) {
      if (!isENOENT(err)) throw err;
      throw new TsconvertError(
        'MISSING_CONTENT',
        `image ${image.name}: target ${entry.digest} is not in ${this.#root}`,
      );
    }
    await this.#update(options.signal, (manifests) => withEntry(manifests, image.name, entry));
    return toRecord(entry);
  }

  async delete(name: string, options: CallOptions & { sync?: boolean }): Promise<void> {
    let found = false;
    await this.#update(options.signal, (manifests) => {
      const kept = manifests.filter((m) => refName(m) !== name);
      found = kept.length !== manifests.length;
      return kept;
    });
    if (!found) throw notFound(`image ${JSON.stringify(name)} not found in ${this.#where}`);
  }
}
