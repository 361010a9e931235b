import { describe, expect, it } from 'vitest';
import { PathSet } from '../../../src/layers/zstdchunked/path-set.js';

/** Paths shaped like a root file system's: long shared prefixes, names that differ in one or two places. */
function pathsLike(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++)
    out.push(`/usr/lib/python3/dist-packages/pkg${i % 997}/sub${i % 13}/file-${i}.py`);
  return out;
}

describe('PathSet', () => {
  it('has every path added, through many resizes, and no other path', () => {
    const set = new PathSet();
    const paths = pathsLike(300_000);
    for (const p of paths) {
      expect(set.has(p)).toBe(false);
      set.add(p);
    }
    expect(set.size).toBe(paths.length);
    for (const p of paths) expect(set.has(p)).toBe(true);
    // Near misses of every added path: one character more, one changed, another case.
    for (const p of paths.slice(0, 50_000)) {
      expect(set.has(`${p}c`)).toBe(false);
      expect(set.has(p.replace('/file-', '/filf-'))).toBe(false);
      expect(set.has(p.toUpperCase())).toBe(false);
    }
  });

  it('counts a path added twice once, and tells apart the empty path, "/" and non-ASCII names', () => {
    const set = new PathSet();
    for (const p of ['', '/', '/ä', '/a\u0000b', '/a', '/a']) set.add(p);
    expect(set.size).toBe(5);
    for (const p of ['', '/', '/ä', '/a\u0000b', '/a']) expect(set.has(p)).toBe(true);
    for (const p of ['/b', '/a\u0000', '/ä/', '/\u00e4\u0308']) expect(set.has(p)).toBe(false);
  });
});
