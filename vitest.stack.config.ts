import { defineConfig } from 'vitest/config';

// `npm run test:stack`: the live stack (real Postgres, exporter, Prometheus, Alertmanager), one test at a time.
export default defineConfig({
  test: {
    include: ['test/stack/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
