import type { DuckDBConnection, DuckDBInstance, DuckDBValue } from '@duckdb/node-api';
import { quoteIdent } from '../sql/identifiers.js';
import type { Queryable, ReadOnlyOptions, Row, Warehouse } from './types.js';

/**
 * DuckDB as a warehouse, in one of two forms:
 * - `duckdb:/path/to/file.duckdb`, a database file opened READ ONLY, with external access off (no file, URL or
 *   extension a statement could read, write or load outside the database);
 * - `duckdb:memory` with `warehouse.files`: Parquet, CSV or JSON files (globs, Hive partitions) read through
 *   views `files.<name>` made at open, with external access off but for the files' directories
 *   (allowed_directories).
 * Either way the configuration is then locked, so no statement can turn any of it back on, and every statement
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
  /** Absolute. */
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

/** The directory a file or glob lives under: its path up to the last separator before the first wildcard. */
export function baseDirectory(path: string): string {
  const wild = path.search(/[*?[{]/);
  const head = wild < 0 ? path : path.slice(0, wild);
  return head.slice(0, head.lastIndexOf('/') + 1) || '/';
}

/** The statements that make the views of the file sources, then close everything else and lock it. */
export function fileSetup(files: readonly FileSource[]): string[] {
  const reader = { parquet: 'read_parquet', csv: 'read_csv', json: 'read_json' } as const;
  const views = files.map((f) => {
    const casts = Object.entries(f.types).map(
      ([c, t]) => `CAST(${quoteIdent(c)} AS ${t}) AS ${quoteIdent(c)}`,
    );
    const star = casts.length === 0 ? '*' : `* REPLACE (${casts.join(', ')})`;
    const options = f.hivePartitioning ? ', hive_partitioning = true' : '';
    return `CREATE VIEW files.${quoteIdent(f.name)} AS SELECT ${star} FROM ${reader[f.format]}(${literal(f.path)}${options})`;
  });
  const dirs = [...new Set(files.map((f) => baseDirectory(f.path)))];
  return [
    'CREATE SCHEMA files',
    ...views,
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
  let opened: Promise<{ api: typeof import('@duckdb/node-api'); db: DuckDBInstance }> | undefined;
  const open = () => {
    opened ??= (async () => {
      const api = await loadDuckdbDriver();
      const noExtensions = { autoload_known_extensions: 'false', autoinstall_known_extensions: 'false' };
      if (path !== undefined) {
        const db = await api.DuckDBInstance.create(path, {
          ...noExtensions,
          access_mode: 'READ_ONLY',
          enable_external_access: 'false',
          lock_configuration: 'true',
        });
        return { api, db };
      }
      const db = await api.DuckDBInstance.create(':memory:', noExtensions);
      const c = await db.connect();
      try {
        for (const statement of fileSetup(files)) await c.run(statement);
      } catch (err) {
        db.closeSync();
        throw err;
      } finally {
        c.closeSync();
      }
      return { api, db };
    })();
    // A failed open is tried again on the next check (the file may appear).
    opened.catch(() => {
      opened = undefined;
    });
    return opened;
  };
  return {
    driver: 'duckdb',
    maxConcurrency: pool,
    async readOnly<T>(opts: ReadOnlyOptions, fn: (q: Queryable) => Promise<T>): Promise<T> {
      const { api, db } = await open();
      const c = await db.connect();
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
            throw timedOut ? new DuckdbTimeout(opts.timeoutMs) : err;
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
