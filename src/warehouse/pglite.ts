import { PGlite } from '@electric-sql/pglite';
import type { Queryable, ReadOnlyOptions, Row, SqlWriter, Warehouse } from './types.js';

/**
 * Session-level advisory locks survive a rollback. The pg driver resets the session with DISCARD ALL; here the
 * one PGlite session is shared with the demo's seeder and state store, and DISCARD ALL would reset their
 * session settings too. pg_advisory_unlock_all releases only session-level locks, which nothing else in mlwatch
 * takes (the state store's are transaction-scoped), and db.query waits for PGlite's transaction mutex, so it
 * never lands inside another transaction.
 */
const UNLOCK = 'SELECT pg_advisory_unlock_all()';

/**
 * PGlite: Postgres compiled to WASM, in-process. One connection, so one check at a time.
 * statement_timeout is set like on a server, but WASM has no timer signal to enforce it: a runaway
 * query in PGlite is not cancelled. PGlite is for the demo and Node-only tests, not production.
 */
export function createPgliteWarehouse(db: PGlite, ownsInstance: boolean): Warehouse {
  return {
    driver: 'pglite',
    maxConcurrency: 1,
    async readOnly<T>(opts: ReadOnlyOptions, fn: (q: Queryable) => Promise<T>): Promise<T> {
      let result: T;
      try {
        result = await db.transaction(async (tx) => {
          try {
            await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
            await tx.query("SELECT set_config('statement_timeout', $1, true)", [String(opts.timeoutMs)]);
            // tx.query uses the extended protocol: one statement per call, as with the pg driver.
            return await fn({
              query: async (sql, params = []) => (await tx.query<Row>(sql, [...params])).rows,
            });
          } finally {
            // db.transaction commits when fn resolves; a read-only check has nothing to commit, and rolling back
            // undoes what READ ONLY lets through (large objects, pg_notify, set_config(..., false)). PGlite skips
            // its own COMMIT or ROLLBACK once the transaction is closed, so an error of fn still propagates.
            await tx.rollback();
          }
        });
      } catch (err) {
        // The check's own error is the one worth reporting, even if the unlock below fails too.
        await db.query(UNLOCK).catch(() => {});
        throw err;
      }
      await db.query(UNLOCK);
      return result;
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
