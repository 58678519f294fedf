import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { withClient } from '../warehouse/pg.js';
import { openPglite } from '../warehouse/pglite.js';
import type { Row } from '../warehouse/types.js';

/** A statement runner inside one read-write transaction of the state store. */
export interface StateTx {
  query(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

/**
 * The state store: where actions (tickets, and later retraining requests and rollbacks) are written. Checks
 * never write; this is a separate connection with its own role, so the warehouse credentials stay read-only.
 */
export interface StateDb {
  readonly driver: 'pg' | 'pglite';
  /** Runs fn in one READ WRITE transaction; rolls back when it throws. */
  transaction<T>(fn: (tx: StateTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface StateSettings {
  url: string;
  password?: string | undefined;
  applicationName: string;
  connectTimeoutMs: number;
}

export function openStateDb(s: StateSettings): StateDb {
  if (s.url.startsWith('pglite:')) return pgliteStateDb(openPglite(s.url), true);
  const pool = new pg.Pool({
    connectionString: s.url,
    ...(s.password !== undefined ? { password: s.password } : {}),
    max: 2,
    application_name: s.applicationName,
    connectionTimeoutMillis: s.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
  });
  // An idle client whose server went away emits 'error'; without a listener that would crash the process.
  pool.on('error', () => {});
  return {
    driver: 'pg',
    transaction: (fn) =>
      withClient(pool, async (client, discard) => {
        await client.query('BEGIN');
        try {
          const result = await fn({
            query: async (sql, params = []) => (await client.query({ text: sql, values: [...params] })).rows,
          });
          await client.query('COMMIT');
          return result;
        } catch (err) {
          // A client whose ROLLBACK fails is in an unknown state: destroy it rather than pool it.
          await client.query('ROLLBACK').catch(discard);
          throw err;
        }
      }),
    close: () => pool.end(),
  };
}

/** The demo keeps its state in the same in-process database as its warehouse. */
export function pgliteStateDb(db: PGlite, ownsInstance: boolean): StateDb {
  return {
    driver: 'pglite',
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({ query: async (sql, params = []) => (await tx.query<Row>(sql, [...params])).rows }),
      ),
    async close() {
      if (ownsInstance) await db.close();
    },
  };
}
