// The shape in docs/architecture.md#import-direction, checked: which folder may import which, every
// third-party package in its one home module, the core free of process/console, and no import cycles.
// Reads import specifiers from the sources.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve('src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'generated' ? [] : sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

const files = sourceFiles(SRC);
const IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? '');
}

/** Top folder of a src file ("convert", "cli", …; "errors.ts" → "."). */
function area(file: string): string {
  const rel = relative(SRC, file);
  return rel.includes('/') ? (rel.split('/')[0] ?? '.') : '.';
}

function resolveLocal(file: string, spec: string): string {
  return resolve(dirname(file), spec).replace(/\.js$/, '.ts');
}

/** Folders each folder may import from (besides itself); "." is src/errors.ts. */
const ALLOWED: Record<string, string[]> = {
  '.': [],
  util: [],
  oci: ['.'],
  store: ['oci', '.'],
  zstd: ['.'],
  stream: ['oci', 'zstd', 'util', '.'],
  tar: ['.', 'util'],
  layers: ['oci', 'stream', 'zstd', 'tar', 'util', '.'],
  convert: ['store', 'oci', 'layers', 'stream', 'util', '.'],
  verify: ['store', 'oci', 'layers', 'stream', 'tar', 'zstd', 'util', '.'],
  containerd: ['store', 'oci', 'util', '.'],
  'oci-layout': ['store', 'oci', 'tar', 'util', '.'],
  registry: ['store', 'oci', 'util', '.'],
  cli: [
    'convert',
    'verify',
    'layers',
    'containerd',
    'oci-layout',
    'registry',
    'oci',
    'store',
    'stream',
    'util',
    'zstd',
    '.',
  ],
  bin: ['cli'],
};

/** Third-party packages and the only folder (or file) that may import each. */
const HOMES: Record<string, string> = {
  '@grpc/grpc-js': 'containerd',
  '@grpc/proto-loader': 'containerd',
  commander: 'cli',
  pino: 'cli/logger.ts',
  'log-update': 'cli/progress-tty.ts',
  '@bomb.sh/tab': 'cli/completion.ts',
  'zstd-napi': 'zstd',
  'tar-stream': 'oci-layout',
  'p-limit': 'convert',
  undici: 'registry',
  '@streamparser/json': 'verify/toc-entries.ts',
};

function withoutComments(file: string): string {
  return readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
}

describe('architecture', () => {
  it('keeps every import inside the allowed direction', () => {
    const bad: string[] = [];
    for (const file of files) {
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) continue;
        const from = area(file);
        const to = area(resolveLocal(file, spec));
        if (to !== from && !(ALLOWED[from] ?? []).includes(to)) bad.push(`${relative(SRC, file)} → ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('imports each third-party package only from its home', () => {
    const bad: string[] = [];
    for (const file of files) {
      for (const spec of importsOf(file)) {
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        const pkg = spec.startsWith('@')
          ? spec.split('/').slice(0, 2).join('/')
          : (spec.split('/')[0] ?? spec);
        const home = HOMES[pkg];
        const rel = relative(SRC, file);
        if (home === undefined || !(rel === home || rel.startsWith(`${home}/`))) bad.push(`${rel} → ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('keeps process and console out of everything but the CLI and the entry point', () => {
    const bad = files
      .filter((f) => !['cli', 'bin'].includes(area(f)))
      .filter((f) =>
        /\b(process\.(exit|argv|env|stdout|stderr|platform|arch)|console\.)/.test(withoutComments(f)),
      )
      .map((f) => relative(SRC, f));
    expect(bad).toEqual([]);
  });

  it('has no import cycles', () => {
    const graph = new Map(
      files.map((f) => [
        f,
        importsOf(f)
          .filter((s) => s.startsWith('.'))
          .map((s) => resolveLocal(f, s)),
      ]),
    );
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(SRC, p)).join(' → '));
        return;
      }
      state.set(f, 'visiting');
      for (const next of graph.get(f) ?? []) visit(next, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
