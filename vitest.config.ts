// Three test tiers as vitest projects, picked by directory (README "Tests" lists the npm scripts):
//   unit        test/unit/**: in-process, no root, no containerd, no built binary; files run in parallel.
//   containerd  test/{contract,integration,e2e,interop,reliability}/**: builds dist/ and starts a private
//               containerd (after scripts/ensure-tools.sh) in its global setup; one file at a time.
//   big         test/big/**: the multi-GB tests, same setup as containerd (one daemon shared by both).
// Groups run in order (unit, containerd, big) so the serial tiers never share the machine with the parallel one.
import { defineConfig } from 'vitest/config';

const withContainerd = ['test/setup/global-build.ts', 'test/setup/global-containerd.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'containerd',
          include: ['test/{contract,integration,e2e,interop,reliability}/**/*.test.ts'],
          globalSetup: withContainerd,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'big',
          include: ['test/big/**/*.test.ts'],
          globalSetup: withContainerd,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
