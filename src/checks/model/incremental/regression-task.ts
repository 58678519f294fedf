import { countsKey } from '../classification.js';
import type { ModelContext } from '../context.js';
import { regressionStatement, regressionValues } from '../regression.js';
import { type RegressionSums, regressionResult } from '../regression-sums.js';
import { close, type IncrementalTask, predictedValue } from './task.js';

/**
 * A regression model's incremental performance check. Every metric is a ratio of sums but R², whose
 * denominator is the labels' sum of squared deviations from their mean: kept as the sums of (y - K) and
 * (y - K)² for one offset K, taken as sum2 - sum1² / n after merging. With K near the mean that difference
 * keeps its precision; about zero it would lose it (catastrophic cancellation) for labels far from 0 that vary
 * little, such as timestamps. K is the widest window's mean label at the full run the kept buckets start from
 * (check.ts, shiftFrom): when the labels drift away from it far enough to cost precision, the reconciliation
 * disagrees, and the buckets are summed again about the new mean.
 *
 * R² is not exported when every label is equal, which the full statement tells by min = max. A minimum and a
 * maximum add up (the smaller, the larger) but cannot be taken away: when a prediction's label changes (not a
 * first label, which only adds), the kept minimum and maximum still count its old label. They can only be
 * wider than the labels' then, which the reconciliation allows (agree); what it does not allow is a different
 * answer to "all equal?". So R² may be exported where the full statement would not only if the labels became
 * all equal by such a change, until the next full run, which exports the exact values and has the buckets
 * summed again.
 */
const NAMES = [
  'n',
  'sum_abs',
  'sum_sq',
  'sum_err',
  'n_nz',
  'sum_ape',
  'n_zero',
  'shifted_sum',
  'shifted_sq',
  'y_min',
  'y_max',
] as const;
const MIN = NAMES.indexOf('y_min');
const MAX = NAMES.indexOf('y_max');

export function regressionIncremental(m: ModelContext): IncrementalTask<RegressionSums> {
  const at = (name: (typeof NAMES)[number]) => NAMES.indexOf(name);
  return {
    kind: 'regression',
    names: NAMES,
    // Over the rows of bin 0 (a label and a predicted value), the only ones any metric reads.
    sums: (b, shift) => {
      const k = b.add(shift, 'float8');
      return [
        ['n', 'count(y)::float8'],
        ['sum_abs', 'coalesce(sum(abs(s - y)), 0)'],
        ['sum_sq', 'coalesce(sum((s - y) * (s - y)), 0)'],
        ['sum_err', 'coalesce(sum(s - y), 0)'],
        ['n_nz', 'count(*) FILTER (WHERE y <> 0)::float8'],
        ['sum_ape', 'coalesce(sum(abs((s - y) / y)) FILTER (WHERE y <> 0), 0)'],
        ['n_zero', 'count(*) FILTER (WHERE y = 0)::float8'],
        ['shifted_sum', `coalesce(sum(y - ${k}), 0)`],
        ['shifted_sq', `coalesce(sum((y - ${k}) * (y - ${k})), 0)`],
        ['y_min', 'min(y)'],
        ['y_max', 'max(y)'],
      ];
    },
    bin: 'CASE WHEN s IS NOT NULL AND y IS NOT NULL THEN 0 END',
    predicted: predictedValue(m),
    // A NaN predicted value counts, as in the full statement (its metrics are then NaN, and not exported).
    rows: (_, from, keep) => `SELECT ${keep.join(', ')}, s, y FROM ${from}`,
    empty: NAMES.map((_, j) =>
      j === MIN ? Number.POSITIVE_INFINITY : j === MAX ? Number.NEGATIVE_INFINITY : 0,
    ),
    combine(into, x, sign) {
      x.forEach((v, j) => {
        if (j === MIN) into[j] = sign === 1 ? Math.min(into[j] as number, v) : (into[j] as number);
        else if (j === MAX) into[j] = sign === 1 ? Math.max(into[j] as number, v) : (into[j] as number);
        else into[j] = (into[j] as number) + sign * v;
      });
    },
    value(bins, shift) {
      const s = bins.get(0);
      if (s === undefined) return { ...EMPTY_SUMS };
      const get = (name: (typeof NAMES)[number]) => s[at(name)] as number;
      const n = get('n');
      const s1 = get('shifted_sum');
      return {
        n,
        sumAbs: get('sum_abs'),
        sumSq: get('sum_sq'),
        sumErr: get('sum_err'),
        nNz: get('n_nz'),
        sumApe: get('sum_ape'),
        nZero: get('n_zero'),
        yMean: n > 0 ? shift + s1 / n : 0,
        // Never below 0: rounding alone could take it there when every label is about equal.
        ssTot: n > 0 ? Math.max(0, get('shifted_sq') - (s1 * s1) / n) : 0,
        yMin: get('y_min'),
        yMax: get('y_max'),
      };
    },
    full: regressionStatement(m),
    fullValues: (rows) => regressionValues(m, rows),
    agree(merged, exact) {
      for (const key of new Set([...merged.keys(), ...exact.keys()])) {
        const a = merged.get(key) ?? EMPTY_SUMS;
        const b = exact.get(key) ?? EMPTY_SUMS;
        if (a.n === 0 && b.n === 0) continue;
        for (const f of SUMMED) if (!close(a[f], b[f])) return false;
        // The kept extremes may be wider than the labels' after a label changed (above); what R² reads of them,
        // whether the labels are all equal, must agree, and a narrower range would mean labels missed.
        if (a.yMin > b.yMin || a.yMax < b.yMax || (a.yMin === a.yMax) !== (b.yMin === b.yMax)) return false;
      }
      return true;
    },
    shiftFrom(exact) {
      // The widest window (index 0) over every version, weighted by its labeled predictions.
      let n = 0;
      let sum = 0;
      const widest = countsKey(0, '');
      for (const [key, v] of exact) {
        if (!key.startsWith(widest) || !Number.isFinite(v.yMean)) continue;
        n += v.n;
        sum += v.n * v.yMean;
      }
      return n > 0 ? sum / n : 0;
    },
    result: (values, versions) => regressionResult(m, values, versions),
  };
}

/** What the reconciliation compares within rounding: everything but the extremes. */
const SUMMED = ['n', 'sumAbs', 'sumSq', 'sumErr', 'nNz', 'sumApe', 'nZero', 'yMean', 'ssTot'] as const;

const EMPTY_SUMS: RegressionSums = {
  n: 0,
  sumAbs: 0,
  sumSq: 0,
  sumErr: 0,
  nNz: 0,
  sumApe: 0,
  nZero: 0,
  yMean: 0,
  ssTot: 0,
  yMin: 0,
  yMax: 0,
};
