import type { DuckDBConnection, DuckDBInstance, DuckDBValue } from '@duckdb/node-api';
import { quoteIdent } from '../sql/identifiers.js';
import { loadHttpfs } from './duckdb-httpfs.js';
import { attachedName, baseDirectory, credentialScrubber, isRemotePath, redactPath } from './duckdb-paths.js';
import type { Queryable, ReadOnlyOptions, Row, Warehouse } from './types.js';

/**
 * DuckDB as a warehouse, in one of three forms:
 * - `duckdb:/path/to/file.duckdb`, a database file opened READ ONLY, with external access off (no file, URL or
 *   extension a statement could read, write or load outside the database);
 * - `duckdb:memory` with `warehouse.files`: Parquet, CSV or JSON files (globs, Hive partitions; local, or remote
 *   through the httpfs extension, duckdb-httpfs.ts) read through views `files.<name>` made at open, with
 *   external access off but for the files' directories (allowed_directories);
 * - a database file with `warehouse.files`: the in-memory database of the second form, with the file ATTACHed
 *   READ_ONLY under its own name and made each check's current database, so its tables are named as when the
 *   file is opened alone (`main.predictions`, `predictions`, `shop.orders`) and the views as `files.<name>`.
 * Every time the configuration is then locked, so no statement can turn any of it back on, and every statement
 * a check sends must be a single SELECT (checked on the prepared statement): inside an allowed directory DuckDB
 * would otherwise let `COPY ... TO` write, and an in-memory database takes `CREATE`.
 *
 * The driver (@duckdb/node-api, an optional dependency of 70 MB with DuckDB's binary) is imported on first
 * use: a PostgreSQL user never loads it. Each check runs in a transaction of its own on a connection of its
 * own, rolled back at the end; now() is the transaction's start, as on PostgreSQL, so every window of a run
 * ends at the same instant. A check that overruns its timeout is interrupted (DuckDB has no
 * statement_timeout): its statement fails with an error naming the timeout.
 */

/** A file source of `warehouse.files`: a view `files.<name>` over `path` (a file or a glob), read as `format`. */
export interface FileSource {
  name: string;
  format: 'parquet' | 'csv' | 'json';
  /** Absolute, or a remote URL (s3://, gs://, r2://, https://...: duckdb-paths.ts). */
  path: string;
  hivePartitioning: boolean;
  /** Column -> type (from a fixed list the config allows), cast in the view. */
  types: Readonly<Record<string, string>>;
}

/** The path of a `duckdb:` URL, or undefined for `duckdb:memory`. */
export function duckdbPath(url: string): string | undefined {
  const path = url.slice('duckdb:'.length);
  return path === 'memory' ? undefined : path;
}

/** A string as a SQL literal. */
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The statement that makes the view of one file source (in the in-memory database's schema files). */
export function viewStatement(f: FileSource): string {
  const reader = { parquet: 'read_parquet', csv: 'read_csv', json: 'read_json' } as const;
  const casts = Object.entries(f.types).map(([c, t]) => `CAST(${quoteIdent(c)} AS ${t}) AS ${quoteIdent(c)}`);
  const star = casts.length === 0 ? '*' : `* REPLACE (${casts.join(', ')})`;
  const options = f.hivePartitioning ? ', hive_partitioning = true' : '';
  return `CREATE VIEW memory.files.${quoteIdent(f.name)} AS SELECT ${star} FROM ${reader[f.format]}(${literal(f.path)}${options})`;
}

/**
 * The statements that close everything but the files' directories and lock it. A remote directory is a URL
 * prefix (s3://bucket/logs/): DuckDB canonicalises an allowed directory and each path it opens alike, so the
 * prefix holds for URLs (measured on 1.5.6 before httpfs loads: s3://bucket/logs/x.parquet gets past the
 * check, s3://bucket/other/x.parquet is refused). The canonical form of a URL is a local-looking path under the
 * working directory (<cwd>/s3:/bucket/logs/), which a local directory of that odd name would share.
 */
export function lockStatements(files: readonly FileSource[]): string[] {
  const dirs = [...new Set(files.map((f) => baseDirectory(f.path)))];
  return [
    `SET allowed_directories = [${dirs.map(literal).join(', ')}]`,
    'SET enable_external_access = false',
    'SET lock_configuration = true',
  ];
}

/** A statement a check may not send: anything but one SELECT. */
export class DuckdbNotARead extends Error {
  readonly code = '25006';
}

export function isDuckdbUrl(url: string): boolean {
  return url.startsWith('duckdb:');
}

/** Why a check stopped when its time ran out (describeError reports it as a timeout). */
export class DuckdbTimeout extends Error {
  readonly code = '57014';
  constructor(timeoutMs: number) {
    super(`canceling statement due to statement timeout (${timeoutMs / 1000}s)`);
  }
}

/** The driver, imported on first use; the demo's Parquet writer loads it here too, so this stays its one import. */
export async function loadDuckdbDriver(): Promise<typeof import('@duckdb/node-api')> {
  try {
    return await import('@duckdb/node-api');
  } catch (err) {
    throw new Error(
      `the DuckDB driver is not installed (${(err as Error).message.split('\n')[0]}): it is an optional dependency; ` +
        'install it with npm install @duckdb/node-api, or npm install without --omit=optional',
    );
  }
}

/** A bound value as DuckDB takes it: arrays as lists (their SQL cast gives the element type). */
function toDuckdb(api: typeof import('@duckdb/node-api'), v: unknown): DuckDBValue {
  if (Array.isArray(v)) return api.listValue(v.map((x) => toDuckdb(api, x)));
  return v as DuckDBValue;
}

/** A value as the check kinds read it: numbers for DuckDB's 64-bit integers (counts), lists as arrays. */
function fromDuckdb(v: unknown): unknown {
  if (typeof v === 'bigint') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v.toString();
  }
  if (Array.isArray(v)) return v.map(fromDuckdb);
  return v;
}

