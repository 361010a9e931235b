// Reuse records in containerd (store/reuse-store.ts): a record is a label on the result blob itself,
// `io.tsconvert/reuse.<record id>` = the record's JSON, found with a filtered content list
// (`labels."KEY"`). So a record exists exactly as long as its blob: when the garbage collector takes the
// blob, the record goes with it and nothing dangles. What keeps such a blob alive is described in
// docs/containerd.md#reuse-records.

import type { CallOptions } from '../store/content-store.js';
import {
  decodeRecord,
  encodeRecord,
  recordId,
  REUSE_LABEL_PREFIX,
  type ReuseKey,
  type ReuseRecord,
  type ReuseStore,
} from '../store/reuse-store.js';
import type { ContainerdContentStore } from './content.js';

const labelOf = (key: ReuseKey): string => `${REUSE_LABEL_PREFIX}${recordId(key)}`;

export class ContainerdReuseStore implements ReuseStore {
  readonly #content: ContainerdContentStore;

  constructor(content: ContainerdContentStore) {
    this.#content = content;
  }

  async find(key: ReuseKey, options: CallOptions): Promise<ReuseRecord | undefined> {
    const label = labelOf(key);
    for (const info of await this.#content.list([`labels."${label}"`], options)) {
      const record = decodeRecord(info.labels[label], key);
      if (record !== undefined && record.result === info.digest && record.size === info.size) return record;
    }
    return undefined;
  }

  async put(record: ReuseRecord, options: CallOptions): Promise<void> {
    await this.#content.updateLabels(record.result, { [labelOf(record)]: encodeRecord(record) }, options);
  }
}
