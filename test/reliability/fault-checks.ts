// Checks from outside tsconvert for the concurrent fault run: an image in containerd is walked with `ctr`
// (every blob read back and hashed against its digest, every platform and attestation included), an image
// in an OCI layout is read by `skopeo inspect` and every blob file is hashed by `sha256sum`; leases and
// ingests are listed and tied to the run that made them (the owner label names its PID, and a lease's
// resources name its ingests).

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ContainerdBackend } from '../../src/containerd/backend.js';
import { OWNER_LABEL } from '../../src/util/run-tags.js';
import { parseOwner } from '../../src/util/run-owner.js';
import { blob, imageDigest, rows } from '../helpers/e2e.js';

const run = promisify(execFile);

interface Node {
  schemaVersion?: number;
  manifests?: { digest: string }[];
  config?: { digest: string };
  layers?: { digest: string }[];
}

/** Children of a JSON blob that is an index or manifest; [] for configs, layers and attestation statements. */
function children(bytes: Buffer): string[] {
  if (bytes[0] !== 0x7b) return [];
  let doc: Node;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Node;
  } catch {
    return [];
  }
  if (doc.schemaVersion !== 2) return []; // an image config has a "config" key too
  const all = [...(doc.manifests ?? []), ...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])];
  return all.map((d) => (typeof d.digest === 'string' ? d.digest : `(no digest in ${JSON.stringify(d)})`));
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Walks an image in containerd with `ctr content get`; returns problems (missing or mis-hashed blobs). */
export async function verifyContainerdImage(namespace: string, name: string): Promise<string[]> {
  const target = await imageDigest(namespace, name);
  if (target === undefined) return [`${name}: no image record`];
  const problems: string[] = [];
  const seen = new Set<string>();
  const pending = [target];
  while (pending.length > 0) {
    const digest = pending.pop() as string;
    if (seen.has(digest)) continue;
    seen.add(digest);
    let bytes: Buffer;
    try {
      bytes = await blob(namespace, digest);
    } catch (err) {
      problems.push(`${name}: ${digest} unreadable: ${(err as Error).message.split('\n')[0]}`);
      continue;
    }
    if (sha256(bytes) !== digest) problems.push(`${name}: ${digest} hashes to ${sha256(bytes)}`);
    pending.push(...children(bytes));
  }
  return problems;
}

/** Reads an image in an OCI layout with skopeo, then hashes every blob it reaches with sha256sum. */
export async function verifyLayoutImage(layout: string, ref: string): Promise<string[]> {
  const problems: string[] = [];
  try {
    await run('skopeo', ['inspect', '--raw', `oci:${layout}:${ref}`], { maxBuffer: 16 << 20 });
  } catch (err) {
    problems.push(`skopeo inspect oci:${layout}:${ref}: ${(err as Error).message.split('\n')[0]}`);
  }
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === ref);
  if (!entry) return [...problems, `oci:${layout}: no entry for ${ref}`];
  const seen = new Set<string>();
  const pending = [entry.digest];
  while (pending.length > 0) {
    const digest = pending.pop() as string;
    if (seen.has(digest)) continue;
    seen.add(digest);
    const file = join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
    try {
      const { stdout } = await run('sha256sum', [file]);
      if (`sha256:${stdout.split(' ')[0]}` !== digest)
        problems.push(`${file}: sha256sum says ${stdout.trim()}`);
      pending.push(...children(await readFile(file)));
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return problems;
}

/** The PID a tsconvert lease's owner label names, whether it is a run-owner token or "tsconvert pid N on H". */
export function ownerPid(labels: Record<string, string>): number | undefined {
  const value = labels[OWNER_LABEL];
  if (value === undefined) return undefined;
  const owner = parseOwner(value);
  if (owner) return owner.pid;
  const m = /\bpid (\d+)\b/.exec(value);
  return m ? Number(m[1]) : undefined;
}

export interface Leftovers {
  /** Leases by owner PID (undefined: not tsconvert's). */
  leases: { id: string; pid: number | undefined; ingests: string[] }[];
  /** Active ingest refs as `ctr content active` lists them. */
  ingests: string[];
}

export async function leftovers(
  backend: ContainerdBackend,
  namespace: string,
  signal: AbortSignal,
): Promise<Leftovers> {
  const leases = [];
  for (const lease of await backend.leases.list({ signal })) {
    const resources = await backend.leases.listResources(lease.id, { signal });
    const ingests = resources.filter((r) => r.type === 'ingests').map((r) => r.id);
    leases.push({ id: lease.id, pid: ownerPid(lease.labels), ingests });
  }
  const ingests = (await rows(['content', 'active'], namespace)).map((row) => row.split(/\s+/)[0] ?? '');
  return { leases, ingests };
}
