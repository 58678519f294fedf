import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/stack/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
