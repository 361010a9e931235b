// Reads a JSON file of a layout (index.json, the oci-layout marker) with its size limit: the bytes are
// read in pieces and reading stops at the limit, so a huge file, or one with no end (a link to
// /dev/zero), costs at most the limit in memory; only regular files are opened (a FIFO would block). Errors of the file itself are passed on as they are.

import { Buffer } from 'node:buffer';
import { throwIfAborted } from '../errors.js';
import { JSON_LIMITS, jsonTooLarge, type JsonKind } from '../oci/json-limits.js';
import { openRegularFile } from './fs-util.js';

const PIECE = 1 << 20;

/** The file's bytes, at most the limit for its kind of document. */
export async function readJsonFile(path: string, kind: JsonKind, signal: AbortSignal): Promise<Buffer> {
  const limit = JSON_LIMITS[kind];
  const fh = await openRegularFile(path, kind);
  try {
    const { size } = await fh.stat();
    if (size > limit) throw jsonTooLarge(kind, path, size);
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      throwIfAborted(signal);
      const piece = Buffer.allocUnsafe(Math.min(PIECE, limit + 1 - total));
      const { bytesRead } = await fh.read(piece, 0, piece.byteLength, null);
      if (bytesRead === 0) break;
      parts.push(piece.subarray(0, bytesRead));
      total += bytesRead;
      if (total > limit) throw jsonTooLarge(kind, path);
    }
    return Buffer.concat(parts, total);
  } finally {
    await fh.close();
  }
}
