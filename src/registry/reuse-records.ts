// Reuse records for a registry destination (store/reuse-store.ts). A registry cannot keep records of its own,
// so they are kept on this host, in the user's cache: $XDG_CACHE_HOME/tsconvert/reuse/HOST/REPOSITORY/ (or
// ~/.cache/…), one file per record, read and written by the code an `oci:` layout uses for its records (the
// CLI hands it over as RecordFiles). A record of the destination repository is returned as it is; one kept for
// another repository of the same registry is returned only once its result blob has been mounted from there
// (POST ?mount=&from=, which the registry refuses when it no longer has the blob). Either way the converter
// trusts it only when a HEAD of the result in the destination repository answers with the recorded size
// (convert/reuse.ts), so a stale cache costs a conversion, never a broken image.

import { readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { CallOptions } from '../store/content-store.js';
import {
  recordFileName,
  type RecordFiles,
  type ReuseKey,
  type ReuseRecord,
  type ReuseStore,
} from '../store/reuse-store.js';
import type { Repository } from './repository.js';
import { mountBlob } from './upload-sessions.js';

/** Where records of registry destinations are kept: $XDG_CACHE_HOME (when absolute) or ~/.cache, + tsconvert/reuse. */
export function reuseCacheDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(env.HOME ?? homedir(), '.cache');
  return join(base, 'tsconvert', 'reuse');
}

export class RegistryReuseStore implements ReuseStore {
  /** The records of every repository of this registry: HOST_DIR/REPOSITORY/<record id>.json. */
  readonly #hostDir: string;
  readonly #repo: Repository;
  readonly #files: RecordFiles;

  constructor(cacheDir: string, repo: Repository, files: RecordFiles) {
    this.#hostDir = join(cacheDir, repo.host);
    this.#repo = repo;
    this.#files = files;
  }

  async find(key: ReuseKey, { signal }: CallOptions): Promise<ReuseRecord | undefined> {
    const own = await this.#files.read(join(this.#hostDir, this.#repo.name), key, signal);
    if (own !== undefined) return own;
    for (const from of await this.#otherRepositories(recordFileName(key))) {
      const record = await this.#files.read(join(this.#hostDir, from), key, signal);
      if (record !== undefined && (await this.#mount(record.result, from, signal))) return record;
    }
    return undefined;
  }

  put(record: ReuseRecord, { signal }: CallOptions): Promise<void> {
    return this.#files.write(join(this.#hostDir, this.#repo.name), record, signal);
  }

  /** The other repositories of this registry with a record file `name`, in a stable order. */
  async #otherRepositories(name: string): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.#hostDir, { recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return entries
      .filter((e) => basename(e) === name && dirname(e) !== this.#repo.name)
      .map((e) => dirname(e))
      .sort();
  }

  /** Whether the registry mounted `digest` from `from` into the destination repository. */
  async #mount(digest: ReuseRecord['result'], from: string, signal: AbortSignal): Promise<boolean> {
    try {
      return await mountBlob(this.#repo, digest, from, signal);
    } catch (err) {
      // A repository we may not read, or gone: the layer is converted instead.
      if (signal.aborted) throw err;
      this.#repo.logger.debug({ blob: digest, from, err: String(err) }, 'reuse: mount refused');
      return false;
    }
  }
}
