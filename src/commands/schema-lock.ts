import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { datasetContext } from '../checks/dataset/context.js';
import {
  type Column,
  compareSchema,
  lockTarget,
  readTableColumns,
  schemaHash,
} from '../checks/dataset/schema.js';
import {
  LOCK_FILE_NAME,
  type LockedDataset,
  readSchemaLock,
  type SchemaLock,
  writeSchemaLock,
} from '../checks/dataset/schema-lock.js';
import type { LoadedConfig } from '../config/load.js';
import { dialectOf } from '../sql/dialect.js';
import { describeError, isConnectionError } from '../warehouse/errors.js';
import { openWarehouse } from '../warehouse/open.js';
import type { Warehouse } from '../warehouse/types.js';
import { loadOrExit } from './common.js';

export interface SchemaLockOptions {
  /** Write every dataset to this file instead of the lock file(s) the config names. */
  out?: string | undefined;
  /** Tests: the warehouse to read (default: the config's warehouse, read-only). */
  openWarehouse?: (config: LoadedConfig) => Warehouse;
  /** Tests: where the per-dataset lines and the errors go (default: stdout, stderr). */
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
}

interface Target {
  name: string;
  table: string;
  /** Resolved path of the lock file this dataset goes to. */
  path: string;
  columns?: Column[];
}

/**
 * `mlwatch schema lock --config FILE [--out FILE]`: reads the columns of every dataset with a schema check and
 * writes the lock file(s), replacing them. A dataset goes to the lock file its check names (`lock:`), the
 * others to mlwatch.schema.lock.json next to the config; `--out` puts them all in one file. Nothing is
 * written unless every table could be read. Returns the exit code.
 */
export async function schemaLock(configFile: string, opts: SchemaLockOptions = {}): Promise<number> {
  const out = opts.stdout ?? ((l: string) => void process.stdout.write(`${l}\n`));
  const err = opts.stderr ?? ((l: string) => void process.stderr.write(`${l}\n`));
  const config = loadOrExit(configFile);
  const baseDir = dirname(resolve(configFile));
  const defaultPath = opts.out !== undefined ? resolve(opts.out) : resolve(baseDir, LOCK_FILE_NAME);

  const targets: Target[] = [];
  for (const d of config.raw.datasets) {
    const spec = d.checks.schema;
    if (spec === undefined) continue;
    const path = opts.out !== undefined ? defaultPath : (lockTarget(spec, baseDir)?.path ?? defaultPath);
    targets.push({ name: d.name, table: d.table, path });
  }
  if (targets.length === 0) {
    err(`${configFile}: no dataset has a schema check; add schema: { lock: true } under a dataset's checks`);
    return 1;
  }

  let warehouse: Warehouse;
  try {
    warehouse = opts.openWarehouse ? opts.openWarehouse(config) : openWarehouse(config.warehouse);
  } catch (e) {
    err(`cannot open the warehouse: ${describeError(e)}`);
    return 1;
  }
  const failures: string[] = [];
  try {
    for (const t of targets) {
      const d = config.raw.datasets.find((x) => x.name === t.name);
      if (d === undefined) continue;
      const timeoutMs = d.timeout ?? config.warehouse.statementTimeoutMs;
      const ds = datasetContext(
        d,
        { everyMs: config.defaults.intervalMs },
        timeoutMs,
        dialectOf(config.warehouse.url),
      );
      try {
        t.columns = await warehouse.readOnly({ timeoutMs }, (q) => readTableColumns(q, ds));
      } catch (e) {
        failures.push(`${t.name}: ${describeError(e, timeoutMs)}`);
        // Every other dataset would fail the same way.
        if (isConnectionError(e)) break;
      }
    }
  } finally {
    await warehouse.close().catch(() => undefined);
  }
  if (failures.length > 0) {
    for (const f of failures) err(f);
    err('no schema lock file written');
    return 1;
  }

  const files = new Map<string, Target[]>();
  for (const t of targets) files.set(t.path, [...(files.get(t.path) ?? []), t]);
  for (const [path, list] of files) {
    const previous = await readSchemaLock(path).catch(() => undefined);
    const lock: SchemaLock = { version: 1, datasets: {} };
    for (const t of list) {
      const columns = t.columns as Column[];
      lock.datasets[t.name] = { table: t.table, columns, hash: schemaHash(columns) };
    }
    try {
      await writeSchemaLock(path, lock);
    } catch (e) {
      err(
        `${shown(path)}: cannot write the schema lock file: ${(e as NodeJS.ErrnoException).code ?? describeError(e)}`,
      );
      return 1;
    }
    for (const t of list) out(summary(t.name, lock.datasets[t.name] as LockedDataset, previous));
    out(`wrote ${shown(path)}`);
  }
  return 0;
}

/** `applications: 8 columns, hash 3fa2c0d19b7e` plus what changed since the previous lock, if it did. */
function summary(name: string, now: LockedDataset, previous: SchemaLock | undefined): string {
  const head = `${name}: ${now.columns.length} column${now.columns.length === 1 ? '' : 's'}, hash ${now.hash}`;
  if (previous === undefined || !Object.hasOwn(previous.datasets, name)) return head;
  const before = previous.datasets[name] as LockedDataset;
  const c = compareSchema(now.columns, before.columns);
  const parts = [
    c.added.length > 0 ? `added ${c.added.join(', ')}` : '',
    c.removed.length > 0 ? `removed ${c.removed.join(', ')}` : '',
    c.type_changed.length > 0 ? `type changed ${c.type_changed.join(', ')}` : '',
  ].filter(Boolean);
  if (parts.length === 0 && before.hash === now.hash) return `${head} (unchanged)`;
  if (parts.length === 0) return `${head} (was ${before.hash}: columns reordered)`;
  return `${head} (was ${before.hash}: ${parts.join('; ')})`;
}

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
