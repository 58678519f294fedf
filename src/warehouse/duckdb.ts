import type { DuckDBConnection, DuckDBInstance, DuckDBValue } from '@duckdb/node-api';
import type { Queryable, ReadOnlyOptions, Row, Warehouse } from './types.js';

/**
 * DuckDB as a warehouse: `duckdb:/path/to/file.duckdb`, opened READ ONLY, so no statement of a check can write
 * to it (DuckDB refuses every write on a read-only database, temporary tables included), with external access
 * off (no file, URL or extension a statement could read, write or load outside the database) and the
 * configuration locked, so no statement can turn either back on.
 *
 * The driver (@duckdb/node-api, an optional dependency of 70 MB with DuckDB's binary) is imported on first
 * use: a PostgreSQL user never loads it. Each check runs in a transaction of its own on a connection of its
 * own, rolled back at the end; now() is the transaction's start, as on PostgreSQL, so every window of a run
 * ends at the same instant. A check that overruns its timeout is interrupted (DuckDB has no
 * statement_timeout): its statement fails with an error naming the timeout.
 */

/** The path of a `duckdb:` URL; refused when it names no file. */
export function duckdbPath(url: string): string {
  const path = url.slice('duckdb:'.length);
  if (path === '' || path === 'memory' || path === ':memory:') {
    throw new Error('a DuckDB warehouse is a database file: duckdb:/path/to/file.duckdb');
  }
  return path;
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

async function load(): Promise<typeof import('@duckdb/node-api')> {
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
  const reader = await c.runAndReadAll(
    sql,
    params.map((v) => toDuckdb(api, v)),
  );
  return reader.getRowObjectsJS().map((r) => {
    const row: Row = {};
    for (const [k, v] of Object.entries(r)) row[k] = fromDuckdb(v);
    return row;
  });
}

export function createDuckdbWarehouse(url: string, pool = 2): Warehouse {
  const path = duckdbPath(url);
  let opened: Promise<{ api: typeof import('@duckdb/node-api'); db: DuckDBInstance }> | undefined;
  const open = () => {
    opened ??= (async () => {
      const api = await load();
      const db = await api.DuckDBInstance.create(path, {
        access_mode: 'READ_ONLY',
        enable_external_access: 'false',
        autoload_known_extensions: 'false',
        autoinstall_known_extensions: 'false',
        lock_configuration: 'true',
      });
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
