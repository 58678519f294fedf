import { SqlBuilder } from '../../sql/builder.js';
import type { Queryable } from '../../warehouse/types.js';
import type { DatasetContext } from './context.js';

/** A column of a dataset's table as information_schema reports it. */
export interface TableColumn {
  name: string;
  /** information_schema's data_type: `bigint`, `ARRAY`, `USER-DEFINED`... */
  dataType: string;
  /** The underlying type's name: the enum's name, `_int4` for an int[]. */
  udtName: string;
}

/**
 * The columns of the dataset's table, in order. The one catalog read of the dataset kinds (null ratios of
 * `all` columns, drift's feature kinds, the schema hash); an empty list when the table does not exist or the
 * role may not see it: information_schema lists only what the role has some privilege on.
 */
export async function readColumns(q: Queryable, ds: DatasetContext): Promise<TableColumn[]> {
  const p = new SqlBuilder(ds.dialect);
  // An untyped schema parameter: compared with table_schema, it takes its type; NULL is the search path's.
  const text = `SELECT column_name::text AS name, data_type::text AS data_type, udt_name::text AS udt_name
FROM information_schema.columns
WHERE table_schema = coalesce(${p.add(ds.schemaName ?? null)}, current_schema()) AND table_name = ${p.add(ds.tableName)}
ORDER BY ordinal_position`;
  const rows = await q.query(text, p.params);
  return rows.map((r) => ({
    name: String(r.name),
    dataType: ds.dialect.catalogType(String(r.data_type)),
    udtName: String(r.udt_name),
  }));
}

/** readColumns, or an error naming the table when there are none. */
export async function requireColumns(q: Queryable, ds: DatasetContext): Promise<TableColumn[]> {
  const columns = await readColumns(q, ds);
  if (columns.length === 0) throw new Error(`table ${ds.table} not found (or no SELECT permission on it)`);
  return columns;
}
