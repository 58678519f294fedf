import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent } from '../../sql/identifiers.js';
import { type FileRange, stamp } from './ranges.js';

/** A path as a SQL string literal. */
export const pathLiteral = (p: string) => `'${p.replace(/'/g, "''")}'`;

/**
 * The files of a table whose rows differ from what the simulator now holds: the staged rows, each assigned to
 * the file whose range it falls in, against the rows each file holds (read back, not remembered, so a file a
 * failed swap left behind is found too), compared as multisets (EXCEPT ALL both ways; NULLs compare equal).
 * Returns the paths, among them any file no range names.
 */
export async function changedFiles(
  duck: DuckDBConnection,
  o: { staged: string; time: string; dir: string; ranges: readonly FileRange[] },
): Promise<Set<string>> {
  const col = quoteIdent(o.time);
  const ranges = o.ranges
    .map(
      (r) =>
        `(${pathLiteral(join(o.dir, r.file))}, ${r.lo ? stamp(r.lo) : 'NULL::TIMESTAMPTZ'}, ${stamp(r.hi)})`,
    )
    .join(', ');
  const reader = await duck.runAndReadAll(
    `WITH r(f, lo, hi) AS (VALUES ${ranges}),
     s AS (SELECT r.f, x.* FROM ${quoteIdent(o.staged)} x
           JOIN r ON (r.lo IS NULL OR x.${col} > r.lo) AND x.${col} <= r.hi),
     p AS (SELECT filename AS f, * EXCLUDE (filename)
           FROM read_parquet(${pathLiteral(join(o.dir, '*.parquet'))}, filename = true)),
     d AS ((SELECT * FROM s EXCEPT ALL SELECT * FROM p) UNION ALL (SELECT * FROM p EXCEPT ALL SELECT * FROM s))
     SELECT DISTINCT f FROM d`,
  );
  return new Set(reader.getRowObjectsJS().map((r) => String(r.f)));
}
