#!/usr/bin/env node
// Longer fuzz runs than CI's (test/reliability/fuzz): the same properties with more inputs and a fresh seed.
//
//   npm run fuzz                                  10 million inputs per parser, a random seed
//   npm run fuzz -- --inputs 50000000 --seed 42   size and seed of the run
//   npm run fuzz -- tar json locations            only these fuzzers (default: all three)
//
// The seed is printed first; a failure prints the failing batch's seed, which replays it on its own with
// `TSCONVERT_FUZZ_SEED=<seed> TSCONVERT_FUZZ_INPUTS=1 npx vitest run test/reliability/fuzz/<name>.test.ts`.

import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const FUZZERS = ['tar', 'json', 'locations'];

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const value = process.argv[i + 1];
  if (value === undefined || !/^\d+$/.test(value)) {
    process.stderr.write(`fuzz: ${name} needs a non-negative integer\n`);
    process.exit(2);
  }
  return value;
}

const inputs = option('--inputs', '10000000');
const seed = option('--seed', String(randomInt(1, 2 ** 31)));
const named = process.argv
  .slice(2)
  .filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
const unknown = named.filter((n) => !FUZZERS.includes(n));
if (unknown.length > 0) {
  process.stderr.write(`fuzz: unknown fuzzer ${unknown.join(', ')}; choose from ${FUZZERS.join(', ')}\n`);
  process.exit(2);
}
const files = (named.length > 0 ? named : FUZZERS).map((n) => `test/reliability/fuzz/${n}.test.ts`);

process.stdout.write(
  `fuzz: ${inputs} inputs per parser, seed ${seed} (TSCONVERT_FUZZ_SEED=${seed} replays this run)\n`,
);
const vitest = join(root, 'node_modules', '.bin', 'vitest');
const r = spawnSync(vitest, ['run', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TSCONVERT_FUZZ_INPUTS: inputs, TSCONVERT_FUZZ_SEED: seed },
});
process.exitCode = r.status ?? 1;
