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
 * `joined` (which carries the segment columns as text, g0..gK).
 *
 * Shape:
 * - `sliced`: each prediction once per segment column (LATERAL VALUES: column index si, its value as text, NULL
 *   as '(null)'), so K columns cost one scan of `joined`, not K.
 * - `tops`: per column, its values ranked by predictions in the widest window (every prediction of `joined`),
 *   most first, ties broken by the value in byte order (COLLATE "C", the same on every database); the first
 *   max_segments keep their value, the rest are reported as 'other'. The final grouping is by the reported
 *   value, so a real value spelled 'other' or '(null)' merges with that bucket instead of duplicating a series.
 * - `member`: each (prediction, column) once per window it falls in (the window flags unnested, as in
 *   classificationStatement), with NULL and NaN scores as NULL.
 * - classification: grouped by (window, column, value, distinct score) counting labeled positives and negatives
 *   among scored predictions; AUC numerator = sum over scores of pos(s) * (neg_below(s) + neg(s) / 2), exactly
 *   the whole-model AUC's Mann-Whitney with ties counted half; confusion counts at the threshold.
 * - regression: MAE and RMSE over labeled predictions with a predicted value.
 * Both also return every prediction (n_all) and the labeled ones (n_lab), whatever their score.
 *
 * Parameters: the window lengths (from joinedCte), max_segments, and the threshold (classification only).
 */
export function segmentsStatement(m: ModelContext, spec: SegmentSpec): Statement {
  const b = new SqlBuilder(m.dialect);
  const cte = joinedCte(m, b, spec.columns.map(quoteIdent));
  const max = b.add(spec.maxSegments, 'int');
  const slices = spec.columns.map((_, i) => `(${i}, j.g${i})`).join(', ');
  const flags = m.windows.map((_, i) => `x.w${i}`).join(', ');
  const wcols = m.windows.map((_, i) => `j.w${i}`).join(', ');
  const head = `WITH ${cte},
sliced AS (
  SELECT c.si, coalesce(c.val, '${NULL_SEGMENT}') AS val, j.s, j.y, ${wcols}
  FROM joined j CROSS JOIN LATERAL (VALUES ${slices}) AS c(si, val)
),
tops AS (
  SELECT si, val, row_number() OVER (PARTITION BY si ORDER BY count(*) DESC, val COLLATE "C") AS r
  FROM sliced
  GROUP BY si, val
),
member AS (
  SELECT (u.i - 1)::int AS wi, x.si, CASE WHEN t.r <= ${max} THEN x.val ELSE '${OTHER_SEGMENT}' END AS g,
         ${m.task === 'regression' ? 'x.s' : "nullif(x.s, 'NaN'::float8)"} AS s, x.y
  FROM sliced x
  JOIN tops t ON t.si = x.si AND t.val = x.val
  CROSS JOIN LATERAL unnest(ARRAY[${flags}]) WITH ORDINALITY AS u(inside, i)
  WHERE u.inside
)`;
  if (m.task === 'regression') {
    const f = 'FILTER (WHERE y IS NOT NULL AND s IS NOT NULL)';
    return b.statement(`${head}
SELECT wi, si, g,
       count(*)::float8 AS n_all,
       count(*) FILTER (WHERE y IS NOT NULL)::float8 AS n_lab,
       count(*) ${f}::float8 AS n,
       avg(abs(s - y)) ${f} AS mae,
       sqrt(avg((s - y) * (s - y)) ${f}) AS rmse
FROM member
GROUP BY wi, si, g
ORDER BY wi, si, g`);
  }
  const t = b.add(m.threshold, 'float8');
  return b.statement(`${head},
scored AS (
  SELECT wi, si, g, s,
         count(*)::float8 AS n_all,
         count(*) FILTER (WHERE y IS NOT NULL)::float8 AS n_lab,
         count(*) FILTER (WHERE y = 1 AND s IS NOT NULL)::float8 AS pos,
         count(*) FILTER (WHERE y = 0 AND s IS NOT NULL)::float8 AS neg
  FROM member
  GROUP BY wi, si, g, s
),
ranked AS (
  SELECT scored.*,
         coalesce(sum(neg) OVER (PARTITION BY wi, si, g ORDER BY s ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
           AS neg_below
  FROM scored
)
SELECT wi, si, g,
       sum(n_all) AS n_all,
       sum(n_lab) AS n_lab,
       sum(pos) AS n_pos,
       sum(neg) AS n_neg,
       sum(pos * (neg_below + neg * 0.5)) AS auc_num,
       coalesce(sum(pos) FILTER (WHERE s >= ${t}), 0) AS tp,
       coalesce(sum(neg) FILTER (WHERE s >= ${t}), 0) AS fp
FROM ranked
GROUP BY wi, si, g
ORDER BY wi, si, g`);
}
