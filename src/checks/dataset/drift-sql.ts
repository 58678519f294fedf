import { type Bound, SqlBuilder, type Statement } from '../../sql/builder.js';
import { type Dialect, postgres } from '../../sql/dialect.js';
import { quoteIdent } from '../../sql/identifiers.js';
import { windowCount } from '../../sql/window-count.js';
import { strictThresholds } from './drift-bins.js';

/**
 * The statements of the drift check. Identifiers go into the text quoted (quoteIdent / quoteQualified);
 * every value (windows, timestamps, percentiles, bin edges, categories) is a bound parameter. The text of a
 * statement depends only on the dataset, the feature names and kinds (and, for KS, which spelling each feature
 * takes), never on a value.
 *
 * Every statement reads its sample through the alias `t`, once for all features; `f` in the rows returned is the
 * feature's position in the list handed to the builder. The categories statement, and the KS statement for the
 * features it spells by row, unpivot the features with `CROSS JOIN LATERAL (VALUES (0, <feature 0>), ...)`; the
 * bin counts, which run on every check, do not.
 *
 * Independent of test/helpers/drift-math.ts on purpose (that module is the tests' oracle).
 */

export type FeatureKind = 'numeric' | 'categorical';

/** Where a sample's rows come from: a table, and optionally a range [from, to) on its timestamp column. */
export interface Source {
  tableSql: string;
  /** Quoted timestamp column; required when from or to is set. */
  timestampSql?: string | undefined;
  from?: Bound | undefined;
  to?: Bound | undefined;
}

/** information_schema data_type values treated as numeric; every other type is categorical. */
export const NUMERIC_TYPES: ReadonlySet<string> = new Set([
  'smallint',
  'integer',
  'bigint',
  'numeric',
  'real',
  'double precision',
]);

function col(name: string): string {
  return `t.${quoteIdent(name)}`;
}

/** `FROM <table> AS t WHERE <range>`; TRUE when the source is a whole table. */
function fromWhere(src: Source, p: SqlBuilder): { from: string; where: string } {
  const conds: string[] = [];
  if (src.from !== undefined || src.to !== undefined) {
    if (src.timestampSql === undefined) throw new Error('a source with a range needs a timestamp column');
    const ts = `t.${src.timestampSql}`;
    if (src.from !== undefined) conds.push(`${ts} >= ${p.at(src.from)}`);
    if (src.to !== undefined) conds.push(`${ts} < ${p.at(src.to)}`);
  }
  return { from: `${src.tableSql} AS t`, where: conds.length > 0 ? conds.join(' AND ') : 'TRUE' };
}

function unpivot(rows: string[]): string {
  return `CROSS JOIN LATERAL (VALUES\n    ${rows.join(',\n    ')}\n  )`;
}

/**
 * Bin edges of numeric features: percentile_cont(i/k) for i = 1..k-1 of the non-NULL values, one sort per
 * feature, one scan for all. Column e<i> is a float8[] (NULL for an empty sample).
 */
export function edgesStatement(
  src: Source,
  features: string[],
  bins: number,
  dialect: Dialect = postgres,
): Statement {
  const p = new SqlBuilder(dialect);
  const { from, where } = fromWhere(src, p);
  const levels = p.add(
    Array.from({ length: bins - 1 }, (_, i) => (i + 1) / bins),
    'float8[]',
  );
  const selects = features.map(
    (f, i) => `percentile_cont(${levels}) WITHIN GROUP (ORDER BY ${col(f)}::float8) AS e${i}`,
  );
  return p.statement(`SELECT ${selects.join(',\n  ')}\nFROM ${from}\nWHERE ${where}`);
}

/**
 * The `max` most frequent non-NULL values (as text) of each categorical feature, ties broken by the value in
 * byte order (COLLATE "C", the same on every server). Rows (f, x) ordered by feature, then rank.
 */
export function categoriesStatement(
  src: Source,
  features: string[],
  max: number,
  dialect: Dialect = postgres,
): Statement {
  const p = new SqlBuilder(dialect);
  const { from, where } = fromWhere(src, p);
  const rows = features.map((f, i) => `(${i}, ${col(f)}::text)`);
  const text = `SELECT r.f, r.x FROM (
  SELECT v.f, v.x, row_number() OVER (PARTITION BY v.f ORDER BY count(*) DESC, v.x COLLATE "C") AS rn
  FROM ${from}
  ${unpivot(rows)} AS v(f, x)
  WHERE ${where} AND v.x IS NOT NULL
  GROUP BY v.f, v.x
) r
WHERE r.rn <= ${p.add(max, 'int')}
ORDER BY r.f, r.rn`;
  return p.statement(text);
}

