import { type Bound, SqlBuilder, type Statement } from '../../sql/builder.js';
import { type Dialect, postgres } from '../../sql/dialect.js';
import { partsSql } from '../buckets/cuts-sql.js';
import type { Part } from '../buckets/plan.js';
import { type ModelContext, valueColumn } from './context.js';

/**
 * The two statements of a model's prediction-drift check. Identifiers are quoted (from ModelContext or the
 * reference's source); windows, timestamps, percentile levels and bin edges are bound parameters, so the text
 * depends only on the model's config, never on data.
 *
 * Values: the score (classification) or predicted value (regression) as float8, with NaN read as NULL, as the
 * performance check does; NULL values are in no sample. A value x goes to bin #{e_i < x}, computed as
 * width_bucket(x, edges) - (x is an edge): width_bucket counts the (sorted, distinct) edges <= x.
 *
 * Written apart from src/checks/dataset/drift-sql.ts (one column, no unpivot, nested windows in one pass);
 * test/helpers/drift-math.ts is the tests' oracle and is not used here.
 */

/** Percentile edges of the reference: 10 bins, edges at the 10th..90th percentiles. */
export const PREDICTION_BINS = 10;

/** Where the reference rows come from: a table (quoted) and optionally a range on its timestamp column. */
export interface ReferenceSource {
  tableSql: string;
  /** Quoted value column of that table (the model's score or prediction column name). */
  valueSql: string;
  timestampSql?: string | undefined;
  from?: Bound | undefined;
  to?: Bound | undefined;
}

/** `t.ts >= from AND t.ts < to`, or TRUE for a whole table. */
function range(src: ReferenceSource, p: SqlBuilder): string {
  if (src.from === undefined && src.to === undefined) return 'TRUE';
  if (src.timestampSql === undefined) throw new Error('a reference with a range needs a timestamp column');
  const conds: string[] = [];
  if (src.from !== undefined) conds.push(`t.${src.timestampSql} >= ${p.at(src.from)}`);
  if (src.to !== undefined) conds.push(`t.${src.timestampSql} < ${p.at(src.to)}`);
  return conds.join(' AND ');
}

/**
 * The reference's bins and counts in one statement: the edges (percentile_cont at 0.1..0.9 of the non-NULL
 * values, sorted, equal ones collapsed) and the count per bin. Always one row at least: `edges` (an empty array for an
 * empty reference) on every row, and (b, n) per non-empty bin, NULL when the reference holds no value.
 * It reads the reference twice (the percentiles, then the bins): run on the reference's own schedule only.
 * The bins join the one-row `edges` rather than read it through LATERAL: DuckDB cannot bind a lambda (its
 * width_bucket) that reads columns of a lateral subquery.
 */
export function referenceStatement(src: ReferenceSource, dialect: Dialect = postgres): Statement {
  const p = new SqlBuilder(dialect);
  const levels = p.add(
    Array.from({ length: PREDICTION_BINS - 1 }, (_, i) => (i + 1) / PREDICTION_BINS),
    'float8[]',
  );
  // The range's parameters are bound once and used by both reads of the reference.
  const where = range(src, p);
  const value = `nullif(t.${src.valueSql}::float8, 'NaN'::float8)`;
  const text = `WITH pct AS (
  SELECT percentile_cont(${levels}) WITHIN GROUP (ORDER BY ${value}) AS q
  FROM ${src.tableSql} AS t
  WHERE ${where}
),
edges AS (
  SELECT coalesce((SELECT array_agg(DISTINCT x ORDER BY x) FROM unnest(pct.q) AS u(x)), ARRAY[]::float8[]) AS e
  FROM pct
)
SELECT edges.e AS edges, c.b, c.n
FROM edges LEFT JOIN (
  SELECT ${binOf('r.s', 'x.e', p.dialect)} AS b, count(*) AS n
  FROM (SELECT ${value} AS s FROM ${src.tableSql} AS t WHERE ${where}) AS r CROSS JOIN edges AS x
  WHERE r.s IS NOT NULL
  GROUP BY 1
) AS c ON TRUE
ORDER BY c.b`;
  return p.statement(text);
}

/**
 * Bin counts of every window of the model in one scan of the widest: rows (b, n0..nK) where n<i> counts the
 * non-NULL values predicted in window i ([now() - w_i, now()), widest first) that fall in bin b. Parameters:
 * the window lengths, then the reference edges.
 */
export function currentStatement(m: ModelContext, edges: readonly number[]): Statement {
  const p = new SqlBuilder(m.dialect);
  const cutoffs = m.windows.map((w) => p.cutoff(w.ms));
  const e = p.add([...edges], 'float8[]');
  const ts = `t.${m.predictions.timestampSql}`;
  const counts = cutoffs.map((c, i) => `count(*) FILTER (WHERE x.pt >= ${c}) AS n${i}`);
  const text = `SELECT ${binOf('x.s', e, p.dialect)} AS b,
  ${counts.join(',\n  ')}
FROM (
  SELECT ${ts} AS pt, ${predictedValue(m)} AS s
  FROM ${m.predictions.tableSql} AS t
  WHERE ${ts} >= ${p.ago((m.windows[0] as { ms: number }).ms)} AND ${ts} < ${p.dialect.now}
) AS x
WHERE x.s IS NOT NULL
GROUP BY 1`;
  return p.statement(text);
}

/**
 * Bin counts of the given parts of the windows (../buckets/plan.ts) in one statement, for the counts kept per time
 * bucket (prediction-drift-incremental.ts): rows (part, b, n), part the index in `parts`. Grouped by the row's
 * slot among the parts, mapped to the part once per group. Parameters: the parts' bounds, then the edges.
 */
export function partsStatement(
  m: ModelContext,
  edges: readonly number[],
  parts: readonly Part[],
  bucketMs: number,
): Statement {
  const p = new SqlBuilder(m.dialect);
  const placed = partsSql(p, `t.${m.predictions.timestampSql}`, parts, bucketMs);
  const e = p.add([...edges], 'float8[]');
  const text = `SELECT ${placed.part('x.slot')} AS part, ${binOf('x.s', e, p.dialect)} AS b, count(*) AS n
FROM (
  SELECT ${placed.slot} AS slot, ${predictedValue(m)} AS s
  FROM ${m.predictions.tableSql} AS t
  WHERE ${placed.where}
) AS x
WHERE x.s IS NOT NULL
GROUP BY x.slot, 2`;
  return p.statement(text);
}

/** The value a row contributes (NaN read as NULL, in no sample). */
function predictedValue(m: ModelContext): string {
  return `nullif(t.${valueColumn(m)}::float8, 'NaN'::float8)`;
}

/** The bin of `x` among the sorted, distinct `edges`: #{e_i < x}. */
function binOf(x: string, edges: string, dialect: Dialect): string {
  return `${dialect.widthBucket(x, edges)} - (${x} = ANY (${edges}))::int`;
}
