import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Absolute path of an executable on PATH, or undefined. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {}
  }
  return undefined;
}

/**
 * A program some tests run for real (promtool, amtool, prometheus, docker-compose, openssl): the path of the
 * first of `names` on PATH. Without any of them those tests skip, so `npm test` passes with Node alone; under CI
 * (the CI environment variable, which .ci/run sets) a missing program fails the test file instead, so a broken
 * install step cannot turn the bundle's tests into silent skips.
 */
export function toolOnPath(...names: string[]): string | undefined {
  for (const name of names) {
    const file = findOnPath(name);
    if (file) return file;
  }
  if (process.env.CI) {
    throw new Error(
      `${names.join(' or ')} is not on PATH and CI is set: CI runs every test; install it with scripts/install-stack-deps.sh`,
    );
  }
  return undefined;
}
