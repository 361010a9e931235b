import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    globalSetup: ['test/setup/global-build.ts', 'test/setup/global-containerd.ts'],
    fileParallelism: false,
  },
});
