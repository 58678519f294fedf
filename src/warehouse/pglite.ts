import { PGlite } from '@electric-sql/pglite';
import type { Queryable, ReadOnlyOptions, Row, SqlWriter, Warehouse } from './types.js';

/**
 * PGlite: Postgres compiled to WASM, in-process. One connection, so one check at a time.
 * statement_timeout is set like on a server, but WASM has no timer signal to enforce it: a runaway
 * query in PGlite is not cancelled. PGlite is for the demo and Node-only tests, not production.
 */
export function createPgliteWarehouse(db: PGlite, ownsInstance: boolean): Warehouse {
  return {
    driver: 'pglite',
    maxConcurrency: 1,
    readOnly<T>(opts: ReadOnlyOptions, fn: (q: Queryable) => Promise<T>): Promise<T> {
      return db.transaction(async (tx) => {
        await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        await tx.query("SELECT set_config('statement_timeout', $1, true)", [String(opts.timeoutMs)]);
        // tx.query uses the extended protocol: one statement per call, as with the pg driver.
        return fn({ query: async (sql, params = []) => (await tx.query<Row>(sql, [...params])).rows });
      });
    },
    async ping(): Promise<void> {
      await db.query('SELECT 1');
    },
    async close(): Promise<void> {
      if (ownsInstance) await db.close();
    },
  };
}

export function createPgliteWriter(db: PGlite): SqlWriter {
  return {
    async query(sql, params = []) {
      return (await db.query<Row>(sql, [...params])).rows;
    },
    async exec(sql) {
      await db.exec(sql);
    },
    async close() {},
  };
}

/** `pglite:memory` (or `pglite://memory`) is in memory; `pglite:PATH` keeps the database in a directory. */
export function openPglite(url: string): PGlite {
  const target = url.replace(/^pglite:(\/\/)?/, '');
  return target === '' || target === 'memory' ? new PGlite() : new PGlite(target);
}
