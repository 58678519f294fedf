import { createDuckdbWarehouse, type FileSource, isDuckdbUrl } from './duckdb.js';
import { createPgWarehouse } from './pg.js';
import { createPgliteWarehouse, openPglite } from './pglite.js';
import type { Warehouse } from './types.js';

export interface WarehouseSettings {
  url: string;
  password?: string | undefined;
  pool: number;
  applicationName: string;
  connectTimeoutMs: number;
  /** DuckDB's file sources (duckdb:memory). */
  files?: FileSource[];
}

export function isPgliteUrl(url: string): boolean {
  return url.startsWith('pglite:');
}

/** Picks the driver from the URL scheme: postgres:// and postgresql:// use pg, pglite: the embedded engine. */
export function openWarehouse(s: WarehouseSettings): Warehouse {
  if (isPgliteUrl(s.url)) return createPgliteWarehouse(openPglite(s.url), true);
  if (isDuckdbUrl(s.url)) return createDuckdbWarehouse(s.url, s.pool, s.files);
  return createPgWarehouse(s);
}
