// A registry repository as an ImageStore: an image record is a tag (or a digest) of the repository. get()
// reads the manifest (GET /v2/REPO/manifests/REF), checks it against its digest and keeps it for the
// content store. put() pushes the manifests this run holds (repository.ts), children before the index that
// lists them, each by digest, and last the target under its tag: nothing is tagged before all it needs is
// in the registry. Registries keep no record labels; list and delete are not offered.

import { malformed, notFound, TsconvertError } from '../errors.js';
import { sha256Digest, type Digest } from '../oci/digest.js';
import { JSON_LIMITS } from '../oci/json-limits.js';
import { isIndexType, isManifestType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import type { CallOptions } from '../store/content-store.js';
import type { ImageRecord, ImageStore } from '../store/image-store.js';
import { bodyBytes } from './response-body.js';
import type { RegistryContentStore } from './content.js';
import { MANIFEST_ACCEPT, type Repository } from './repository.js';

export class RegistryImageStore implements ImageStore {
  readonly #repo: Repository;
  readonly #content: RegistryContentStore;

  constructor(repo: Repository, content: RegistryContentStore) {
    this.#repo = repo;
    this.#content = content;
  }

  async get(name: string, { signal }: CallOptions): Promise<ImageRecord> {
    const repo = this.#repo;
    const call = {
      method: 'GET',
      path: repo.path('manifests', name),
      scopes: repo.pull,
      headers: { accept: MANIFEST_ACCEPT },
      what: `reading manifest ${name}`,
      signal,
    } as const;
    const res = await repo.client.send(call);
    if (res.statusCode !== 200) {
      const err = await repo.client.failure(res, call, repo.name);
      // The distribution registry answers MANIFEST_UNKNOWN for a repository it does not have, too.
      if (res.statusCode === 404 && !(await this.#hasRepository(signal))) {
        throw notFound(`${repo.where}: repository not found (reading manifest ${name})`, {
          hint: 'check the repository name in the docker:// reference',
        });
      }
      throw err;
    }
    const bytes = await bodyBytes(res, JSON_LIMITS.manifest + 1);
    if (bytes.byteLength > JSON_LIMITS.manifest)
      throw malformed(`manifest ${name} of ${repo.where} is larger than ${JSON_LIMITS.manifest} bytes`);
    const digest = sha256Digest(bytes);
    const said = res.headers['docker-content-digest'];
    if (
      (name.startsWith('sha256:') && name !== digest) ||
      (typeof said === 'string' && said.startsWith('sha256:') && said !== digest)
    ) {
      throw malformed(
        `manifest ${name} of ${repo.where} hashes to ${digest}, not the digest it was asked or sent as`,
        { hint: 'the registry or a proxy changed it; push the image again' },
      );
    }
    const mediaType = manifestType(String(res.headers['content-type'] ?? ''), bytes);
    repo.manifests.set(digest, { bytes, mediaType });
    return { name, labels: {}, target: { mediaType, digest, size: bytes.byteLength } };
  }

  /** Whether the registry knows the repository (GET tags/list answers 200). */
  async #hasRepository(signal: AbortSignal): Promise<boolean> {
    const repo = this.#repo;
    const res = await repo.client.send({
      method: 'GET',
      path: `/v2/${repo.name}/tags/list`,
      scopes: repo.pull,
      what: 'listing tags',
      signal,
    });
    await res.body.dump();
    return res.statusCode !== 404;
  }

  async list(): Promise<ImageRecord[]> {
    throw new TsconvertError('UNIMPLEMENTED', `listing the images of ${this.#repo.where} is not supported`);
  }

  async delete(): Promise<void> {
    throw new TsconvertError('UNIMPLEMENTED', `deleting images from ${this.#repo.where} is not supported`);
  }

  async put(image: ImageRecord, { signal }: CallOptions): Promise<ImageRecord> {
    const pushed = new Set<Digest>();
    const bytes = await this.#pushTree(image.target, pushed, signal, true);
    await this.#putManifest(image.name, image.target.mediaType, bytes, signal);
    return { name: image.name, labels: {}, target: image.target };
  }

  /** Pushes what `desc` lists (by digest) and, unless it is the root, `desc` itself; returns its bytes. */
  async #pushTree(
    desc: Descriptor,
    pushed: Set<Digest>,
    signal: AbortSignal,
    root: boolean,
  ): Promise<Buffer> {
    const d = desc.digest as Digest;
    const bytes = await this.#content.manifestBytes(d, signal);
    if (bytes === undefined) {
      throw new TsconvertError(
        'MISSING_CONTENT',
        `manifest ${d} is neither written by this run nor in ${this.#repo.where}`,
      );
    }
    const doc = JSON.parse(bytes.toString('utf8')) as { manifests?: Descriptor[] };
    if (isIndexType(desc.mediaType) || Array.isArray(doc.manifests)) {
      for (const child of doc.manifests ?? []) {
        if (pushed.has(child.digest as Digest)) continue;
        if (isIndexType(child.mediaType) || isManifestType(child.mediaType))
          await this.#pushTree(child, pushed, signal, false);
      }
    }
    if (!root) {
      // Only what this run wrote is pushed; a manifest the registry already had stays as it is.
      if (this.#repo.manifests.has(d)) await this.#putManifest(d, desc.mediaType, bytes, signal);
      pushed.add(d);
    }
    return bytes;
  }

  async #putManifest(ref: string, mediaType: string, bytes: Buffer, signal: AbortSignal): Promise<void> {
    const repo = this.#repo;
    const res = await repo.client.expect(
      {
        method: 'PUT',
        path: repo.path('manifests', ref),
        scopes: repo.push,
        headers: { 'content-type': mediaType },
        body: bytes,
        what: `pushing manifest ${ref}`,
        signal,
      },
      [201, 200, 204],
      repo.name,
    );
    await res.body.dump();
    const said = res.headers['docker-content-digest'];
    const digest = sha256Digest(bytes);
    if (typeof said === 'string' && said !== digest) {
      throw malformed(`${repo.where} stored manifest ${ref} as ${said}, not ${digest}`);
    }
  }
}

/** The media type of a fetched manifest: the Content-Type, else the document's own mediaType field. */
function manifestType(contentType: string, bytes: Buffer): string {
  const header = contentType.split(';')[0]?.trim() ?? '';
  if (isIndexType(header) || isManifestType(header)) return header;
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    if (typeof doc.mediaType === 'string') return doc.mediaType;
  } catch (err) {
    throw malformed(`a manifest of the registry is not JSON`, { cause: err });
  }
  throw notFound(`the registry answered a manifest request with ${JSON.stringify(contentType)}`);
}