/** A feature as the bin-count statement needs it: numeric with its edges, or categorical with its categories. */
export type BinnedFeature =
  | { name: string; kind: 'numeric'; edges: number[] }
  | { name: string; kind: 'categorical'; categories: string[] };

/** Bin codes per key: a slot's numeric bins are packed as b1 * 128 + b2 (bins < 101), NULL as NULL_CODE. */
const SLOT = 16384;
const CODE = 128;
const NULL_CODE = 127;

/**
 * Counts per bin of every feature in ONE scan of the source. Rows (f, b, n): feature position, bin, count;
 * bins with no values are absent; NULL values are in no bin.
 *
 * Per row, every feature's bin is computed once, and the row is spread over a few "slots" by two zipped
 * `unnest(ARRAY[...])` in the select list (a ProjectSet, no per-row function scan): a slot holds either two
 * numeric features, packed as the integer key slot * 16384 + b1 * 128 + b2, or one categorical feature, as
 * (slot * 16384, its value as text). One parallel hash aggregation then counts (key, value) groups, which are
 * few: at most 128 * 128 per numeric slot, and the distinct values for a categorical one. A last step, on
 * those groups only, unpacks the keys into (feature, bin) and maps categorical values to their bins.
 *
 * Why this shape (figures in bench/README.md): unpivoting with `CROSS JOIN LATERAL (VALUES ...)` makes a
 * tuple per (row, feature) and re-initialises the VALUES expressions on every row; GROUPING SETS cannot
 * aggregate in parallel and sorts; a per-row array_position over 50 categories costs more than the rest of
 * the scan. Packing two numeric features per slot halves the tuples, and the key stays one integer, which
 * keeps the planner's group estimate small enough for partial (per-worker) aggregation.
 *
 * Numeric: b = width_bucket(x, nextUp(edges)) = #{e_i < x} (drift-bins.ts; a binary search in C). Empty edges:
 * b = 0. Categorical: b = position of the value in the categories (1-based), 0 for any other value (`other`).
 */
export function binCountsStatement(
  src: Source,
  features: BinnedFeature[],
  dialect: Dialect = postgres,
): Statement {
  if (dialect.columnar) return binCountsPerFeature(src, features, dialect);
  const p = new SqlBuilder(dialect);
  const { from, where } = fromWhere(src, p);
  const numeric: { i: number; code: string }[] = [];
  const categorical: { i: number; categories: string[] }[] = [];
  features.forEach((f, i) => {
    if (f.kind === 'categorical') categorical.push({ i, categories: f.categories });
    else {
      const t = p.add(strictThresholds(f.edges), 'float8[]');
      numeric.push({
        i,
        code: `coalesce(${p.dialect.widthBucket(`${col(f.name)}::float8`, t)}, ${NULL_CODE})`,
      });
    }
  });
  const pairs = Array.from({ length: Math.ceil(numeric.length / 2) }, (_, s) =>
    numeric.slice(2 * s, 2 * s + 2),
  );
  const keys = pairs.map(
    ([a, b], s) => `${s * SLOT} + ${a?.code} * ${CODE} + ${b === undefined ? NULL_CODE : b.code}`,
  );
  const values = pairs.map(() => 'NULL');
  categorical.forEach((c, j) => {
    keys.push(String((pairs.length + j) * SLOT));
    values.push(`${col((features[c.i] as BinnedFeature).name)}::text`);
  });
  const parts: string[] = [];
  if (pairs.length > 0) {
    // Each numeric slot's key, unpacked into its two (feature, bin); the code of a NULL (or a missing 2nd) is dropped.
    const unpack = pairs.flatMap(([a, b], s) => [
      `(${s}, ${a?.i}, ${p.dialect.intDiv(`a.k % ${SLOT}`, String(CODE))})`,
      ...(b === undefined ? [] : [`(${s}, ${b.i}, a.k % ${CODE})`]),
    ]);
    parts.push(`SELECT d.f, d.b, a.n
  FROM a CROSS JOIN LATERAL (VALUES ${unpack.join(', ')}) AS d(s, f, b)
  WHERE d.s = ${p.dialect.intDiv('a.k', String(SLOT))} AND a.k < ${pairs.length * SLOT} AND d.b <> ${NULL_CODE}`);
  }
  if (categorical.length > 0) {
    const cases = categorical.map(
      (c, j) => `WHEN ${pairs.length + j} THEN array_position(${p.add(c.categories, 'text[]')}, a.v)`,
    );
    const positions = categorical.map((c, j) => `WHEN ${pairs.length + j} THEN ${c.i}`);
    const slot = p.dialect.intDiv('a.k', String(SLOT));
    parts.push(`SELECT CASE ${slot} ${positions.join(' ')} END, coalesce(CASE ${slot} ${cases.join(' ')} END, 0), a.n
  FROM a WHERE a.v IS NOT NULL`);
  }
  const text = `WITH a AS (
  SELECT r.k, r.v, count(*) AS n
  FROM (SELECT unnest(ARRAY[${keys.join(',\n      ')}]::int[]) AS k,
      unnest(ARRAY[${values.join(', ')}]::text[]) AS v
    FROM ${from}
    WHERE ${where}) AS r
  GROUP BY r.k, r.v
)
SELECT u.f, u.b, sum(u.n) AS n FROM (
  ${parts.join('\n  UNION ALL\n  ')}
) AS u(f, b, n)
GROUP BY u.f, u.b`;
  return p.statement(text);
}

