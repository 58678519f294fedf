import { SqlBuilder, type Statement } from '../../sql/builder.js';
import { groupScoreKey } from '../../sql/group-score-key.js';
import { quoteIdent } from '../../sql/identifiers.js';
import { windowCount } from '../../sql/window-count.js';
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
 * - `narrow`: `joined` with only what the rest reads (the values as text, NULL as '(null)'; the score, NaN as
 *   NULL; and for a classifier one int `f` = ring + W * label, W the number of windows, ring the number of
 *   windows the prediction is in less one, label 2 for none yet). Read twice per column (its counts, its sort),
 *   so it is materialized:
 *   narrower than `joined`, and 1,000,000 rows where the statement expanded to 2,000,000 (column, value) rows
 *   before and hash-joined them to the tops on the text.
 * - `counted`: per column, a hashed aggregate of the rows by (value, cell): the counts (and regression's sums)
 *   every metric needs, by value. A few hundred rows; every count of the result comes from here.
 * - `tops`: per column, its values ranked by predictions in the widest window (every prediction of `joined`),
 *   most first, ties broken by the value in byte order (COLLATE "C", the same on every database); `bucket`:
 *   the first max_segments keep their rank as their number g, the rest take max_segments + 1 ('other'). A real
 *   value spelled 'other' among the tops takes the number of 'other', so it merges with that bucket instead of
 *   duplicating a series (a value spelled '(null)' is NULL's bucket already).
 * - classification, `ranked`: the exact AUC per bucket (Mann-Whitney, ties counted half) needs each bucket's
 *   labeled scored rows in score order, so per column one sort of them and one window aggregate: per window i,
 *   le_i = its negatives scored <= s and lp_i = its positives scored <= s (a RANGE frame: ties included). Summed
 *   over the window's positives (le) and negatives (lp): sum le = #(n < p) + T and sum lp = #(p < n) + T, where
 *   T counts tied pairs, and n_pos * n_neg = #(n < p) + #(p < n) + T, so the Mann-Whitney numerator
 *   #(n < p) + T / 2 = (sum le - sum lp + n_pos * n_neg) / 2: no second window over the peers (the eq_i
 *   running sums this statement had, which needed a second WindowAgg).
 * - The sort key: sorting by (bucket, score) compared the buckets first, equal for almost every pair, and fell
 *   to the second key each time (1.3-2.4 s for 1,000,000 rows against 0.7-1.0 s by the score alone, psql, load
 *   7). So the key is one bigint, g * 2^40 + a monotone image of the score (floor((atan(s) + 2) * 2^37)), then
 *   the score for the rare pairs that image cannot tell apart (0.7-1.1 s). Equal scores of a bucket have
 *   equal keys, so the RANGE peers are exactly the ties. With no PARTITION BY, the running counts go on across
 *   the buckets of a column in order of g: `scored` takes off what the buckets before each one add (its
 *   positives times their negatives, its negatives times their positives).
 * - regression: MAE and RMSE from `counted`'s sums; no sort.
 * Each window is a set of FILTERed sums over the cells; the final SELECT turns a (column, value)'s row into one
 * row per window (LATERAL VALUES).
 *
 * Why this shape (bench/peer-kinds.ts's tables: 1,000,000 predictions, [channel, region], windows [1d, 7d,
 * 14d], max_segments 10; psql with jit off, the statements alternated; CPU of the server process, load 5-9 on 2
 * CPUs, so only the ratios hold): against the statement that expanded every prediction once per column,
 * hash-joined the 2,000,000 rows to the tops on the text, sorted them by (column, rank, score) and ran two
 * window aggregates and 21 FILTERed aggregates over them (6.8-9.2 s of CPU): one sort per column of 1,000,000
 * rows and a hashed count per column, 5.7-6.4 s; the counts moved to `counted` and the sums grouped by
 * cell after a union of the columns, 4.3-4.6 s; one window instead of two and the sorted rows narrowed to
 * (g, f, score), 3.9-4.0 s; the single bigint sort key, 3.7-4.5 s against 6.8-9.2 s for the old statement
 * in the same rounds (0.48x-0.57x). Mapping values to buckets by an array of the tops (array_position) or
 * by a hash join measured the same; the join is plainer. The whole bench at load 5-7: 6,299 ms against the
 * pandas peer's 10,826 ms (0.58x; the old statement 14,807 against 13,383, 1.11x, an hour earlier);
 * bench/README.md has the plan.
 *
 * Parameters: the window lengths (from joinedCte), max_segments, and the threshold (classification only).
 */
