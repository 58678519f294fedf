import type { Window } from '../../../config/types.js';
import { SqlBuilder, type Statement } from '../../../sql/builder.js';
import { groupScoreKey } from '../../../sql/group-score-key.js';
import { quoteIdent } from '../../../sql/identifiers.js';
import { windowCount } from '../../../sql/window-count.js';
import { latestLabelJoin, type ModelContext } from '../context.js';
import type { Classes } from './task.js';

/**
 * The one statement of a multiclass model's performance check: every window, version and class from one scan
 * of the widest window (and of the labels of its keys). Output: one row per (version, class index), with the
 * class's one-vs-rest counts per window in columns suffixed _0 (widest) .. _N; the check sums the classes per
 * (window, version).
 *
 * Shape:
 * - `joined`: the predictions of the widest window, with a flag per window (w0..wN), the probability of each
 *   class (s0..sK, float8, NaN read as NULL) and the latest label of the key, as text (latestLabelJoin in
 *   context.ts).
 * - `per_class` (perClassRows, shared with the incremental check): the label's class index `yi` (NULL without
 *   a label, or for a label that is none of the classes) and the predicted class `top`: the FIRST class whose
 *   probability equals the row's maximum, as numpy's argmax (and so scikit-learn's predict) breaks ties. A row
 *   counts in the metrics (`known`) when it has a label of one of the classes and a probability for every
 *   class; a labeled row whose label is none of them counts as `unknown` only, whatever its probabilities.
 *   Then a known row once per class (one SELECT per class, UNION ALL), with the class's probability s and
 *   whether the class is the row's label (pos), is not (neg), and is its prediction (pred); any other row once,
 *   as class 0 with neither (so unlabeled rows cost one row, not K, and versions without labels still appear).
 * - `ranked`: one sort for every window and class (per version when the model has versions), by one bigint
 *   that orders by (class, s) (groupScoreKey) and then s, and one window aggregate over it: per window, the
 *   negatives (le) and positives (lp) in the window with a probability <= s (a RANGE frame: ties included), as
 *   running counts with FILTER on the window's flag. Summed over a class's positives (le) and negatives (lp),
 *   sum le = #(n < p) + T and sum lp = #(p < n) + T, T the tied pairs, and n_pos * n_neg = #(n < p) + #(p < n)
 *   + T; so the Mann-Whitney numerator #(n < p) + T / 2 = (sum le - sum lp + n_pos * n_neg) / 2, with no second
 *   window aggregate over each probability's peers (the binary check's, Dialect.mannWhitney). The counts run on
 *   across the classes, so the final SELECT takes off what the classes before add: each positive counted every
 *   negative of those classes, each negative every positive. Why one ordering: partitioned by (version, class)
 *   and ordered by s, the sort compared the partition columns first, equal for almost every pair, and the
 *   statement took 8.6 s on 1,000,000 predictions of 3 classes against 6.1 s (psql, jit off, the values equal).
 * - the final aggregate per (version, class) and window i (classSums, but for the AUC):
 *     n_pos_i (the class's support); auc_num_i, over the positives the negatives below plus half the tied ones
 *       (from le and lp, above): Mann-Whitney, exactly scikit-learn's roc_auc_score of (y == class, p_class)
 *       once divided by n_pos * n_neg;
 *     n_pred_i (rows predicted as the class) and tp_i (of them, rows labeled the class);
 *     log_loss_sum_i over the rows labeled the class of -ln(p), p clipped to [1e-15, 1 - 1e-15] as float8 (as
 *       scikit-learn's log_loss with eps=1e-15); the probabilities are not renormalised per row, as
 *       scikit-learn does not since 1.5: a model whose rows do not sum to 1 shows it in its log loss;
 *     n_unknown_i: labeled rows whose label is none of the classes (on class 0's row only).
 * Rows are not grouped by distinct probability first (the binary check does): a model's probabilities are
 * mostly distinct, and the one sort of the rows is cheaper than a hash aggregate before it.
 *
 * Parameters: the window lengths and the class names (text), in the order they appear.
 */
