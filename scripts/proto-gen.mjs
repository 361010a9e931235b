// Generates the TypeScript types for our containerd .proto files into src/containerd/generated/ with
// proto-loader-gen-types, using the loader options in proto/loader-options.json (the runtime loader in
// src/containerd/proto.ts reads the same file). `--check` generates into a temporary directory instead and
// fails when the committed output differs, so a .proto edit without a regeneration is caught in CI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import process from 'node:process';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const log = (line) => process.stderr.write(`${line}\n`);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const protoDir = 'proto';
const outDir = 'src/containerd/generated';
// The .proto files the runtime loader (src/containerd/proto.ts) loads too, listed once.
const entryFiles = JSON.parse(readFileSync(join(root, protoDir, 'entry-files.json'), 'utf8'));

/** Turns the shared loader options into generator flags (booleans as switches, the rest as values). */
function optionFlags() {
  const options = JSON.parse(readFileSync(join(root, protoDir, 'loader-options.json'), 'utf8'));
  return Object.entries(options).flatMap(([key, value]) => {
    if (value === true) return [`--${key}`];
    if (value === false) return [];
    return [`--${key}=${String(value)}`];
  });
}

function generate(target) {
  rmSync(resolve(root, target), { recursive: true, force: true });
  const bin = join(root, 'node_modules', '.bin', 'proto-loader-gen-types');
  const args = [
    ...optionFlags(),
    '--grpcLib=@grpc/grpc-js',
    '--importFileExtension=.js',
    '-I',
    protoDir,
    '-O',
    target,
    ...entryFiles,
  ];
  // cwd = repo root so the "Original file:" comments are the same wherever the output goes.
  const run = spawnSync(bin, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.status !== 0) throw new Error(`proto-loader-gen-types failed (exit ${String(run.status)})`);
}

function listFiles(dir, base = dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full, base) : [relative(base, full)];
  });
}

/** Names of files that are missing, extra or different between two trees. */
function diffTrees(expectedDir, actualDir) {
  const expected = new Set(listFiles(expectedDir));
  const actual = new Set(listFiles(actualDir));
  const drift = [];
  for (const file of expected) {
    if (!actual.has(file)) drift.push(`missing: ${file}`);
    else if (!readFileSync(join(expectedDir, file)).equals(readFileSync(join(actualDir, file))))
      drift.push(`differs: ${file}`);
  }
  for (const file of actual) if (!expected.has(file)) drift.push(`extra:   ${file}`);
  return drift;
}

function main() {
  if (!process.argv.includes('--check')) {
    generate(outDir);
    log(`generated ${outDir}`);
    return;
  }
  const temp = mkdtempSync(join(tmpdir(), 'tsconvert-proto-'));
  try {
    generate(join(temp, 'out'));
    let drift = [];
    try {
      drift = diffTrees(join(temp, 'out'), join(root, outDir));
    } catch (err) {
      drift = [`cannot compare: ${err instanceof Error ? err.message : String(err)}`];
    }
    if (drift.length > 0) {
      log(`${outDir} is out of date with proto/ (run: npm run proto:gen)`);
      for (const line of drift) log(`  ${line}`);
      process.exitCode = 1;
      return;
    }
    log(`${outDir} is up to date`);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

main();
