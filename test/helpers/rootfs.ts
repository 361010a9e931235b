// Root file systems as lists of entries (test/helpers/tree-listing.py), and their differences as readable
// lines, so a test can assert that a client's pull equals the source image file for file — or differs in
// exactly the ways a reader is known to, each difference named.
import { join } from 'node:path';
import { REPO_ROOT } from './fixtures.js';
import { run } from './run.js';

export interface TreeEntry {
  path: string;
  type: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime_ns?: number;
  size?: number;
  sha256?: string;
  target?: string;
  rdev?: [number, number];
  xattrs?: Record<string, string>;
  links?: string[];
}

export type Tree = Map<string, TreeEntry>;

export async function listTree(dir: string): Promise<Tree> {
  const { stdout } = await run('python3', [join(REPO_ROOT, 'test', 'helpers', 'tree-listing.py'), dir]);
  return new Map((JSON.parse(stdout) as TreeEntry[]).map((e) => [e.path, e]));
}

/** Fields compared; `mtime_ns` only when asked for. */
const FIELDS = ['type', 'mode', 'uid', 'gid', 'size', 'sha256', 'target', 'rdev', 'xattrs', 'links'] as const;

/**
 * Every difference between two trees, one line each, sorted: `missing PATH`, `extra PATH`,
 * `PATH: FIELD expected → actual`. With `mtimes`, modification times of everything but directories are
 * compared too (a directory's time is that of its unpacking when the tar does not list it, or a later
 * layer changes it).
 */
export function diffTrees(expected: Tree, actual: Tree, options: { mtimes?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const [path, e] of expected) {
    const a = actual.get(path);
    if (a === undefined) {
      out.push(`missing ${JSON.stringify(path)} (${e.type})`);
      continue;
    }
    const fields: readonly string[] =
      options.mtimes === true && e.type !== 'dir' ? [...FIELDS, 'mtime_ns'] : FIELDS;
    for (const f of fields) {
      const x = JSON.stringify((e as unknown as Record<string, unknown>)[f]);
      const y = JSON.stringify((a as unknown as Record<string, unknown>)[f]);
      if (x !== y) out.push(`${JSON.stringify(path)}: ${f} ${x} → ${y}`);
    }
  }
  for (const [path, a] of actual)
    if (!expected.has(path)) out.push(`extra ${JSON.stringify(path)} (${a.type})`);
  return out.sort();
}

/** The tree without the entries under `prefix` (a directory, e.g. `esc`) and without the directory itself. */
export function withoutDir(tree: Tree, prefix: string): Tree {
  return new Map([...tree].filter(([p]) => p !== prefix && !p.startsWith(`${prefix}/`)));
}
