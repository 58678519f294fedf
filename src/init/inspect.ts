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
}

export async function inspectWarehouse(
  warehouse: Warehouse,
  url: string,
  opts: { schemas: string[]; exclude: string[]; timeoutMs: number },
): Promise<Inspected> {
  return warehouse.readOnly({ timeoutMs: opts.timeoutMs }, async (q) => {
    const tables = await readCatalog(q, url, opts);
    const jobs = [];
    for (const shape of jobTables(tables)) jobs.push({ shape, sample: await sampleJobs(q, url, shape) });
    return { tables, jobs };
  });
}
