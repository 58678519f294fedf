import { existsSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Prompter } from './prompt.js';
import { Refused } from './refused.js';

/**
 * The warehouse `mlwatch init` reads: `--warehouse-url`, the demo's (`--demo`), or asked in a terminal. What
 * another process cannot open the same way is refused here: an in-memory engine is empty in every process,
 * and an embedded one's path is made absolute so `once` and `serve` find it from any working directory.
 */

export interface TargetFlags {
  warehouseUrl?: string | undefined;
  demo?: boolean | undefined;
  demoDir?: string | undefined;
}

/** A directory PGlite has made a database in: PG_VERSION sits at its top. */
const isPgliteDir = (dir: string) => existsSync(`${dir}/PG_VERSION`);
const isEmptyOrMissing = (dir: string) => !existsSync(dir) || readdirSync(dir).length === 0;

export async function warehouseTarget(
  flags: TargetFlags,
  output: string,
  prompter: Prompter | undefined,
): Promise<string> {
  let url = flags.warehouseUrl;
  if (url === undefined && flags.demo) {
    url = `pglite:${resolve(flags.demoDir ?? resolve(dirname(output), 'mlwatch-demo-warehouse'))}`;
  }
  if (url === undefined && prompter)
    url = await prompter.text('Warehouse URL (postgresql://user@host:5432/db)');
  if (url === undefined) {
    throw new Refused(
      'pass --warehouse-url URL (postgresql://user@host:5432/db, pglite:/dir or duckdb:/file.duckdb), or --demo for the demo warehouse',
    );
  }
  if (!/^(postgres|postgresql|pglite|duckdb):/.test(url)) {
    throw new Refused(
      '--warehouse-url: the URL must start with postgresql:// (or postgres://), pglite: or duckdb:',
    );
  }
  const embedded = /^(pglite|duckdb):(?:\/\/)?(.*)$/.exec(url);
  if (!embedded) return url;
  const [, engine, path] = embedded as unknown as [string, string, string];
  if (['', 'memory', ':memory:'].includes(path)) {
    throw new Refused(
      `--warehouse-url ${url}: an in-memory warehouse is empty in every new process; name a PGlite directory (pglite:/path), a DuckDB file, or use --demo`,
    );
  }
  const absolute = resolve(path);
  if (engine === 'pglite' && !isPgliteDir(absolute)) {
    // The demo makes its database in a new or empty directory; anything else would be a typo, where PGlite
    // would quietly make an empty database and leave the directory behind.
    if (!flags.demo) throw new Refused(`--warehouse-url ${url}: no PGlite database in ${absolute}`);
    if (!isEmptyOrMissing(absolute)) {
      throw new Refused(
        `${absolute} holds files but no PGlite database; name an empty or new folder for the demo`,
      );
    }
  }
  return `${engine}:${absolute}`;
}
