import { SqlBuilder, type Statement } from '../../sql/builder.js';
import { joinedCte, type ModelContext } from './context.js';

/**
 * The one statement of a binary classifier's performance check: every window and every version from one pass
 * over `joined`, one row per (window, version).
 *
 * Shape:
 * - `ordered`: one sort by (version, score) for the running counts of every window, FILTERed on the window's
 *   flag, so nested windows share the sort and the rows are not copied per window: the window's labeled
 *   negatives and positives scored <= s (le_i, lp_i), from which the Mann-Whitney sum, negatives below each
 *   positive plus half the tied ones, is (sum of le_i over positives - sum of lp_i over negatives + n_pos *
 *   n_neg) / 2. That is PostgreSQL's (Dialect.mannWhitney); DuckDB ranks each window's labeled, scored rows
 *   instead (the positives' average ranks less n_pos (n_pos + 1) / 2, the same sum), which it runs faster.
 * - `per_ring`: per (version, calibration bin, ring), the sums every metric needs, where a row's ring is the
 *   number of windows it falls in less one: windows all end at now(), so they are nested and window i is the
 *   rings >= i. Only the Mann-Whitney sums are per window (auc_num_i). `per_bin` sums the rings of each window
 *   (columns suffixed _i), so the calibration numerator sum over bins |sum of scores - positives| (= n * ECE)
 *   needs no second sort.
 * - `totals`: per version, the bins summed; the final SELECT turns each version's row into one row per window
 *   (a LATERAL VALUES list): wi, v, n, n_pos, n_neg, auc_num (Mann-Whitney with ties counted half, exactly
 *   scikit-learn's roc_auc_score once divided by n_pos * n_neg), log loss and
 *   Brier sums, tp and fp at the threshold, the calibration numerator, and over the UNLABELED scored
 *   predictions their count, the predicted positives among them and the expected confusion counts if the
 *   scores are calibrated, with p = the score clamped to [0, 1]: e_tp = sum p and e_fp = sum (1 - p) over
 *   predicted positives, e_fn = sum p and e_tn = sum (1 - p) over predicted negatives.
 * A NULL (or NaN) score counts in nothing: its rows sort last and land in the NULL bin (spelled out with CASE:
 * greatest and least skip NULLs, and would put them in bin 9), which `totals` leaves out, so a version whose
 * scores are all NULL still appears, with n = 0. A prediction without a label yet (y NULL) counts in the
 * estimates only: realized metrics use labeled, scored predictions. A version is reported for every window,
 * with zero counts where it has no predictions. Scores outside [0, 1] land in the nearest calibration bin
 * (bin = clamp(floor(10 s), 0, 9), so a score of 1.0 is in the last bin); log loss clips scores to
 * [1e-15, 1 - 1e-15] as float8, as scikit-learn does.
 *
 * Why this shape (bench/model-auc.ts, 1,000,000 labeled predictions): grouping by (window, version, score)
 * first and ranking the groups sorted or hashed a million distinct scores several times; copying each row
 * once per window it falls in (an unnest of the flags) made three windows sort 1.6 times the rows. One sort of
 * the rows with FILTERed window aggregates took the 14-day check from 4.4 s to 2.1 s and [1d, 7d, 14d] from
 * 5.4 s to 2.4 s; one window aggregate per sort instead of two (the running counts le and lp in place of a running
 * sum and a sum over each score's peers) took the 14-day statement from 2.20-2.25 s to 1.86-1.88 s in psql.
 *
 * Parameters: the window lengths (from joinedCte) and the threshold. Every column is float8 (or int for the
 * window index, text for the version).
 */
