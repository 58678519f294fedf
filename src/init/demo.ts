import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { createDemoSchema } from '../demo/schema.js';
import { seedHistory } from '../demo/seed.js';
import { createPgWriter } from '../warehouse/pg.js';
import { createPgliteWriter } from '../warehouse/pglite.js';
import type { SqlWriter } from '../warehouse/types.js';

/**
 * `mlwatch init --demo`: the demo's own warehouse, its tables made the demo's way (src/demo/schema.ts and
 * seed.ts, 35 days of the credit-scoring story). On a PostgreSQL that is the schema `mlwatch demo
 * --warehouse-url` fills, used as it is when it has tables (a running demo keeps feeding it) and seeded when
 * it has none. Without a server it is an embedded PGlite in a directory, which another process (`mlwatch once`,
 * `serve`) can open after this one: the demo's own in-memory PGlite lives only as long as the demo.
 */

export interface DemoWarehouse {
  /** Whether this run created and seeded the tables (else they were there). */
  seeded: boolean;
}

async function hasTables(w: SqlWriter, schema: string): Promise<boolean> {
  const rows = await w.query(
    'SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1',
    [schema],
  );
  return Number(rows[0]?.n) > 0;
}

/** Seeds `schema` of the PostgreSQL at `url`, or of a PGlite directory at `dir`, unless it has tables already. */
export async function demoWarehouse(
  target: { url: string } | { dir: string },
  schema: string,
): Promise<DemoWarehouse> {
  let db: PGlite | undefined;
  let writer: SqlWriter;
  if ('dir' in target) {
    mkdirSync(target.dir, { recursive: true });
    db = new PGlite(target.dir);
    await db.waitReady;
    writer = createPgliteWriter(db);
  } else {
    writer = createPgWriter(target.url, 1);
  }
  try {
    if (await hasTables(writer, schema)) return { seeded: false };
    await createDemoSchema(writer, schema);
    await seedHistory(writer, schema);
    return { seeded: true };
  } finally {
    await writer.close();
    await db?.close();
  }
}
