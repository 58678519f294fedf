import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { createPgWarehouse, createPgWriter } from '../../src/warehouse/pg.js';
import { createPgliteWarehouse, createPgliteWriter } from '../../src/warehouse/pglite.js';
import type { SqlWriter, Warehouse } from '../../src/warehouse/types.js';

/** Set by .ci/run to the real PostgreSQL; unset means the embedded PGlite engine. */
export const TEST_DATABASE_URL = process.env.MLWATCH_TEST_DATABASE_URL;
export const onRealPostgres = TEST_DATABASE_URL !== undefined && TEST_DATABASE_URL !== '';

export interface TestDb {
  kind: 'pg' | 'pglite';
  /** A fresh schema of this test file's own, dropped by close(). */
  schema: string;
  /** Read-write handle for seeding. */
  writer: SqlWriter;
  /** The read-only warehouse checks run against. */
  warehouse: Warehouse;
  /** Another warehouse handle on the same database, for an Exporter that closes it on stop. */
  newWarehouse(pool?: number): Warehouse;
  /** A config `warehouse:` URL that reaches this database (pglite:memory stands for the shared instance). */
  configUrl: string;
  /** For pg: the URL; for PGlite: the in-process instance. */
  url?: string;
  pglite?: PGlite;
  close(): Promise<void>;
}

export async function openTestDb(opts: { pool?: number } = {}): Promise<TestDb> {
  const schema = `t_${randomBytes(5).toString('hex')}`;
  if (onRealPostgres) {
    const url = TEST_DATABASE_URL as string;
    const writer = createPgWriter(url);
    await writer.exec(`CREATE SCHEMA ${schema}`);
    const newWarehouse = (pool = opts.pool ?? 4) =>
      createPgWarehouse({ url, pool, applicationName: 'mlwatch', connectTimeoutMs: 5000 });
    const warehouse = newWarehouse();
    return {
      kind: 'pg',
      schema,
      writer,
      warehouse,
      newWarehouse,
      configUrl: url,
      url,
      async close() {
        await warehouse.close();
        await writer.exec(`DROP SCHEMA ${schema} CASCADE`);
        await writer.close();
      },
    };
  }
  const db = new PGlite();
  const writer = createPgliteWriter(db);
  await writer.exec(`CREATE SCHEMA ${schema}`);
  return {
    kind: 'pglite',
    schema,
    writer,
    warehouse: createPgliteWarehouse(db, false),
    newWarehouse: () => createPgliteWarehouse(db, false),
    configUrl: 'pglite:memory',
    pglite: db,
    async close() {
      await db.close();
    },
  };
}