export function multiclassStatement(m: ModelContext, classes: Classes): Statement {
  const b = new SqlBuilder(m.dialect);
  const p = m.predictions;
  const flags = m.windows.map((w, i) => `p.${p.timestampSql} >= ${b.cutoff(w.ms)} AS w${i}`).join(', ');
  const widest = (m.windows[0] as Window).ms;
  const windows = m.windows.map((_, i) => i);
  const v = p.versionSql ? `p.${p.versionSql}::text` : 'NULL::text';
  // One ordering for every class (per version when the model has versions): see `ranked` above.
  const over = `(${p.versionSql ? 'PARTITION BY v ' : ''}ORDER BY ${groupScoreKey('ci', 's')}, s)`;
  const ranks = windows.flatMap((i) => [
    `${windowCount(`w${i} AND neg`, over)} AS le${i}`,
    `${windowCount(`w${i} AND pos`, over)} AS lp${i}`,
  ]);
  const names = classSums('TRUE').map(([name]) => name);
  const perWindow = windows.flatMap((i) => [
    // (sum le over positives - sum lp over negatives + n_pos * n_neg) / 2, the classes before counted in: see
    // `ranked` above.
    `(coalesce(sum(CASE WHEN pos THEN le${i} ELSE -lp${i} END) FILTER (WHERE w${i} AND (pos OR neg)), 0)
      + count(*) FILTER (WHERE w${i} AND pos) * count(*) FILTER (WHERE w${i} AND neg))::float8 * 0.5 AS running_${i}`,
    `count(*) FILTER (WHERE w${i} AND neg)::float8 AS n_neg_${i}`,
    ...classSums(`w${i}`).map(([name, expr]) => `${expr} AS ${name}_${i}`),
  ]);
  // What the classes before ci (in the ordering) add to its running counts: their negatives or positives.
  const before = (col: string) => `(sum(t.${col}) OVER c - t.${col})`;
  const columns = windows.flatMap((i) => [
    `t.running_${i} - 0.5 * (t.n_pos_${i} * ${before(`n_neg_${i}`)} - t.n_neg_${i} * ${before(`n_pos_${i}`)}) AS auc_num_${i}`,
    ...names.map((name) => `t.${name}_${i}`),
  ]);
  const w = windows.map((i) => `w${i}`).join(', ');
  const probabilities = classProbabilities(classes);
  const joined = latestLabelJoin(m, {
    name: 'joined',
    columns: [`${v} AS v`, flags, ...probabilities.map(([e, name]) => `${e} AS ${name}`)].join(', '),
    identity: [v, ...probabilities.map(([e]) => e)],
    where: `p.${p.timestampSql} >= ${b.ago(widest)} AND p.${p.timestampSql} < ${b.dialect.now}`,
  });
  return b.statement(`WITH ${joined},
per_class AS (
  ${perClassRows(b, classes, 'joined', ['v', ...windows.map((i) => `w${i}`)])}
),
ranked AS (
  SELECT v, ci, s, ${w}, pos, neg, pred, unknown,
         ${ranks.join(',\n         ')}
  FROM per_class
)
SELECT t.v, t.ci,
       ${columns.join(',\n       ')}
FROM (
  SELECT v, ci,
         ${perWindow.join(',\n         ')}
  FROM ranked
  GROUP BY v, ci
) AS t
WINDOW c AS (PARTITION BY t.v ORDER BY t.ci)
ORDER BY t.v, t.ci`);
}

/** Each class's probability as the statements read it (float8, NaN as NULL) and the name rows carry it by (s0..sK). */
export function classProbabilities(classes: Classes): Array<[string, string]> {
  return classes.map((cls, c) => [`nullif(p.${quoteIdent(cls.column)}::float8, 'NaN'::float8)`, `s${c}`]);
}

/**
 * Rows of `from` (a FROM item: a CTE's name, or a subquery with its alias; with the columns `keep`, the
 * probabilities s0..sK and the latest label y, as text) as the rows every count is taken over (`per_class`
 * above): `keep`, then ci, s, pos, neg, pred and unknown. The class names are bound on `b`.
 */
export function perClassRows(b: SqlBuilder, classes: Classes, from: string, keep: readonly string[]): string {
  const s = classes.map((_, c) => `s${c}`);
  const labelIndex = classes.map((cls, c) => `WHEN ${b.add(cls.name, 'text')} THEN ${c}`).join(' ');
  const argmax = classes.map((_, c) => `WHEN c.s${c} = c.top_s THEN ${c}`).join(' ');
  const kept = keep.join(', ');
  // One SELECT per class over the judged rows (materialized once: each reads it), where a LATERAL VALUES list
  // of the classes per row took 5.7-6.1 s against 4.2 s for the whole statement (1,000,000 predictions, 3
  // classes, psql, jit off): PostgreSQL sets the list up again on every row.
  const perClass = classes.map(
    (_, c) => `SELECT ${kept}, ${c} AS ci, s${c} AS s, unknown, known AND yi = ${c} AS pos,
         known AND yi <> ${c} AS neg, known AND top = ${c} AS pred
  FROM judged${c === 0 ? '' : ' WHERE known'}`,
  );
  return `WITH judged AS (
    SELECT c.*, c.yi IS NOT NULL AND c.complete AS known, c.labeled AND c.yi IS NULL AS unknown,
           CASE ${argmax} END AS top
    FROM (
      SELECT ${kept}, ${s.join(', ')},
             y IS NOT NULL AS labeled, CASE y ${labelIndex} END AS yi,
             ${s.map((x) => `${x} IS NOT NULL`).join(' AND ')} AS complete, greatest(${s.join(', ')}) AS top_s
      FROM ${from}
    ) AS c
  )
  ${perClass.join('\n  UNION ALL\n  ')}`;
}

/**
 * What the metrics sum per class over the rows of perClassRows within `within` (a window's flag, or TRUE), each
 * its name and aggregate: the class's support, predictions, true positives, log loss over its positives
 * (-ln(p), p clipped to [1e-15, 1 - 1e-15] as float8, as scikit-learn's log_loss), and the labeled rows whose
 * label is none of the classes (on class 0's row only).
 */
export function classSums(within: string): Array<[string, string]> {
  const eps = '1e-15::float8';
  return [
    ['n_pos', `count(*) FILTER (WHERE ${within} AND pos)::float8`],
    ['n_pred', `count(*) FILTER (WHERE ${within} AND pred)::float8`],
    ['tp', `count(*) FILTER (WHERE ${within} AND pred AND pos)::float8`],
    [
      'log_loss_sum',
      `coalesce(sum(-ln(greatest(${eps}, least(1::float8 - ${eps}, s)))) FILTER (WHERE ${within} AND pos), 0)`,
    ],
    ['n_unknown', `count(*) FILTER (WHERE ${within} AND unknown)::float8`],
  ];
}
