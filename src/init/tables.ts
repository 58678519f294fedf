import type { CatalogTable } from './catalog.js';
import { tableRef } from './columns.js';

/** A table named on the command line (`--model-table`, `--label-table`): `schema.table`, or a bare name. */
export function findTable(
  tables: CatalogTable[],
  flag: string,
  written: string,
): { table?: CatalogTable; problem?: string } {
  const dot = written.lastIndexOf('.');
  const [schema, name] = dot < 0 ? [undefined, written] : [written.slice(0, dot), written.slice(dot + 1)];
  const hits = tables.filter((t) => t.name === name && (schema === undefined || t.schema === schema));
  if (hits.length === 1) return { table: hits[0] };
  if (hits.length > 1) {
    return {
      problem: `${flag} ${written}: a table of that name is in several schemas (${hits.map((t) => t.schema).join(', ')}); write it as schema.table`,
    };
  }
  const schemas = [...new Set(tables.map((t) => t.schema))];
  return {
    problem: `${flag} ${written}: no such table or view among those the role can read${schemas.length ? ` in ${schemas.join(', ')}` : ''}; write it as schema.table${tables.length ? ` (e.g. ${tableRef(tables[0] as CatalogTable)})` : ''}`,
  };
}

/** The same table, compared by schema and name. */
export const sameTable = (a: CatalogTable, b: CatalogTable) => a.schema === b.schema && a.name === b.name;
