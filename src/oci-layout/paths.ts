// Where things live inside an OCI image layout directory, including tsconvert's private entries
// (ingests and the index lock), which start with "." so other tools ignore them.

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parseDigest } from '../oci/digest.js';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const IMAGE_LAYOUT_VERSION = '1.0.0';
/** Unfinished blobs, one directory per ingest ref. Never packed into archives. */
export const INGEST_DIR = '.tsconvert-ingest';
/** Reuse records of converted layers, one `<record id>.json` each (reuse-records.ts). Never packed. */
export const REUSE_DIR = '.tsconvert-reuse';
/** Serialises read-modify-write of index.json between processes. */
export const INDEX_LOCK_FILE = '.tsconvert.lock';

export function blobsDir(root: string): string {
  return join(root, 'blobs', 'sha256');
}

export function blobPath(root: string, digest: string): string {
  return join(blobsDir(root), parseDigest(digest).slice('sha256:'.length));
}

/** The ingest directory of `ref`: named by the ref's sha256 so any ref string is a safe file name. */
export function ingestDir(root: string, ref: string): string {
  return join(root, INGEST_DIR, createHash('sha256').update(ref).digest('hex'));
}

/** Files inside one ingest directory. */
export const INGEST_DATA = 'data';
export const INGEST_META = 'meta.json';
export const INGEST_LOCK = 'lock';
