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
  recordFileName,
  type RecordFiles,
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
    const record = await recordFiles.read(this.#dir, key, options.signal);
    if (record === undefined) return undefined;
    try {
      const info = await this.#content.info(record.result, options);
      return info.size === record.size ? record : undefined;
    } catch (err) {
      if (isErrorCode(err, 'NOT_FOUND')) return undefined;
      throw err;
    }
  }

  put(record: ReuseRecord, options: CallOptions): Promise<void> {
    return recordFiles.write(this.#dir, record, options.signal);
  }
}

/**
 * Record files as this layout keeps them, bounded reads and atomic writes; a file that is missing, not a
 * regular file, too large or not a record of exactly the key reads as none (converted again and replaced).
 * The CLI hands the same code to a registry destination for its local cache (registry/reuse-records.ts).
 */
export const recordFiles: RecordFiles = {
  async read(dir, key, signal) {
    let text: string;
    try {
      text = (await readJsonFile(join(dir, recordFileName(key)), 'reuse record', signal)).toString('utf8');
    } catch (err) {
      if (isENOENT(err) || isErrorCode(err, 'MALFORMED')) return undefined;
      throw err;
    }
    return decodeRecord(text, key);
  },
  async write(dir, record, signal) {
    await mkdir(dir, { recursive: true });
    await atomicWriteFile(join(dir, recordFileName(record)), `${encodeRecord(record)}\n`, signal);
  },
};