/**
 * binCountsStatement on a columnar engine (DuckDB): the same rows (f, b, n), from each feature's non-NULL values
 * counted per distinct value first (a hash aggregate over one column), then binned by the same expressions,
 * distinct values only. The zipped `unnest` above spent 1.5 s of 2.3 s of DuckDB's CPU on 1,000,000 rows of 10
 * features; this shape 322 ms against 799 ms (bench/README.md, "The other kinds"), reading the 10 columns alone 49.
 */
function binCountsPerFeature(src: Source, features: BinnedFeature[], dialect: Dialect): Statement {
  const p = new SqlBuilder(dialect);
  const { from, where } = fromWhere(src, p);
  const perFeature = features.map((f, i) => {
    const bin =
      f.kind === 'categorical'
        ? `coalesce(array_position(${p.add(f.categories, 'text[]')}, g.x::text), 0)`
        : p.dialect.widthBucket('g.x::float8', p.add(strictThresholds(f.edges), 'float8[]'));
    return `SELECT ${i} AS f, ${bin} AS b, g.n
  FROM (SELECT ${col(f.name)} AS x, count(*) AS n FROM ${from} WHERE ${where} AND ${col(f.name)} IS NOT NULL GROUP BY 1) AS g`;
  });
  return p.statement(`SELECT u.f, u.b, sum(u.n) AS n FROM (
  ${perFeature.join('\n  UNION ALL\n  ')}
) AS u
GROUP BY u.f, u.b`);
}

/**
 * The exact two-sample Kolmogorov-Smirnov statistic of every listed numeric feature, in one statement. For each
 * feature, running counts over its values in order: the reference and current values <= x (cr, cc; each ECDF is
 * evaluated after all the ties of x, exactly); each sample's size (nr, nc) from plain counts of one more scan of
 * each table (cheaper than a window over the whole partition, which buffers it, or than counting the values
 * again); D = max |cr/nr - cc/nc|. Rows (f, d, nr, nc, nd), nd the feature's distinct values over both samples;
 * a feature with an empty sample on either side yields no row.
 *
 * Two spellings of the running counts, chosen per feature (`byValue`), the same D:
 * - by row: the features unpivoted into (f, x, cur) rows, one sort by (feature, value), and counts over a RANGE
 *   frame (the peers of x are its ties). Cost grows with the values, whatever they repeat.
 * - by value: each feature's column read apart, its values counted per distinct value (a hashed aggregate, in
 *   parallel on PostgreSQL), running sums of a ROWS frame over the distinct values only.
 * Which is cheaper depends on how often values repeat (PostgreSQL 15, 2 CPUs, 7 features of 1,000,000 rows
 * against 100,000, jit off, psql): with a distinct value per 11 to 110 values (the data-scan bench's amounts and
 * counts) by value takes 2.5 s against 6.7 s by row; one per 5 values 4.4 against 7.0 s; one per 2.4 values
 * the same (6.9 s); all distinct 11.8 against 6.7 s (the hashed aggregate spills, then sorts as many values).
 * So the check spells a feature by value when its last run found at most one distinct value per 3 values
 * (buildKsCheck), and by row until a run has told. A columnar engine (DuckDB) spells every feature by value:
 * its running counts over 7,300,000 unpivoted rows took 1.8 to 9.4 s (bench/README.md, "The other kinds").
 */
