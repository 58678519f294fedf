import { ConfigError } from '../config/errors.js';
import { loadConfigFile } from '../config/load.js';

/** Like `promtool check config`: a one-line summary per valid file, every problem of an invalid one. */
export function checkConfig(files: string[]): number {
  let failed = false;
  for (const file of files) {
    try {
      const config = loadConfigFile(file);
      const kinds = new Map<string, number>();
      for (const c of config.checks) kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
      const detail = [...kinds].map(([k, n]) => `${n} ${k}`).join(', ');
      process.stdout.write(
        `${file}: valid, ${config.checks.length} check(s)${detail ? ` (${detail})` : ''}\n`,
      );
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`${err.message}\n`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
