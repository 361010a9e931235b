// Shared steps of the end-to-end tests: import a fixture into a fresh namespace of the private containerd,
// run the tsconvert binary against it, and read results back with containerd's own `ctr`.
import { expect } from 'vitest';
import { tsconvert, type CliResult } from './cli.js';
import { ctr, testContainerd } from './containerd.js';
import { ensureFixtures, importFixture, type FixtureName, type LoadedFixture } from './fixtures.js';

export interface ImportedImage {
  namespace: string;
  fixture: LoadedFixture;
  name: string;
  /** Runs tsconvert with -a/-n pointing at this namespace. */
  run(args: readonly string[]): Promise<CliResult>;
}

export async function importedImage(name: FixtureName): Promise<ImportedImage> {
  const { address, newNamespace } = testContainerd();
  const namespace = newNamespace(name);
  const fixture = (await ensureFixtures()).fixtures[name];
  const image = await importFixture(name, { address, namespace });
  return {
    namespace,
    fixture,
    name: image,
    run: (args) => tsconvert(['-a', address, '-n', namespace, ...args]),
  };
}

export async function ctrOk(args: string[], namespace: string): Promise<string> {
  const r = await ctr(args, { namespace });
  if (r.code !== 0) throw new Error(`ctr ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export async function blob(namespace: string, digest: string): Promise<Buffer> {
  const r = await ctr(['content', 'get', digest], { namespace });
  if (r.code !== 0) throw new Error(`ctr content get ${digest}: ${r.stderr}`);
  return r.stdoutBytes;
}

export async function json<T = Record<string, unknown>>(namespace: string, digest: string): Promise<T> {
  return JSON.parse((await blob(namespace, digest)).toString('utf8')) as T;
}

/** Rows of a ctr listing without its header line. */
export async function rows(args: string[], namespace: string): Promise<string[]> {
  const out = await ctrOk(args, namespace);
  return out
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '');
}

/** The target digest of an image record, as `ctr images ls` reports it. */
export async function imageDigest(namespace: string, name: string): Promise<string | undefined> {
  for (const row of await rows(['images', 'ls'], namespace)) {
    const cols = row.split(/\s+/);
    if (cols[0] === name) return cols[2];
  }
  return undefined;
}

/**
 * Asserts `ctr images check` calls the image complete (it looks at the host platform only), and with
 * `allPlatforms` that every blob reachable from the target — every platform, attestations too — is in the
 * content store as `ctr content ls` lists it.
 */
export async function expectComplete(namespace: string, name: string, allPlatforms = false): Promise<void> {
  const out = await ctrOk(['images', 'check', `name==${name}`], namespace);
  expect(out, 'ctr images check').toMatch(/complete \((\d+)\/\1\)/);
  if (!allPlatforms) return;
  const present = new Set((await ctrOk(['content', 'ls', '-q'], namespace)).split('\n').map((l) => l.trim()));
  const target = await imageDigest(namespace, name);
  const pending = [target ?? ''];
  const missing: string[] = [];
  while (pending.length > 0) {
    const digest = pending.pop() ?? '';
    if (!present.has(digest)) {
      missing.push(digest);
      continue;
    }
    const head = (await blob(namespace, digest)).subarray(0, 1).toString();
    if (head !== '{') continue;
    const doc = await json<{
      schemaVersion?: number;
      manifests?: Array<{ digest: string }>;
      config?: { digest: string };
      layers?: Array<{ digest: string }>;
    }>(namespace, digest);
    if (doc.schemaVersion !== 2) continue;
    for (const d of [...(doc.manifests ?? []), ...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])])
      pending.push(d.digest);
  }
  expect(missing, 'blobs missing from the content store').toEqual([]);
}

/** No lease and no ingest left in the namespace. */
export async function expectNoLeftovers(namespace: string): Promise<void> {
  expect(await rows(['leases', 'ls'], namespace)).toEqual([]);
  expect(await rows(['content', 'active'], namespace)).toEqual([]);
}

/**
 * How many times each ingest ref got a Write stream, from tsconvert's --debug log. A large blob written
 * through its ingest file (src/containerd/ingest-files.ts) takes two, on a ref of its own.
 */
export function writeStreamsByRef(stderr: string): Map<string, number> {
  return countByRef(stderr, 'content write stream opened');
}

/** How many times each ingest ref was opened (one per conversion of a blob), from the --debug log. */
export function ingestsByRef(stderr: string): Map<string, number> {
  return countByRef(stderr, 'content ingest opened');
}

function countByRef(stderr: string, message: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of stderr.split('\n')) {
    if (!line.includes(message)) continue;
    // Without the run's owner token and random suffix (src/util/run-tags.ts) after the first '@': the
    // converter's own name (digests have no '@').
    const ref = /ref=([^\s@]+)/.exec(line)?.[1];
    if (ref) counts.set(ref, (counts.get(ref) ?? 0) + 1);
  }
  return counts;
}
