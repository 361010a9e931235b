// vitest globalSetup: builds dist/ once per test run, so end-to-end tests always run the current code
// through the real `tsconvert` binary. Type errors are reported here but fail the run only if nothing was
// emitted; CI's typecheck step is what fails on them. Several projects list this file (vitest.config.ts);
// the build runs once per test run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

// Shared through globalThis: vitest may load this file once per project.
const shared = globalThis as { tsconvertTestBuilt?: boolean };

export function setup(): void {
  if (shared.tsconvertTestBuilt === true) return;
  const r = spawnSync('node_modules/.bin/tsc', ['-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (r.status !== 0 && !existsSync('dist/bin/tsconvert.js')) throw new Error('tsc could not build dist/');
  if (r.status !== 0) console.warn('global-build: tsc reported errors (see above); testing what it emitted');
  shared.tsconvertTestBuilt = true;
}