async function query(
  api: typeof import('@duckdb/node-api'),
  c: DuckDBConnection,
  sql: string,
  params: readonly unknown[],
): Promise<Row[]> {
  const extracted = await c.extractStatements(sql);
  if (extracted.count !== 1)
    throw new DuckdbNotARead(`a check sends one statement at a time, not ${extracted.count}`);
  const prepared = await extracted.prepare(0);
  try {
    if (prepared.statementType !== api.StatementType.SELECT) {
      throw new DuckdbNotARead(
        `a check only reads; this is a ${api.StatementType[prepared.statementType]} statement`,
      );
    }
    prepared.bind(params.map((v) => toDuckdb(api, v)));
    return rowsOf(await prepared.runAndReadAll());
  } finally {
    prepared.destroySync();
  }
}

function rowsOf(reader: import('@duckdb/node-api').DuckDBResultReader): Row[] {
  return reader.getRowObjectsJS().map((r) => {
    const row: Row = {};
    for (const [k, v] of Object.entries(r)) row[k] = fromDuckdb(v);
    return row;
  });
}

export function createDuckdbWarehouse(url: string, pool = 2, files: readonly FileSource[] = []): Warehouse {
  const path = duckdbPath(url);
  // A database file read beside files is attached under this name; each check's connection starts there.
  const attached = path !== undefined && files.length > 0 ? attachedName(path) : undefined;
  const clean = credentialScrubber(files.map((f) => f.path));
  let opened: Promise<{ api: typeof import('@duckdb/node-api'); db: DuckDBInstance }> | undefined;
  const open = () => {
    opened ??= (async () => {
      const api = await loadDuckdbDriver();
      const noExtensions = { autoload_known_extensions: 'false', autoinstall_known_extensions: 'false' };
      if (path !== undefined && attached === undefined) {
        const db = await api.DuckDBInstance.create(path, {
          ...noExtensions,
          access_mode: 'READ_ONLY',
          enable_external_access: 'false',
          lock_configuration: 'true',
        });
        return { api, db };
      }
      // In memory, so the views have somewhere to live: a READ_ONLY instance cannot attach an in-memory
      // database, and DuckDB resolves `files.x` only in a catalog on the search path, which is per connection.
      const db = await api.DuckDBInstance.create(':memory:', noExtensions);
      const c = await db.connect();
      const run = async (sql: string) => (await c.runAndReadAll(sql)).getRowObjectsJS();
      try {
        if (path !== undefined)
          await c.run(`ATTACH ${literal(path)} AS ${quoteIdent(attached as string)} (READ_ONLY)`);
        // Before external access is turned off: afterwards DuckDB would neither download nor load it. When it
        // cannot load, the open fails as a whole, as it does for a local file that is missing: one instance holds
        // every view and is locked once made, a view over a remote path cannot even be created without httpfs,
        // and a check then reads "the httpfs extension is needed for s3:// paths (warehouse.files.x)" rather
        // than "table x does not exist". The next check opens again.
        const remote = files.filter((f) => isRemotePath(f.path));
        if (remote.length > 0) await loadHttpfs(run, remote);
        await c.run('CREATE SCHEMA memory.files');
        for (const f of files) {
          await c.run(viewStatement(f)).catch((err: unknown) => {
            throw new Error(`warehouse.files.${f.name} (${redactPath(f.path)}): ${(err as Error).message}`);
          });
        }
        for (const statement of lockStatements(files)) await c.run(statement);
      } catch (err) {
        db.closeSync();
        throw err;
      } finally {
        c.closeSync();
      }
      return { api, db };
    })().catch((err: unknown) => {
      throw clean(err);
    });
    // A failed open is tried again on the next check (the file may appear, the extension be installed).
    opened.catch(() => {
      opened = undefined;
    });
    return opened;
  };
  // `files.x` resolves only in a catalog on the search path, and both are per connection (DuckDB refuses a
  // global search_path): the file's main schema first, as when it is opened alone, then the views. An
  // unqualified name the file lacks but a view has reads the view.
  const enter = async (c: DuckDBConnection) => {
    if (attached === undefined) return;
    const name = quoteIdent(attached);
    await c.run(`USE ${name}`);
    await c.run(`SET search_path = ${literal(`${name}.main,memory.files`)}`);
  };
  return {
    driver: 'duckdb',
    maxConcurrency: pool,
    async readOnly<T>(opts: ReadOnlyOptions, fn: (q: Queryable) => Promise<T>): Promise<T> {
      const { api, db } = await open();
      const c = await db.connect();
      try {
        await enter(c);
      } catch (err) {
        c.closeSync();
        throw clean(err);
      }
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        c.interrupt();
      }, opts.timeoutMs);
      const q: Queryable = {
        query: async (sql, params = []) => {
          try {
            return await query(api, c, sql, params);
          } catch (err) {
            throw timedOut ? new DuckdbTimeout(opts.timeoutMs) : clean(err);
          }
        },
      };
      try {
        await c.run('BEGIN TRANSACTION');
        return await fn(q);
      } finally {
        clearTimeout(timer);
        await c.run('ROLLBACK').catch(() => {});
        c.closeSync();
      }
    },
    async ping(): Promise<void> {
      const { db } = await open();
      const c = await db.connect();
      try {
        await c.run('SELECT 1');
      } finally {
        c.closeSync();
      }
    },
    async close(): Promise<void> {
      const o = opened;
      opened = undefined;
      if (o) (await o.catch(() => undefined))?.db.closeSync();
    },
  };
}