export function ksStatement(
  reference: Source,
  current: Source,
  features: string[],
  dialect: Dialect = postgres,
  byValue: ReadonlySet<string> = new Set(),
): Statement {
  const p = new SqlBuilder(dialect);
  const ref = fromWhere(reference, p);
  const cur = fromWhere(current, p);
  const indexed = features.map((name, i) => ({ name, i }));
  const valued = indexed.filter((f) => dialect.columnar || byValue.has(f.name));
  const rowed = indexed.filter((f) => !valued.includes(f));
  // Each sample's size per feature: plain counts of one scan per table (no unpivot, no sort).
  const counts = features.map((f, i) => `count(${col(f)}) AS n${i}`).join(', ');
  const sizes = features.map((_, i) => `(${i}, r.n${i}::float8, c.n${i}::float8)`).join(', ');
  const samples = [
    { at: ref, cur: 'false' },
    { at: cur, cur: 'true' },
  ];
  const ctes = [
    `n AS (
  SELECT z.f, z.nr, z.nc
  FROM (SELECT ${counts} FROM ${ref.from} WHERE ${ref.where}) AS r,
       (SELECT ${counts} FROM ${cur.from} WHERE ${cur.where}) AS c,
       LATERAL (VALUES ${sizes}) AS z(f, nr, nc)
)`,
  ];
  // D, sizes and distinct values per feature from running counts e(f, cr, cc); `last` marks one row per value.
  const ks = (
    e: string,
    last: string,
  ) => `SELECT e.f, max(abs(e.cr / n.nr - e.cc / n.nc)) AS d, max(n.nr) AS nr,
       max(n.nc) AS nc, count(*) FILTER (WHERE ${last}) AS nd
FROM ${e} AS e JOIN n ON n.f = e.f
WHERE n.nr > 0 AND n.nc > 0
GROUP BY e.f`;
  const parts: string[] = [];
  if (rowed.length > 0) {
    const rows = rowed.map((f) => `(${f.i}, ${col(f.name)}::float8)`);
    const unpivoted = samples.map(
      (x) => `SELECT v.f, v.x, ${x.cur} AS cur
  FROM ${x.at.from}
  ${unpivot(rows)} AS v(f, x)
  WHERE ${x.at.where} AND v.x IS NOT NULL`,
    );
    // A value's last row is where the rows so far (row_number) reach the rows up to its ties (cr + cc).
    ctes.push(`by_row AS (
  SELECT f, ${windowCount('NOT cur', 'w')} AS cr, ${windowCount('cur', 'w')} AS cc, row_number() OVER w AS rn
  FROM (
  ${unpivoted.join('\n  UNION ALL\n  ')}
  ) AS s
  WINDOW w AS (PARTITION BY f ORDER BY x)
)`);
    parts.push(ks('by_row', 'e.rn = e.cr + e.cc'));
  }
  if (valued.length > 0) {
    const perColumn = valued.flatMap((f) =>
      samples.map(
        (x) =>
          `SELECT ${f.i} AS f, ${col(f.name)}::float8 AS x, ${x.cur} AS cur FROM ${x.at.from} WHERE ${x.at.where} AND ${col(f.name)} IS NOT NULL`,
      ),
    );
    ctes.push(`by_value AS (
  SELECT f, sum(r) OVER w AS cr, sum(c) OVER w AS cc
  FROM (
    SELECT f, x, count(1) FILTER (WHERE NOT cur) AS r, count(1) FILTER (WHERE cur) AS c
    FROM (
  ${perColumn.join('\n  UNION ALL ')}
    ) AS s
    GROUP BY f, x
  ) AS g
  WINDOW w AS (PARTITION BY f ORDER BY x ROWS UNBOUNDED PRECEDING)
)`);
    parts.push(ks('by_value', 'TRUE'));
  }
  return p.statement(`WITH ${ctes.join(', ')}
${parts.join('\nUNION ALL\n')}`);
}
