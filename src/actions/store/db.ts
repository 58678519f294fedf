import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { withClient } from '../../warehouse/pg.js';
import { openPglite } from '../../warehouse/pglite.js';
import type { Row } from '../../warehouse/types.js';
import { Slots } from './busy.js';

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
  /** Server-side limit on each statement (default 5 s): SQLSTATE 57014 past it. */
  statementTimeoutMs?: number | undefined;
  /** Server-side limit on each wait for a lock (default 2 s): SQLSTATE 55P03 past it. */
  lockTimeoutMs?: number | undefined;
  /** How long a transaction waits for one of the pool's connections (default 3 s): StateBusyError past it. */
  poolWaitMs?: number | undefined;
}

// The ticket log's statements take milliseconds. A store that keeps one waiting for seconds (a lock held by a
// migration or a manual ALTER, a saturated server) is busy: better a quick 503 that Alertmanager retries than
// requests piling up on the pool until every endpoint answers 500 after the connect timeout.
export const STATE_TIMEOUTS = { statementMs: 5_000, lockMs: 2_000, poolWaitMs: 3_000 } as const;
const POOL_SIZE = 2;

export function openStateDb(s: StateSettings): StateDb {
  if (s.url.startsWith('pglite:')) return pgliteStateDb(openPglite(s.url), true);
  const pool = new pg.Pool({
    connectionString: s.url,
    ...(s.password !== undefined ? { password: s.password } : {}),
    max: POOL_SIZE,
    application_name: s.applicationName,
    // Sent as startup parameters, so they hold for every statement on the connection, with no SQL built.
    statement_timeout: s.statementTimeoutMs ?? STATE_TIMEOUTS.statementMs,
    lock_timeout: s.lockTimeoutMs ?? STATE_TIMEOUTS.lockMs,
    // Only the connect: the slots below keep callers from queueing inside the pool.
    connectionTimeoutMillis: s.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
  });
  // An idle client whose server went away emits 'error'; without a listener that would crash the process.
  pool.on('error', () => {});
  const slots = new Slots(POOL_SIZE, s.poolWaitMs ?? STATE_TIMEOUTS.poolWaitMs);
  return {
    driver: 'pg',
    transaction: async (fn) => {
      await slots.acquire();
      try {
        return await inTransaction(pool, fn);
      } finally {
        slots.release();
      }
    },
    close: () => pool.end(),
  };
}

function inTransaction<T>(pool: pg.Pool, fn: (tx: StateTx) => Promise<T>): Promise<T> {
  return withClient(pool, async (client, discard) => {
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
  });
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
