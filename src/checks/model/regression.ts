import { SqlBuilder, type Statement } from '../../sql/builder.js';
import type { Row } from '../../warehouse/types.js';
import { incrementalOptions } from '../buckets/config.js';
import type { Check } from '../types.js';
import { toSampleValue } from '../values.js';
import { countsKey } from './classification.js';
import { joinedCte, type ModelContext, modelCheck } from './context.js';
import { buildIncrementalCheck } from './incremental/check.js';
import { regressionIncremental } from './incremental/regression-task.js';
import { buildReferencePerformanceCheck } from './reference-performance.js';
import { type RegressionSums, regressionResult } from './regression-sums.js';
import { column, type ModelTask } from './task.js';

/** `task: regression`: the predicted value and the label are numbers. */
export const regressionTask = {
  predictionFields: { prediction: column('prediction').optional() },
  wrongColumns: (foreign) =>
    `a regression model names its predicted value column as prediction, not ${foreign.join(' or ') || 'score'}`,
  performance: (m, entry) =>
    entry.incremental === undefined
      ? buildRegressionCheck(m)
      : buildIncrementalCheck(m, incrementalOptions(entry.incremental), regressionIncremental(m)),
  // Every regression model, reference configured or not: its reference-window errors are the default error
  // thresholds of the rules (MlwatchModelErrorHigh, MlwatchModelRmseHigh), so it alerts without a rule edit.
  moreChecks: (m, entry, reference) => [buildReferencePerformanceCheck(m, entry.reference, reference)],
} satisfies ModelTask;

/**
 * Regression metrics of a model over its labeled predictions (a label and a predicted value), per window and
 * per version when configured: MAE, RMSE, MAPE (as a ratio, over non-zero actuals; the zero actuals are
 * counted), bias (mean of prediction - label), and R^2 (regressionResult). One statement: every window is a set
 * of aggregates with FILTER over the widest window's rows, returning the sums the metrics are taken from
 * (RegressionSums), which the incremental check keeps per time bucket too; a window without labeled
 * predictions exports nothing for it.
 */
export function buildRegressionCheck(m: ModelContext): Check {
  const st = regressionStatement(m);
  return modelCheck(m, 'performance', 'regression', async (q) => {
    const { values, versions } = regressionValues(m, await q.query(st.text, st.params));
    return regressionResult(m, values, versions);
  });
}

/** The full statement: one row per version (and one for all versions), each window's sums as columns. */
export function regressionStatement(m: ModelContext): Statement {
  const b = new SqlBuilder(m.dialect);
  const cte = joinedCte(m, b);
  const perWindow = m.windows.flatMap((_, i) => {
    const f = `FILTER (WHERE w${i} AND y IS NOT NULL AND s IS NOT NULL)`;
    const nz = `FILTER (WHERE w${i} AND y IS NOT NULL AND s IS NOT NULL AND y <> 0)`;
    return [
      `count(*) ${f} AS n_${i}`,
      `sum(abs(s - y)) ${f} AS sum_abs_${i}`,
      `sum((s - y) * (s - y)) ${f} AS sum_sq_${i}`,
      `sum(s - y) ${f} AS sum_err_${i}`,
      `count(*) ${nz} AS n_nz_${i}`,
      `sum(abs((s - y) / y)) ${nz} AS sum_ape_${i}`,
      `count(*) FILTER (WHERE w${i} AND y = 0 AND s IS NOT NULL) AS n_zero_${i}`,
      `avg(y) ${f} AS y_mean_${i}`,
      `var_pop(y) ${f} * count(*) ${f} AS ss_tot_${i}`,
      `min(y) ${f} AS y_min_${i}`,
      `max(y) ${f} AS y_max_${i}`,
    ];
  });
  const byVersion = m.predictions.versionSql !== undefined;
  return b.statement(`WITH ${cte}
SELECT ${byVersion ? 'GROUPING(v) AS all_versions, v' : '1 AS all_versions, NULL::text AS v'}, ${perWindow.join(',\n  ')}
FROM joined
${byVersion ? 'GROUP BY GROUPING SETS ((v), ())' : ''}`);
}

/**
 * The full statement's rows as sums per (window, version) (countsKey) and the versions seen. With versions, the
 * all-versions row is left out: the metrics are per version, and with no version in the widest window there is
 * nothing to report but skipped windows (regressionResult).
 */
export function regressionValues(
  m: ModelContext,
  rows: Row[],
): { values: Map<string, RegressionSums>; versions: Set<string> } {
  const byVersion = m.predictions.versionSql !== undefined;
  const values = new Map<string, RegressionSums>();
  const versions = new Set<string>();
  for (const row of rows) {
    if (byVersion && Number(row.all_versions) === 1) continue;
    const version = row.v === null || row.v === undefined ? '' : String(row.v);
    versions.add(version);
    m.windows.forEach((_, i) => {
      const num = (col: string) => toSampleValue(row[`${col}_${i}`], col) ?? 0;
      const n = num('n');
      if (n === 0) return;
      values.set(countsKey(i, version), {
        n,
        sumAbs: num('sum_abs'),
        sumSq: num('sum_sq'),
        sumErr: num('sum_err'),
        nNz: num('n_nz'),
        sumApe: num('sum_ape'),
        nZero: num('n_zero'),
        yMean: num('y_mean'),
        ssTot: num('ss_tot'),
        yMin: num('y_min'),
        yMax: num('y_max'),
      });
    });
  }
  return { values, versions };
}