export function classificationStatement(m: ModelContext): Statement {
  const b = new SqlBuilder(m.dialect);
  const cte = joinedCte(m, b);
  const t = b.add(m.threshold, 'float8');
  const windows = m.windows.map((_, i) => i);
  // The Mann-Whitney sum of each window, as the dialect's engine runs it fastest (FILTERed running sums on
  // PostgreSQL, ranks on DuckDB: Dialect.mannWhitney), per version when the model has versions: partitioned by
  // the constant NULL of a model without, DuckDB's window took 1.3 times as long (bench/duckdb.ts's rows).
  const auc = (i: number) => m.dialect.mannWhitney(i, m.predictions.versionSql ? 'v' : undefined);
  const ranks = windows.flatMap((i) => auc(i).columns);
  // What the metrics sum per (version, bin, ring). Windows are nested (they all end at now()), so a row's ring,
  // the number of windows it is in less one, says which: window i sums the rings >= i. Only the Mann-Whitney
  // term differs per window, as each window ranks its own negatives.
  const sums = classificationSums(t);
  const summed = sums.map(([name]) => name);
  const perRing = [
    ...sums.map(([name, expr]) => `${expr} AS ${name}`),
    `${SCORE_SUM} AS score_sum`,
    ...windows.map((i) => `coalesce(${auc(i).sum}, 0) AS auc_num_${i}`),
  ];
  const rings = (i: number, col: string) => `sum(${col}) FILTER (WHERE ring >= ${i})`;
  const perBin = windows.flatMap((i) => [
    ...summed.map((name) => `${rings(i, name)} AS ${name}_${i}`),
    `sum(auc_num_${i}) AS auc_num_${i}`,
    // |sum of scores - positives| of the bin's labeled rows in window i (= its share of n * ECE).
    `abs(${rings(i, 'score_sum')} - ${rings(i, 'n_pos')}) AS calibration_num_${i}`,
  ]);
  const names = [...summed, 'auc_num', 'calibration_num'];
  const totals = windows.flatMap((i) =>
    names.map((name) => `coalesce(sum(${name}_${i}) FILTER (WHERE b IS NOT NULL), 0) AS ${name}_${i}`),
  );
  const column = (name: string, i: number) =>
    name === 'auc_num'
      ? auc(i).numerator(`t.auc_num_${i}`, `t.n_pos_${i}`, `t.n_neg_${i}`)
      : `t.${name}_${i}`;
  const rows = windows.map((i) => `(${i}, ${names.map((name) => column(name, i)).join(', ')})`);
  const flags = windows.map((i) => `w${i}`);
  return b.statement(`WITH ${cte},
ranked AS (
  SELECT v, nullif(s, 'NaN'::float8) AS s, y, ${flags.join(', ')}
  FROM joined
),
ordered AS (
  SELECT v, s, y, ${flags.join(', ')}, ${flags.map((f) => `${f}::int`).join(' + ')} - 1 AS ring,
         ${ranks.join(',\n         ')}
  FROM ranked
),
per_ring AS (
  SELECT v, ${CALIBRATION_BIN} AS b, ring,
         ${perRing.join(',\n         ')}
  FROM ordered
  GROUP BY 1, 2, 3
),
per_bin AS (
  SELECT v, b,
         ${perBin.join(',\n         ')}
  FROM per_ring
  GROUP BY v, b
),
totals AS (
  SELECT v,
         ${totals.join(',\n         ')}
  FROM per_bin
  GROUP BY v
)
SELECT x.wi, t.v, ${names.map((name) => `x.${name}`).join(', ')}
FROM totals t CROSS JOIN LATERAL (VALUES
  ${rows.join(',\n  ')}
) AS x(wi, ${names.join(', ')})
ORDER BY x.wi, t.v`);
}

/**
 * What every classification metric sums over a set of rows (columns s, the score with NaN as NULL, and y, the
 * label or NULL), by column name: the counts, the log loss and Brier sums, the confusion counts at the
 * threshold `t` (a placeholder), and over the UNLABELED scored rows their count, the predicted positives and
 * the expected confusion counts (see classificationStatement). Sums of disjoint sets of rows add up, which is
 * what lets the incremental check (incremental/) keep them per time bucket.
 */
export function classificationSums(t: string): Array<[string, string]> {
  const eps = '1e-15::float8';
  const clipped = `greatest(${eps}, least(1::float8 - ${eps}, s))`;
  // The score as a probability for the estimates: clamped to [0, 1], so every expected count is >= 0.
  const p = 'greatest(0::float8, least(1::float8, s))';
  const unlabeled = (cmp: string) => `y IS NULL AND s ${cmp} ${t}`;
  return [
    ['n', 'count(y)::float8'],
    ['n_pos', 'coalesce(sum(y), 0)'],
    ['n_neg', 'coalesce(sum(1 - y), 0)'],
    // One ln per row: for a label of 0 or 1 the other term of y ln p + (1 - y) ln (1 - p) is 0 exactly, so the
    // sum is the same to the bit at half the logarithms (NULL for no label, as before).
    [
      'log_loss_sum',
      `coalesce(sum(-ln(CASE WHEN y = 1 THEN ${clipped} WHEN y = 0 THEN 1::float8 - ${clipped} END)), 0)`,
    ],
    ['brier_sum', 'coalesce(sum((y - s) * (y - s)), 0)'],
    ['tp', `count(*) FILTER (WHERE y = 1 AND s >= ${t})::float8`],
    ['fp', `count(*) FILTER (WHERE y = 0 AND s >= ${t})::float8`],
    ['n_unl', 'count(*) FILTER (WHERE y IS NULL)::float8'],
    ['e_pp', `count(*) FILTER (WHERE ${unlabeled('>=')})::float8`],
    ['e_tp', `coalesce(sum(${p}) FILTER (WHERE ${unlabeled('>=')}), 0)`],
    ['e_fp', `coalesce(sum(1 - ${p}) FILTER (WHERE ${unlabeled('>=')}), 0)`],
    ['e_fn', `coalesce(sum(${p}) FILTER (WHERE ${unlabeled('<')}), 0)`],
    ['e_tn', `coalesce(sum(1 - ${p}) FILTER (WHERE ${unlabeled('<')}), 0)`],
  ];
}

/** The sum of the labeled rows' scores: with n_pos per calibration bin, what the calibration error needs. */
export const SCORE_SUM = 'coalesce(sum(s) FILTER (WHERE y IS NOT NULL), 0)';

/**
 * The calibration bin of a score: clamp(floor(10 s), 0, 9), NULL for a NULL score (spelled out with CASE:
 * greatest and least skip NULLs, and would put them in bin 9).
 */
export const CALIBRATION_BIN = 'CASE WHEN s IS NOT NULL THEN greatest(0, least(9, floor(s * 10)))::int END';

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
