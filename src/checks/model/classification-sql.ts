import { SqlBuilder, type Statement } from '../../sql/builder.js';
import { joinedCte, type ModelContext } from './context.js';

/**
 * The one statement of a binary classifier's performance check: every window and every version from one pass
 * over `joined`.
 *
 * Shape:
 * - `member`: each prediction once per window it falls in (the window flags unnested WITH ORDINALITY, false
 *   ones dropped), so nested windows cost one scan of `joined`.
 * - `scored`: grouped by (window, version, distinct score), counting labeled positives and negatives, and
 *   unlabeled predictions (`unl`, for the estimates). Rows with a NULL (or NaN) score count in none of them;
 *   rows without a label yet count in neither pos nor neg: realized metrics use labeled, scored predictions
 *   only. Groups without labels still appear (with 0 and 0), so a version without labels is reported as
 *   skipped.
 * - `ranked`: per (window, version), the running count of negatives strictly below each distinct score, and
 *   per calibration bin the bin's score sum and positives (kept on the bin's first row only).
 * - the final aggregate per (window, version):
 *     AUC numerator = sum over scores of pos(s) * (neg_below(s) + neg(s) / 2), i.e. Mann-Whitney with ties
 *       counted half, exactly scikit-learn's roc_auc_score once divided by n_pos * n_neg;
 *     log loss and Brier sums, confusion counts at the threshold, and the calibration numerator
 *     sum over bins |sum of scores - positives| (= n * ECE);
 *     and, over the UNLABELED scored predictions (`unl`, the same groups: no extra scan), their count, the
 *     predicted positives among them, and the expected confusion counts if the scores are calibrated, with
 *     p = the score clamped to [0, 1]: e_tp = sum p and e_fp = sum (1 - p) over predicted positives,
 *     e_fn = sum p and e_tn = sum (1 - p) over predicted negatives.
 * Scores outside [0, 1] land in the nearest calibration bin (bin = clamp(floor(10 s), 0, 9), so a score of 1.0
 * is in the last bin); log loss clips scores to [1e-15, 1 - 1e-15] as float8, as scikit-learn does.
 *
 * Parameters: the window lengths (from joinedCte) and the threshold. Every column is float8 (or int for the
 * window index, text for the version).
 */
export function classificationStatement(m: ModelContext): Statement {
  const b = new SqlBuilder(m.dialect);
  const cte = joinedCte(m, b);
  const t = b.add(m.threshold, 'float8');
  const flags = m.windows.map((_, i) => `j.w${i}`).join(', ');
  const eps = '1e-15::float8';
  const clipped = `greatest(${eps}, least(1::float8 - ${eps}, s))`;
  // The score as a probability for the estimates: clamped to [0, 1], so every expected count is >= 0.
  const p = 'greatest(0::float8, least(1::float8, s))';
  return b.statement(`WITH ${cte},
member AS (
  SELECT (u.i - 1)::int AS wi, j.v, nullif(j.s, 'NaN'::float8) AS s, j.y
  FROM joined j CROSS JOIN LATERAL unnest(ARRAY[${flags}]) WITH ORDINALITY AS u(inside, i)
  WHERE u.inside
),
scored AS (
  SELECT wi, v, s,
         count(*) FILTER (WHERE y = 1 AND s IS NOT NULL)::float8 AS pos,
         count(*) FILTER (WHERE y = 0 AND s IS NOT NULL)::float8 AS neg,
         count(*) FILTER (WHERE y IS NULL AND s IS NOT NULL)::float8 AS unl
  FROM member
  GROUP BY wi, v, s
),
binned AS (
  SELECT scored.*, CASE WHEN s IS NOT NULL THEN greatest(0, least(9, floor(s * 10)))::int END AS b
  FROM scored
),
ranked AS (
  SELECT binned.*,
         coalesce(sum(neg) OVER (PARTITION BY wi, v ORDER BY s ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
           AS neg_below,
         sum((pos + neg) * s) OVER (PARTITION BY wi, v, b) AS bin_score,
         sum(pos) OVER (PARTITION BY wi, v, b) AS bin_pos,
         row_number() OVER (PARTITION BY wi, v, b) AS bin_row
  FROM binned
)
SELECT wi, v,
       sum(pos + neg) AS n,
       sum(pos) AS n_pos,
       sum(neg) AS n_neg,
       sum(pos * (neg_below + neg * 0.5)) AS auc_num,
       coalesce(sum(-(pos * ln(${clipped}) + neg * ln(1::float8 - ${clipped}))) FILTER (WHERE pos + neg > 0), 0)
         AS log_loss_sum,
       coalesce(sum(pos * (1 - s) * (1 - s) + neg * s * s) FILTER (WHERE pos + neg > 0), 0) AS brier_sum,
       coalesce(sum(pos) FILTER (WHERE s >= ${t}), 0) AS tp,
       coalesce(sum(neg) FILTER (WHERE s >= ${t}), 0) AS fp,
       coalesce(sum(abs(bin_score - bin_pos)) FILTER (WHERE bin_row = 1 AND b IS NOT NULL), 0) AS calibration_num,
       coalesce(sum(unl), 0) AS n_unl,
       coalesce(sum(unl) FILTER (WHERE s >= ${t}), 0) AS e_pp,
       coalesce(sum(unl * ${p}) FILTER (WHERE s >= ${t}), 0) AS e_tp,
       coalesce(sum(unl * (1 - ${p})) FILTER (WHERE s >= ${t}), 0) AS e_fp,
       coalesce(sum(unl * ${p}) FILTER (WHERE s < ${t}), 0) AS e_fn,
       coalesce(sum(unl * (1 - ${p})) FILTER (WHERE s < ${t}), 0) AS e_tn
FROM ranked
GROUP BY wi, v
ORDER BY wi, v`);
}

/**
 * Hanley & McNeil (1982) standard error of an AUC from n_pos positives and n_neg negatives:
 * Q1 = A / (2 - A), Q2 = 2A² / (1 + A),
 * SE = sqrt((A(1 - A) + (n_pos - 1)(Q1 - A²) + (n_neg - 1)(Q2 - A²)) / (n_pos n_neg)).
 * Every term is >= 0 for A in [0, 1]; the clamp only absorbs rounding.
 */
export function hanleyMcNeilStderr(auc: number, nPos: number, nNeg: number): number {
  const a2 = auc * auc;
  const q1 = auc / (2 - auc);
  const q2 = (2 * a2) / (1 + auc);
  const variance = (auc * (1 - auc) + (nPos - 1) * (q1 - a2) + (nNeg - 1) * (q2 - a2)) / (nPos * nNeg);
  return Math.sqrt(Math.max(0, variance));
}
