import { defineConfig } from 'vitest/config';

// Tests mirror the source folders. Sim and browser tests are slower than unit tests, so the
// timeout is generous; benchmarks never run here (see `npm run bench`).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
