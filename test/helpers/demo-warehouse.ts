import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createDemoSchema } from '../../src/demo/schema.js';
import { seedHistory } from '../../src/demo/seed.js';
import { createPgliteWriter } from '../../src/warehouse/pglite.js';
import type { Row, SqlWriter } from '../../src/warehouse/types.js';
import { onRealPostgres, openTestDb } from './db.js';

/**
 * The demo warehouse where a child process (the built CLI) can reach it: on the PostgreSQL the environment
 * selects, a schema of this test file's own; on PGlite, a database directory, since an in-memory instance
 * lives only in the process that made it. A PGlite directory is opened by one process at a time, so `query`
 * opens and closes it around each statement: call it only while no CLI runs.
 */
export interface DemoWarehouse {
  /** The URL the CLI is given (no password). */
  url: string;
  /** The demo's schema. */
  schema: string;
  /** Runs `sql` on the warehouse from the test, read-write. */
  query(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs a script (several statements) before the CLI reads the warehouse. */
  exec(sql: string): Promise<void>;
  /** A schema name of this warehouse's own, for a second set of tables (dropped by close on PostgreSQL). */
  otherSchema(suffix: string): string;
  close(): Promise<void>;
}

export async function openDemoWarehouse(): Promise<DemoWarehouse> {
  if (onRealPostgres) {
    const db = await openTestDb({ pool: 1 });
    await createDemoSchema(db.writer, db.schema);
    await seedHistory(db.writer, db.schema);
    const others: string[] = [];
    return {
      url: db.url as string,
      schema: db.schema,
      query: (sql, params) => db.writer.query(sql, params),
      exec: (sql) => db.writer.exec(sql),
      otherSchema(suffix) {
        const s = `${db.schema}_${suffix}`;
        others.push(s);
        return s;
      },
      async close() {
        for (const s of others) await db.writer.exec(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
        await db.close();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'mlwatch-demo-warehouse-'));
  const withWriter = async <T>(fn: (w: SqlWriter) => Promise<T>): Promise<T> => {
    const db = new PGlite(dir);
    try {
      return await fn(createPgliteWriter(db));
    } finally {
      await db.close();
    }
  };
  await withWriter(async (w) => {
    await createDemoSchema(w, 'mlwatch_demo');
    await seedHistory(w, 'mlwatch_demo');
  });
  return {
    url: `pglite:${dir}`,
    schema: 'mlwatch_demo',
    query: (sql, params) => withWriter((w) => w.query(sql, params)),
    exec: (sql) => withWriter((w) => w.exec(sql)),
    otherSchema: (suffix) => suffix,
    async close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
