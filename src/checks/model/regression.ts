import type { Sample } from '../../metrics/types.js';
import { SqlBuilder } from '../../sql/builder.js';
import type { Row } from '../../warehouse/types.js';
import type { Check, CheckResult } from '../types.js';
import { toSampleValue } from '../values.js';
import { joinedCte, type ModelContext, modelCheck } from './context.js';
import { modelFamilies } from './families.js';
import { buildReferencePerformanceCheck } from './reference-performance.js';
import { column, type ModelTask } from './task.js';

/** `task: regression`: the predicted value and the label are numbers. */
export const regressionTask = {
  predictionFields: { prediction: column('prediction').optional() },
  wrongColumns: (foreign) =>
    `a regression model names its predicted value column as prediction, not ${foreign.join(' or ') || 'score'}`,
  performance: (m) => buildRegressionCheck(m),
  // Every regression model, reference configured or not: its reference-window errors are the default error
  // thresholds of the rules (MlwatchModelErrorHigh, MlwatchModelRmseHigh), so it alerts without a rule edit.
  moreChecks: (m, entry, reference) => [buildReferencePerformanceCheck(m, entry.reference, reference)],
} satisfies ModelTask;

/**
 * Regression metrics of a model over its labeled predictions (a label and a predicted value), per window and
 * per version when configured: MAE, RMSE, MAPE (as a ratio, over non-zero actuals; the zero actuals are
 * counted), bias (mean of prediction - label), and R^2. One statement: every window is a set of aggregates
 * with FILTER over the widest window's rows. The sums behind R^2 come back separately so that R^2 is only
 * exported when the labels vary; a window without labeled predictions exports nothing for it.
 */
export function buildRegressionCheck(m: ModelContext): Check {
  const b = new SqlBuilder(m.dialect);
  const cte = joinedCte(m, b);
  const perWindow = m.windows.flatMap((_, i) => {
    const f = `FILTER (WHERE w${i} AND y IS NOT NULL AND s IS NOT NULL)`;
    const nz = `FILTER (WHERE w${i} AND y IS NOT NULL AND s IS NOT NULL AND y <> 0)`;
    return [
      `count(*) ${f} AS n_${i}`,
      `avg(abs(s - y)) ${f} AS mae_${i}`,
      `sqrt(avg((s - y) * (s - y)) ${f}) AS rmse_${i}`,
      `avg(abs((s - y) / y)) ${nz} AS mape_${i}`,
      `count(*) FILTER (WHERE w${i} AND y = 0 AND s IS NOT NULL) AS mape_excluded_${i}`,
      `avg(s - y) ${f} AS bias_${i}`,
      `sum((s - y) * (s - y)) ${f} AS ss_res_${i}`,
      `var_pop(y) ${f} * count(*) ${f} AS ss_tot_${i}`,
      `min(y) ${f} = max(y) ${f} AS constant_${i}`,
    ];
  });
  const byVersion = m.predictions.versionSql !== undefined;
  const st = b.statement(`WITH ${cte}
SELECT ${byVersion ? 'GROUPING(v) AS all_versions, v' : '1 AS all_versions, NULL::text AS v'}, ${perWindow.join(',\n  ')}
FROM joined
${byVersion ? 'GROUP BY GROUPING SETS ((v), ())' : ''}`);
  return modelCheck(m, 'performance', 'regression', async (q) =>
    toResult(m, await q.query(st.text, st.params)),
  );
}

function toResult(m: ModelContext, rows: Row[]): CheckResult {
  const samples: Sample[] = [];
  const skipped: Record<string, number> = {};
  const skip = (why: string, n = 1) => {
    skipped[why] = (skipped[why] ?? 0) + n;
  };
  const byVersion = m.predictions.versionSql !== undefined;
  const num = (row: Row, col: string) => toSampleValue(row[col], col);
  // With versions, the metrics are per version; the all-versions row only stands in when no version has
  // predictions in the widest window, so that the empty windows are still reported as skipped.
  const perVersion = byVersion ? rows.filter((r) => Number(r.all_versions) !== 1) : rows;
  const used = perVersion.length > 0 ? perVersion : rows;
  for (const row of used) {
    const version = row.v === null || row.v === undefined ? '' : String(row.v);
    const vl: Record<string, string> = byVersion ? { version } : {};
    m.windows.forEach((w, i) => {
      const labels = { model: m.name, window: w.label, ...vl };
      const put = (name: string, value: number | null) => {
        if (value === null || Number.isNaN(value)) skip('undefined');
        else samples.push({ name, labels, value });
      };
      const n = num(row, `n_${i}`) ?? 0;
      if (n === 0) {
        skip('no_labels', 6);
        return;
      }
      put(modelFamilies.modelMae.name, num(row, `mae_${i}`));
      put(modelFamilies.modelRmse.name, num(row, `rmse_${i}`));
      // NULL when every actual is zero: MAPE is undefined then, while the excluded count is still known.
      put(modelFamilies.modelMape.name, num(row, `mape_${i}`));
      put(modelFamilies.modelMapeExcluded.name, num(row, `mape_excluded_${i}`) ?? 0);
      put(modelFamilies.modelBias.name, num(row, `bias_${i}`));
      const ssRes = num(row, `ss_res_${i}`);
      const ssTot = num(row, `ss_tot_${i}`);
      const constant = row[`constant_${i}`] === true || row[`constant_${i}`] === 't';
      put(
        modelFamilies.modelR2.name,
        constant || ssRes === null || ssTot === null || !(ssTot > 0) ? null : 1 - ssRes / ssTot,
      );
    });
  }
  return { samples, skipped };
}
