// Reuse records in an `oci:` layout (store/reuse-store.ts): one file per record,
// DIR/.tsconvert-reuse/<record id>.json, beside the blobs they name. A record is written whole to a temp file
// tagged with the run's owner and renamed into place, so a reader sees the old record or the new one, never
// half of one, and concurrent runs need no lock (two runs writing one key write the same result; the last
// rename wins). Reads are bounded (json-file.ts). A record whose blob is gone or has another size is
// ignored, and replaced by the run that converts the layer again. Dead runs' temp files here are removed by
// dead-runs.ts; records themselves are never garbage (a layout has no collector; see README "Reuse").

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrorCode } from '../errors.js';
import type { CallOptions, ContentStore } from '../store/content-store.js';
import {
  decodeRecord,
  encodeRecord,
  recordId,
  type ReuseKey,
  type ReuseRecord,
  type ReuseStore,
} from '../store/reuse-store.js';
import { atomicWriteFile, isENOENT } from './fs-util.js';
import { readJsonFile } from './json-file.js';
import { REUSE_DIR } from './paths.js';

export class LayoutReuseStore implements ReuseStore {
  readonly #dir: string;
  readonly #content: ContentStore;

  constructor(root: string, content: ContentStore) {
    this.#dir = join(root, REUSE_DIR);
    this.#content = content;
  }

  async find(key: ReuseKey, options: CallOptions): Promise<ReuseRecord | undefined> {
    let text: string;
    try {
      text = (await readJsonFile(this.#path(key), 'reuse record', options.signal)).toString('utf8');
    } catch (err) {
      // No record, or one that is not a regular file or too large: converted again and replaced.
      if (isENOENT(err) || isErrorCode(err, 'MALFORMED')) return undefined;
      throw err;
    }
    const record = decodeRecord(text, key);
    if (record === undefined) return undefined;
    try {
      const info = await this.#content.info(record.result, options);
      return info.size === record.size ? record : undefined;
    } catch (err) {
      if (isErrorCode(err, 'NOT_FOUND')) return undefined;
      throw err;
    }
  }

  async put(record: ReuseRecord, options: CallOptions): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    await atomicWriteFile(this.#path(record), `${encodeRecord(record)}\n`, options.signal);
  }

  #path(key: ReuseKey): string {
    return join(this.#dir, `${recordId(key)}.json`);
  }
}
