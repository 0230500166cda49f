import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ only when it is older than src/ (npm ci has built it already).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // e2e tests start servers and real kubectl processes; two cores do not like many at once.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
