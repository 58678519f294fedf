import { SqlBuilder, type Statement } from '../../sql/builder.js';
import { quoteIdent } from '../../sql/identifiers.js';
import { joinedCte, type ModelContext } from './context.js';

/** The segment columns of a model (names as configured) and how many values of each keep their own series. */
export interface SegmentSpec {
  columns: string[];
  maxSegments: number;
}

/** What a NULL segment value and the values beyond the top max_segments are reported as. */
export const NULL_SEGMENT = '(null)';
export const OTHER_SEGMENT = 'other';

/**
 * The one statement of a model's segments check: every window and every segment column from one pass over
 * `joined` (which carries the segment columns as text, g0..gK). Rows (wi, si, g, ...): one per window for every
 * (column, reported value) of the widest window, with zero counts where the window has none of it.
 *
 * Shape:
 * - `sliced`: each prediction once per segment column (LATERAL VALUES: column index si, its value as text, NULL
 *   as '(null)'), so K columns cost one scan of `joined`, not K.
 * - `tops`: per column, its values ranked by predictions in the widest window (every prediction of `joined`),
 *   most first, ties broken by the value in byte order (COLLATE "C", the same on every database); the first
 *   max_segments keep their value, the rest are reported as 'other'.
 * - `member`: each (prediction, column) with its reported value as a number (its rank r among the tops, or
 *   max_segments + 1 for 'other'), its window flags and NULL for a NaN score. Sorting and grouping 2,000,000
 *   rows of two columns by (column, number, score) instead of (column, text, score) took the statement from
 *   10.2-12.0 s to 8.5-9.1 s (bench/peer-kinds.ts's tables); the names are joined back on the last rows. A real
 *   value spelled 'other' among the tops takes the number of 'other', so it merges with that bucket instead of
 *   duplicating a series (a value spelled '(null)' is NULL's bucket already).
 * - classification: one sort by (column, value, score) for two window aggregates per window over its labeled
 *   negatives, FILTERed on the window's flag (as classificationStatement): those scored <= s (le_i) and = s
 *   (eq_i); AUC numerator = sum over scored positives of le_i - eq_i / 2, exactly the whole-model AUC's
 *   Mann-Whitney with ties counted half; confusion counts at the threshold.
 * - regression: MAE and RMSE over labeled predictions with a predicted value.
 * Both also return every prediction (n_all) and the labeled ones (n_lab), whatever their score. Each window
 * is a set of FILTERed aggregates over the same rows; the final SELECT turns a (column, value)'s row into one
 * row per window (LATERAL VALUES).
 *
 * Parameters: the window lengths (from joinedCte), max_segments, and the threshold (classification only).
 */
export function segmentsStatement(m: ModelContext, spec: SegmentSpec): Statement {
  const b = new SqlBuilder(m.dialect);
  const cte = joinedCte(m, b, spec.columns.map(quoteIdent));
  const max = b.add(spec.maxSegments, 'int');
  const slices = spec.columns.map((_, i) => `(${i}, j.g${i})`).join(', ');
  const windows = m.windows.map((_, i) => i);
  const flags = windows.map((i) => `w${i}`).join(', ');
  const head = `WITH ${cte},
sliced AS (
  SELECT c.si, coalesce(c.val, '${NULL_SEGMENT}') AS val, j.s, j.y, ${windows.map((i) => `j.w${i}`).join(', ')}
  FROM joined j CROSS JOIN LATERAL (VALUES ${slices}) AS c(si, val)
),
tops AS (
  SELECT si, val, row_number() OVER (PARTITION BY si ORDER BY count(*) DESC, val COLLATE "C") AS r
  FROM sliced
  GROUP BY si, val
),
member AS (
  SELECT x.si, CASE WHEN t.r <= ${max} AND x.val <> '${OTHER_SEGMENT}' THEN t.r ELSE ${max} + 1 END AS g,
         ${m.task === 'regression' ? 'x.s' : "nullif(x.s, 'NaN'::float8)"} AS s, x.y, ${windows.map((i) => `x.w${i}`).join(', ')}
  FROM sliced x
  JOIN tops t ON t.si = x.si AND t.val = x.val
)`;
  // One row per (column, value), columns suffixed per window; then one row per window.
  const perWindow = (names: string[], exprs: (i: number) => string[], from: string) => {
    const cols = windows.flatMap((i) => exprs(i).map((e, k) => `${e} AS ${names[k]}_${i}`));
    const rows = windows.map((i) => `(${i}, ${names.map((n) => `t.${n}_${i}`).join(', ')})`);
    return `per_value AS (
  SELECT si, g,
         ${cols.join(',\n         ')}
  FROM ${from}
  GROUP BY si, g
)
SELECT x.wi, t.si, coalesce(n.val, '${OTHER_SEGMENT}') AS g, ${names.map((n) => `x.${n}`).join(', ')}
FROM per_value t
LEFT JOIN tops n ON n.si = t.si AND n.r = t.g AND t.g <= ${max}
CROSS JOIN LATERAL (VALUES
  ${rows.join(',\n  ')}
) AS x(wi, ${names.join(', ')})
ORDER BY 1, 2, 3`;
  };
  if (m.task === 'regression') {
    const body = perWindow(
      ['n_all', 'n_lab', 'n', 'mae', 'rmse'],
      (i) => {
        const f = `FILTER (WHERE w${i} AND y IS NOT NULL AND s IS NOT NULL)`;
        return [
          `count(*) FILTER (WHERE w${i})::float8`,
          `count(*) FILTER (WHERE w${i} AND y IS NOT NULL)::float8`,
          `count(*) ${f}::float8`,
          `avg(abs(s - y)) ${f}`,
          `sqrt(avg((s - y) * (s - y)) ${f})`,
        ];
      },
      'member',
    );
    return b.statement(`${head},
${body}`);
  }
  const t = b.add(m.threshold, 'float8');
  const ranks = windows.flatMap((i) => [
    `sum(1 - y) FILTER (WHERE w${i}) OVER (PARTITION BY si, g ORDER BY s) AS le${i}`,
    `sum(1 - y) FILTER (WHERE w${i}) OVER (${m.dialect.peers('si, g', 's')}) AS eq${i}`,
  ]);
  const body = perWindow(
    ['n_all', 'n_lab', 'n_pos', 'n_neg', 'auc_num', 'tp', 'fp'],
    (i) => {
      const scored = `w${i} AND s IS NOT NULL`;
      return [
        `count(*) FILTER (WHERE w${i})::float8`,
        `count(*) FILTER (WHERE w${i} AND y IS NOT NULL)::float8`,
        `count(*) FILTER (WHERE ${scored} AND y = 1)::float8`,
        `count(*) FILTER (WHERE ${scored} AND y = 0)::float8`,
        `coalesce(sum(le${i} - eq${i} * 0.5) FILTER (WHERE ${scored} AND y = 1), 0)`,
        `count(*) FILTER (WHERE ${scored} AND y = 1 AND s >= ${t})::float8`,
        `count(*) FILTER (WHERE ${scored} AND y = 0 AND s >= ${t})::float8`,
      ];
    },
    'ranked',
  );
  return b.statement(`${head},
ranked AS (
  SELECT si, g, s, y, ${flags},
         ${ranks.join(',\n         ')}
  FROM member
),
${body}`);
}
