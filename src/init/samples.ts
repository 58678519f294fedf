import { SqlBuilder } from '../sql/builder.js';
import { dialectOf } from '../sql/dialect.js';
import { quoteIdent } from '../sql/identifiers.js';
import type { Queryable } from '../warehouse/types.js';
import type { CatalogTable } from './catalog.js';
import { tableRef } from './columns.js';

/**
 * The one place `mlwatch init` reads table data rather than the catalog: the distinct values of a few columns
 * (the job names of a shared runs table, the statuses that mean success), over the recent rows only, so a
 * runs table of years costs what its last month costs. Read in the caller's read-only transaction.
 */

/** How far back values are read. */
export const SAMPLE_DAYS = 30;
const DAY_MS = 86_400_000;

export interface Distinct {
  /** The values as text, NULL left out, sorted. */
  values: string[];
  /** More than `limit` distinct values: `values` holds the first `limit`. */
  more: boolean;
}

export async function distinctValues(
  q: Queryable,
  url: string,
  t: CatalogTable,
  column: string,
  since: { column: string },
  limit: number,
): Promise<Distinct> {
  const p = new SqlBuilder(dialectOf(url));
  const c = quoteIdent(column);
  const ts = quoteIdent(since.column);
  const st = p.statement(`SELECT DISTINCT ${c}::text AS v FROM ${quoteQualifiedRef(t)}
WHERE ${c} IS NOT NULL AND ${ts} >= ${p.cutoff(SAMPLE_DAYS * DAY_MS)} AND ${ts} < now()
ORDER BY 1 LIMIT ${limit + 1}`);
  const rows = await q.query(st.text, st.params);
  const values = rows.map((r) => String(r.v));
  return { values: values.slice(0, limit), more: values.length > limit };
}

// From the catalog's own names: never through tableRef's text, which is for the config file.
const quoteQualifiedRef = (t: CatalogTable) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;

/** For messages: the table and column a sample came from. */
export const sampled = (t: CatalogTable, column: string) =>
  `${tableRef(t)}.${column} (last ${SAMPLE_DAYS} days)`;
