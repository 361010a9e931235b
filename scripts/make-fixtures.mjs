// CLI: generate the deterministic fixture images for the tests (OCI layout archives + fixtures.json).
// Usage: npx node scripts/make-fixtures.mjs [--out fixtures/out] [--force]
// Cheap when nothing changed: the output carries a stamp of the generator and is reused when it matches.

import { resolve } from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { generateFixtures } from './fixtures/generate.mjs';

async function main() {
  const { values } = parseArgs({
    options: { out: { type: 'string', default: 'fixtures/out' }, force: { type: 'boolean', default: false } },
  });
  const outDir = resolve(values.out ?? 'fixtures/out');
  const { generated, indexPath } = await generateFixtures({ outDir, force: values.force ?? false });
  process.stderr.write(`${generated ? 'generated' : 'up to date'}: ${indexPath}\n`);
  process.stdout.write(`${indexPath}\n`);
}

main().catch((err) => {
  process.stderr.write(`make-fixtures: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
