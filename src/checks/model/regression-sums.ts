import { ResultBuilder } from '../result.js';
import type { CheckResult } from '../types.js';
import { countsKey } from './classification.js';
import type { ModelContext } from './context.js';
import { modelFamilies } from './families.js';

/**
 * What every regression metric is taken from, for one (window, version): sums over its labeled predictions
 * with a predicted value (e = prediction - label), so that the full statement and the incremental check's
 * merged buckets (incremental/regression-task.ts) give the same numbers and can be compared.
 */
export interface RegressionSums {
  /** Labeled predictions with a predicted value. */
  n: number;
  /** Sums of |e|, e² and e. */
  sumAbs: number;
  sumSq: number;
  sumErr: number;
  /** Non-zero actuals and the sum of |e / y| over them (MAPE); zero actuals, which MAPE leaves out. */
  nNz: number;
  sumApe: number;
  nZero: number;
  /** The labels' mean and their sum of squared deviations from it (R²'s denominator). */
  yMean: number;
  ssTot: number;
  /** The smallest and largest label: R² is undefined when they are equal. */
  yMin: number;
  yMax: number;
}

/** The families a window with labels exports, for the skipped count of one without. */
const FAMILIES = 6;

/**
 * The samples of a regression model from its sums per (window, version) (countsKey), for each version in
 * `versions` (the empty version alone when none was seen, so that empty windows are still counted as skipped)
 * and each window: MAE, RMSE, MAPE (as a ratio) and its excluded zero actuals, bias (mean of prediction -
 * label), and R². A window without labeled predictions exports nothing; R² is not exported when the labels are
 * all equal (its denominator is 0).
 */
export function regressionResult(
  m: ModelContext,
  found: ReadonlyMap<string, RegressionSums>,
  versions: ReadonlySet<string>,
): CheckResult {
  const out = new ResultBuilder();
  const byVersion = m.predictions.versionSql !== undefined;
  const seen = versions.size > 0 ? [...versions].sort() : [''];
  for (const version of seen) {
    m.windows.forEach((w, i) => {
      const labels = { model: m.name, window: w.label, ...(byVersion ? { version } : {}) };
      const put = (name: string, value: number | null) => {
        if (value === null || Number.isNaN(value)) out.skip('undefined');
        else out.add(name, labels, value);
      };
      const c = found.get(countsKey(i, version));
      if (c === undefined || c.n === 0) {
        out.skip('no_labels', FAMILIES);
        return;
      }
      put(modelFamilies.modelMae.name, c.sumAbs / c.n);
      put(modelFamilies.modelRmse.name, Math.sqrt(c.sumSq / c.n));
      // Undefined when every actual is zero, while the excluded count is still known.
      put(modelFamilies.modelMape.name, c.nNz > 0 ? c.sumApe / c.nNz : null);
      put(modelFamilies.modelMapeExcluded.name, c.nZero);
      put(modelFamilies.modelBias.name, c.sumErr / c.n);
      const constant = c.yMin === c.yMax;
      put(modelFamilies.modelR2.name, constant || !(c.ssTot > 0) ? null : 1 - c.sumSq / c.ssTot);
    });
  }
  return out.result();
}