export function segmentsStatement(m: ModelContext, spec: SegmentSpec): Statement {
  const b = new SqlBuilder(m.dialect);
  const cte = joinedCte(m, b, spec.columns.map(quoteIdent));
  const max = b.add(spec.maxSegments, 'int');
  const regression = m.task === 'regression';
  const t = regression ? '' : b.add(m.threshold, 'float8');
  const cols = spec.columns.map((_, c) => c);
  const windows = m.windows.map((_, i) => i);
  const ring = `${windows.map((i) => `w${i}::int`).join(' + ')} - 1`;
  // f = ring + W * label code (0 negative, 1 positive, 2 none yet): W, the number of windows, is one more than
  // the largest ring, so f tells both apart for any number of windows.
  const W = windows.length;
  // What `counted` groups by besides the value, and what it sums: for a classifier f (ring and label) and
  // whether the score reaches the threshold (NULL: no score); for regression the ring and whether labeled.
  const cells = regression ? ['ring', 'y IS NOT NULL AS lab'] : ['f', `s >= ${t} AS hit`];
  const sums = regression
    ? [
        'count(*) AS n',
        'count(s) FILTER (WHERE y IS NOT NULL) AS ns',
        'sum(abs(s - y)) AS ae',
        'sum((s - y) * (s - y)) AS se',
      ]
    : ['count(*) AS n'];
  const counted = cols.map(
    (c) => `SELECT ${c} AS si, g${c} AS val, ${cells.join(', ')}, ${sums.join(', ')}
  FROM narrow
  GROUP BY g${c}, ${cells.map((e) => e.replace(/ AS \w+$/, '')).join(', ')}`,
  );
  const values = cols.map((c) => `coalesce(g${c}, '${NULL_SEGMENT}') AS g${c}`).join(', ');
  const head = `WITH ${cte},
narrow AS (
  SELECT ${values}, ${regression ? `s, y, ${ring} AS ring` : `nullif(s, 'NaN'::float8) AS s, ${ring} + ${W} * coalesce(y::int, 2) AS f`}
  FROM joined
),
counted AS (
  ${counted.join('\n  UNION ALL\n  ')}
),
tops AS (
  SELECT si, val, row_number() OVER (PARTITION BY si ORDER BY sum(n) DESC, val COLLATE "C") AS r
  FROM counted
  GROUP BY si, val
),
bucket AS (
  SELECT si, val, CASE WHEN r <= ${max} AND val <> '${OTHER_SEGMENT}' THEN r ELSE ${max} + 1 END AS g
  FROM tops
)`;
  // One row per (column, bucket) with its sums per window (suffixed _i) from the cells of its values.
  const perValue = (names: string[], exprs: (i: number) => string[]) => `per_value AS (
  SELECT k.si, k.g,
         ${windows.flatMap((i) => exprs(i).map((e, n) => `${e} AS ${names[n]}_${i}`)).join(',\n         ')}
  FROM counted c
  JOIN bucket k ON k.si = c.si AND k.val = c.val
  GROUP BY k.si, k.g
)`;
  const result = (
    names: string[],
    from: string,
  ) => `SELECT x.wi, t.si, coalesce(n.val, '${OTHER_SEGMENT}') AS g, ${names.map((n) => `x.${n}`).join(', ')}
FROM ${from}
LEFT JOIN tops n ON n.si = t.si AND n.r = t.g AND t.g <= ${max}
CROSS JOIN LATERAL (VALUES
  ${windows.map((i) => `(${i}, ${names.map((n) => `t.${n}_${i}::float8`).join(', ')})`).join(',\n  ')}
) AS x(wi, ${names.join(', ')})
ORDER BY 1, 2, 3`;

  if (regression) {
    const names = ['n_all', 'n_lab', 'n', 'mae', 'rmse'];
    const body = perValue(names, (i) => {
      const f = `FILTER (WHERE lab AND ring >= ${i})`;
      return [
        `coalesce(sum(n) FILTER (WHERE ring >= ${i}), 0)`,
        `coalesce(sum(n) ${f}, 0)`,
        `coalesce(sum(ns) ${f}, 0)`,
        `sum(ae) ${f} / nullif(sum(ns) ${f}, 0)`,
        `sqrt(sum(se) ${f} / nullif(sum(ns) ${f}, 0))`,
      ];
    });
    return b.statement(`${head},
${body}
${result(names, 'per_value t')}`);
  }

  // f = ring + W * label: a negative of window i has i <= f <= W - 1, a positive W + i <= f <= 2W - 1, an
  // unlabeled prediction f >= 2W; window i holds the rings >= i (windows all end at now(), so they are nested).
  // With the default three windows: 0..2, 3..5, 6 and up.
  const counts = perValue(['n_all', 'n_lab', 'n_pos', 'n_neg', 'tp', 'fp'], (i) => {
    const neg = `f BETWEEN ${i} AND ${W - 1} AND hit IS NOT NULL`;
    const pos = `f BETWEEN ${W + i} AND ${2 * W - 1} AND hit IS NOT NULL`;
    return [
      `coalesce(sum(n) FILTER (WHERE f % ${W} >= ${i}), 0)`,
      `coalesce(sum(n) FILTER (WHERE f % ${W} >= ${i} AND f < ${2 * W}), 0)`,
      `coalesce(sum(n) FILTER (WHERE ${pos}), 0)`,
      `coalesce(sum(n) FILTER (WHERE ${neg}), 0)`,
      `coalesce(sum(n) FILTER (WHERE ${pos} AND hit), 0)`,
      `coalesce(sum(n) FILTER (WHERE ${neg} AND hit), 0)`,
    ];
  });
  const running = windows.flatMap((i) => [
    `${windowCount(`f BETWEEN ${i} AND ${W - 1}`, 'w')} AS le${i}`,
    `${windowCount(`f >= ${W + i}`, 'w')} AS lp${i}`,
  ]);
  const key = groupScoreKey('g', 's');
  // OFFSET 0 keeps the bucket lookup below the sort: computed once per row, and the sorted rows are (g, f, s).
  const ranked = cols.map(
    (c) => `SELECT ${c} AS si, g,
         ${windows.map((i) => `sum(CASE WHEN f >= ${W} THEN le${i} ELSE -lp${i} END) FILTER (WHERE f % ${W} >= ${i}) AS u${i}`).join(', ')}
  FROM (
    SELECT g, f, ${running.join(', ')}
    FROM (
      SELECT k.g, x.f, x.s FROM narrow x JOIN bucket k ON k.si = ${c} AND k.val = x.g${c}
      WHERE x.s IS NOT NULL AND x.f < ${2 * W}
      OFFSET 0
    ) AS x
    WINDOW w AS (ORDER BY ${key}, s)
  ) AS r
  GROUP BY g`,
  );
  // What the buckets before g (in the sort) add to its running counts: their negatives or positives.
  const before = (col: string, i: number) =>
    `(sum(t.${col}_${i}) OVER (PARTITION BY t.si ORDER BY t.g) - t.${col}_${i})`;
  const auc = windows.map(
    (i) =>
      `(coalesce(u.u${i}, 0) - t.n_pos_${i} * ${before('n_neg', i)} + t.n_neg_${i} * ${before('n_pos', i)} + t.n_pos_${i} * t.n_neg_${i}) * 0.5 AS auc_num_${i}`,
  );
  return b.statement(`${head},
${counts},
ranked AS (
  ${ranked.join('\n  UNION ALL\n  ')}
),
scored AS (
  SELECT t.*,
         ${auc.join(',\n         ')}
  FROM per_value t
  LEFT JOIN ranked u ON u.si = t.si AND u.g = t.g
)
${result(['n_all', 'n_lab', 'n_pos', 'n_neg', 'auc_num', 'tp', 'fp'], 'scored t')}`);
}
