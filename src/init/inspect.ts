import type { Warehouse } from '../warehouse/types.js';
import { type CatalogTable, readCatalog } from './catalog.js';
import { type JobSample, type JobTable, jobTables, sampleJobs } from './jobs.js';

/**
 * Everything `mlwatch init` reads from the warehouse, in one read-only transaction with a statement timeout,
 * as a check reads: the catalog, then the few distinct values the job proposals need. It ends before any
 * question is asked, so no transaction stays open while a person thinks.
 */

export interface Inspected {
  tables: CatalogTable[];
  jobs: { shape: JobTable; sample: JobSample }[];
  /**
   * Whether the role could hold the state store in this database (schema `stateSchema`): CREATE on that schema
   * if it exists, else CREATE on the database, which making the schema needs. Undefined where the question has
   * no meaning (DuckDB: the file is opened read-only, the store is always elsewhere).
   */
  stateWritable: boolean | undefined;
}

export async function inspectWarehouse(
  warehouse: Warehouse,
  url: string,
  opts: { schemas: string[]; exclude: string[]; timeoutMs: number; stateSchema: string },
): Promise<Inspected> {
  return warehouse.readOnly({ timeoutMs: opts.timeoutMs }, async (q) => {
    const tables = await readCatalog(q, url, opts);
    const jobs = [];
    for (const shape of jobTables(tables)) jobs.push({ shape, sample: await sampleJobs(q, url, shape) });
    let stateWritable: boolean | undefined;
    if (!url.startsWith('duckdb:')) {
      // The migration runs CREATE SCHEMA IF NOT EXISTS only when the schema is missing, so an existing schema
      // needs CREATE on itself alone; a missing one needs CREATE on the database.
      const [row] = await q.query(
        `SELECT CASE WHEN n.oid IS NULL THEN has_database_privilege(current_database(), 'CREATE')
                     ELSE has_schema_privilege(n.oid, 'CREATE') END AS ok
         FROM (SELECT 1) AS one LEFT JOIN pg_catalog.pg_namespace AS n ON n.nspname = $1`,
        [opts.stateSchema],
      );
      stateWritable = row?.ok === true;
    }
    return { tables, jobs, stateWritable };
  });
}
