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
    const record = await readRecordFile(join(this.#dir, recordFileName(key)), key, options.signal);
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
    return writeRecordFile(this.#dir, record, options.signal);
  }
}

/** The file name of a key's record. */
export const recordFileName = (key: ReuseKey): string => `${recordId(key)}.json`;

/**
 * The record of `key` in the file at `path` (bounded read); undefined when there is none, or it is not a
 * regular file, too large or not a record of exactly `key` (it is then converted again and replaced).
 * Also the record file of a registry destination's local cache (registry/reuse-records.ts).
 */
export async function readRecordFile(
  path: string,
  key: ReuseKey,
  signal: AbortSignal,
): Promise<ReuseRecord | undefined> {
  let text: string;
  try {
    text = (await readJsonFile(path, 'reuse record', signal)).toString('utf8');
  } catch (err) {
    if (isENOENT(err) || isErrorCode(err, 'MALFORMED')) return undefined;
    throw err;
  }
  return decodeRecord(text, key);
}

/** Writes `record` into `dir` (created if needed) atomically, replacing an earlier record of its key. */
export async function writeRecordFile(dir: string, record: ReuseRecord, signal: AbortSignal): Promise<void> {
  await mkdir(dir, { recursive: true });
  await atomicWriteFile(join(dir, recordFileName(record)), `${encodeRecord(record)}\n`, signal);
}
