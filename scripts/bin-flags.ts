// The Node flags that dist/bin/tsconvert.js's shebang line passes (`#!/usr/bin/env -S node FLAGS`). The
// bench and the tests start the binary with the project's pinned Node rather than through `env`, and use
// this so they run it exactly as a user's shell does. Plain TypeScript that Node 24 runs without a build.

import { readFileSync } from 'node:fs';

export function binNodeFlags(binPath: string): string[] {
  const first = readFileSync(binPath, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env\s+(?:-S\s+)?node((?:\s+\S+)*)\s*$/.exec(first);
  if (m === null) throw new Error(`${binPath} does not start with a "#!/usr/bin/env -S node" line`);
  return (m[1] ?? '')
    .trim()
    .split(/\s+/)
    .filter((f) => f !== '');
}
