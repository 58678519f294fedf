import { defineConfig } from 'vitest/config';

// With Node alone (the embedded PGlite warehouse), most of a test file's cost is starting WebAssembly PGlite:
// reusing each worker's process (isolate: false) keeps the compiled module, and a second worker overlaps the
// files' fixed waits and child processes. Measured on 2 cores: 610 s -> 305 s, every test passing
// (docs/architecture.md, "Test time"). Against a real PostgreSQL the defaults stay: tests there count the
// server's backends and sessions, which a second worker's files would share.
const embedded = process.env.MLWATCH_TEST_DATABASE_URL === undefined;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/stack/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    ...(embedded ? { maxWorkers: 2, isolate: false } : {}),
  },
});
