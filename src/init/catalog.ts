import { dialectOf } from '../sql/dialect.js';
import type { Queryable } from '../warehouse/types.js';

/**
 * What `mlwatch init` knows of a warehouse: its tables and views with their columns, as information_schema
 * lists them to the role. Read like every check reads: in a read-only transaction (the caller's), one
 * catalog statement, no table data.
 */

export interface CatalogColumn {
  name: string;
  /** information_schema's data_type in PostgreSQL's spelling (`double precision`, `timestamp with time zone`). */
  type: string;
  nullable: boolean;
}

export interface CatalogTable {
  schema: string;
  name: string;
  view: boolean;
  columns: CatalogColumn[];
}

// Never the user's data: the catalogs, PostgreSQL's own schemas, and DuckDB's.
const SYSTEM_SCHEMAS = ['pg_catalog', 'information_schema', 'pg_toast'];

/**
 * The tables of `schemas` (every schema but the system ones and `exclude` when empty), ordered by schema, name
 * and column position. `url` picks the dialect, whose catalog spelling of types differs (DuckDB's DOUBLE).
 */
export async function readCatalog(
  q: Queryable,
  url: string,
  opts: { schemas: string[]; exclude: string[] },
): Promise<CatalogTable[]> {
  const dialect = dialectOf(url);
  const params: string[] = [];
  const list = (names: string[]) =>
    names.map((n) => {
      params.push(n);
      return dialect.bind(params.length, 'text');
    });
  const where =
    opts.schemas.length > 0
      ? `c.table_schema IN (${list(opts.schemas).join(', ')})`
      : `c.table_schema NOT IN (${list([...SYSTEM_SCHEMAS, ...opts.exclude]).join(', ')}) AND c.table_schema NOT LIKE 'pg\\_%'`;
  const rows = await q.query(
    `SELECT c.table_schema::text AS schema_name, c.table_name::text AS table_name, c.column_name::text AS column_name,
       c.data_type::text AS data_type, c.is_nullable::text AS is_nullable, t.table_type::text AS table_type
FROM information_schema.columns c
JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE ${where}
ORDER BY c.table_schema, c.table_name, c.ordinal_position`,
    params,
  );
  const tables = new Map<string, CatalogTable>();
  for (const r of rows) {
    const key = JSON.stringify([r.schema_name, r.table_name]);
    let t = tables.get(key);
    if (t === undefined) {
      t = {
        schema: String(r.schema_name),
        name: String(r.table_name),
        view: String(r.table_type).toUpperCase() === 'VIEW',
        columns: [],
      };
      tables.set(key, t);
    }
    t.columns.push({
      name: String(r.column_name),
      type: dialect.catalogType(String(r.data_type)),
      nullable: String(r.is_nullable).toUpperCase() === 'YES',
    });
  }
  return [...tables.values()];
}
