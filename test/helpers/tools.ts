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

/**
 * `promtool test rules` on each file, as many at once as there are CPUs: promtool runs a file's groups one after
 * another, and the bundle's slowest file is a third of the whole. Resolves with one result per file, in order.
 */
export async function promtoolTestRules(
  bin: string,
  files: readonly string[],
  cwd: string,
): Promise<{ file: string; code: number | null; output: string }[]> {
  const { execFile } = await import('node:child_process');
  const { availableParallelism } = await import('node:os');
  const results: { file: string; code: number | null; output: string }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      const file = files[i] as string;
      results[i] = await new Promise((resolve) => {
        execFile(bin, ['test', 'rules', file], { cwd, timeout: 180_000 }, (err, stdout, stderr) => {
          const code = err ? ((err as { code?: number }).code ?? 1) : 0;
          resolve({ file, code: typeof code === 'number' ? code : 1, output: `${stdout}${stderr}` });
        });
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(availableParallelism(), files.length) }, worker));
  return results;
}
