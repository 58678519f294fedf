import type { Sample } from '../../metrics/types.js';
import type { Row } from '../../warehouse/types.js';
import { incrementalOptions } from '../buckets/config.js';
import type { Check, CheckResult } from '../types.js';
import { toSampleValue } from '../values.js';
import { classificationStatement, hanleyMcNeilStderr } from './classification-sql.js';
import { type ModelContext, modelCheck } from './context.js';
import { modelFamilies } from './families.js';
import { buildIncrementalCheck } from './incremental/check.js';
import { classificationIncremental } from './incremental/classification-task.js';
import { column, type ModelTask } from './task.js';

/** `task: binary_classification`: the score column is P(positive); the label a boolean (or 0/1, or their text). */
export const binaryClassificationTask = {
  predictionFields: { score: column('score').optional() },
  wrongColumns: (foreign) =>
    `a binary_classification model names its score column (P(positive)) as score, not ${foreign.join(' or ') || 'prediction'}`,
  performance: (m, entry) =>
    entry.incremental === undefined
      ? buildClassificationCheck(m)
      : buildIncrementalCheck(m, incrementalOptions(entry.incremental), classificationIncremental(m)),
} satisfies ModelTask;

/**
 * Performance of a binary classifier per window (and version, when configured): AUC and its Hanley-McNeil
 * standard error, log loss, Brier score, accuracy / precision / recall / F1 at the threshold (positive iff
 * score >= threshold), expected calibration error over 10 equal-width bins, and the predicted and actual
 * positive rates. One statement (see classificationStatement); the ratios are taken here.
 *
 * Only labeled predictions with a score count; a prediction whose score is NULL or NaN is left out of every
 * metric (it can be neither ranked nor thresholded). With versions configured every series is per version (version ''
 * for predictions without one), as the families carry the version label then. A metric that is undefined is
 * not exported but counted in skipped: `no_labels` (no labeled, scored predictions: every metric),
 * `one_class` (AUC and its stderr with only positives or only negatives), `undefined` (precision without
 * predicted positives, recall without actual positives, F1 when either is undefined or both are 0).
 *
 * Estimated metrics, for the part of a window whose labels have not arrived: over the UNLABELED scored
 * predictions, accuracy, precision, recall and F1 from the confusion counts expected if the scores are
 * calibrated (P(y = 1 | score s) = s; s clamped to [0, 1]): expected TP = sum of s and FP = sum of 1 - s over
 * predicted positives, FN = sum of s and TN = sum of 1 - s over predicted negatives. Their count is always
 * exported (0 included); the rest is counted in skipped when undefined: `no_unlabeled` (no unlabeled, scored
 * predictions: all four), `estimate_undefined` (precision without predicted positives, recall when expected
 * TP + FN is 0, F1 when either is undefined or both are 0). From the same statement, not a second scan.
 */
export function buildClassificationCheck(m: ModelContext): Check {
  const st = classificationStatement(m);
  return modelCheck(m, 'performance', { kind: 'classification', sql: st.text }, async (q) =>
    toResult(m, await q.query(st.text, st.params)),
  );
}

/** The sums of one (window, version), as the full statement returns them and the incremental check merges them. */
export interface Counts {
  n: number;
  nPos: number;
  nNeg: number;
  aucNum: number;
  logLossSum: number;
  brierSum: number;
  tp: number;
  fp: number;
  calibrationNum: number;
  /** Unlabeled scored predictions, predicted positives among them, and their expected confusion counts. */
  nUnl: number;
  ePp: number;
  eTp: number;
  eFp: number;
  eFn: number;
  eTn: number;
}

export const EMPTY: Counts = {
  n: 0,
  nPos: 0,
  nNeg: 0,
  aucNum: 0,
  logLossSum: 0,
  brierSum: 0,
  tp: 0,
  fp: 0,
  calibrationNum: 0,
  nUnl: 0,
  ePp: 0,
  eTp: 0,
  eFp: 0,
  eFn: 0,
  eTn: 0,
};

/** A row of classificationStatement (or any row with its column names) as Counts. */
export function countsOf(row: Row): Counts {
  const num = (col: string) => toSampleValue(row[col], col) ?? 0;
  return {
    n: num('n'),
    nPos: num('n_pos'),
    nNeg: num('n_neg'),
    aucNum: num('auc_num'),
    logLossSum: num('log_loss_sum'),
    brierSum: num('brier_sum'),
    tp: num('tp'),
    fp: num('fp'),
    calibrationNum: num('calibration_num'),
    nUnl: num('n_unl'),
    ePp: num('e_pp'),
    eTp: num('e_tp'),
    eFp: num('e_fp'),
    eFn: num('e_fn'),
    eTn: num('e_tn'),
  };
}

function toResult(m: ModelContext, rows: Row[]): CheckResult {
  const byVersion = m.predictions.versionSql !== undefined;
  const versionOf = (row: Row) => (row.v === null || row.v === undefined ? '' : String(row.v));
  // Every (window, version) the statement saw; a version present in the widest window but absent (or
  // unlabeled) in a narrower one is reported there as skipped, like a window without predictions at all.
  const found = new Map<string, Counts>();
  const versions = new Set<string>(byVersion ? [] : ['']);
  for (const row of rows) {
    const version = byVersion ? versionOf(row) : '';
    versions.add(version);
    found.set(countsKey(Number(toSampleValue(row.wi, 'wi')), version), countsOf(row));
  }
  return classificationResult(m, found, versions);
}

/** The key of one (window index, version) in a map of Counts; version '' when the model has none. */
export function countsKey(window: number, version: string): string {
  return `${window}\u0000${version}`;
}

/**
 * The samples of a binary classifier from its Counts per (window, version) (countsKey), for each version in
 * `versions` and each window. The AUC and its standard error come from `auc`, the Counts of the last full
 * recomputation (the same map unless the check is incremental: incremental/check.ts); a (window, version) it
 * does not hold yet is skipped as `awaiting_recompute`.
 */
export function classificationResult(
  m: ModelContext,
  found: ReadonlyMap<string, Counts>,
  versions: ReadonlySet<string>,
  auc: ReadonlyMap<string, Counts> = found,
): CheckResult {
  const samples: Sample[] = [];
  const skipped: Record<string, number> = {};
  const skip = (why: string, n = 1) => {
    skipped[why] = (skipped[why] ?? 0) + n;
  };
  const byVersion = m.predictions.versionSql !== undefined;
  const families = 11;
  for (const version of [...versions].sort()) {
    m.windows.forEach((w, i) => {
      const c = found.get(countsKey(i, version)) ?? EMPTY;
      const a = auc.get(countsKey(i, version));
      const labels: Record<string, string> = {
        model: m.name,
        window: w.label,
        ...(byVersion ? { version } : {}),
      };
      const put = (name: string, value: number, extra: Record<string, string> = {}) =>
        samples.push({ name, labels: { ...labels, ...extra }, value });
      putEstimates(c, put, skip);
      if (c.n === 0) {
        skip('no_labels', families);
        return;
      }
      if (a === undefined || a.n === 0) {
        skip('awaiting_recompute', 2);
      } else if (a.nPos === 0 || a.nNeg === 0) {
        skip('one_class', 2);
      } else {
        const value = a.aucNum / (a.nPos * a.nNeg);
        put(modelFamilies.modelAuc.name, value);
        put(modelFamilies.modelAucStderr.name, hanleyMcNeilStderr(value, a.nPos, a.nNeg));
      }
      put(modelFamilies.modelLogLoss.name, c.logLossSum / c.n);
      put(modelFamilies.modelBrierScore.name, c.brierSum / c.n);
      const tn = c.nNeg - c.fp;
      put(modelFamilies.modelAccuracy.name, (c.tp + tn) / c.n);
      const predictedPos = c.tp + c.fp;
      const precision = predictedPos > 0 ? c.tp / predictedPos : undefined;
      const recall = c.nPos > 0 ? c.tp / c.nPos : undefined;
      if (precision === undefined) skip('undefined');
      else put(modelFamilies.modelPrecision.name, precision);
      if (recall === undefined) skip('undefined');
      else put(modelFamilies.modelRecall.name, recall);
      if (precision === undefined || recall === undefined || precision + recall === 0) skip('undefined');
      else put(modelFamilies.modelF1.name, (2 * precision * recall) / (precision + recall));
      put(modelFamilies.modelCalibrationError.name, c.calibrationNum / c.n);
      put(modelFamilies.modelPositiveRate.name, predictedPos / c.n, { source: 'predicted' });
      put(modelFamilies.modelPositiveRate.name, c.nPos / c.n, { source: 'actual' });
    });
  }
  return { samples, skipped };
}

/**
 * The estimated metrics of the unlabeled scored predictions of one (window, version): the count always (0
 * included), and accuracy, precision, recall and F1 from the expected confusion counts when defined.
 */
function putEstimates(
  c: Counts,
  put: (name: string, value: number) => void,
  skip: (why: string, n?: number) => void,
): void {
  put(modelFamilies.modelUnlabeledPredictions.name, c.nUnl);
  if (c.nUnl === 0) {
    skip('no_unlabeled', 4);
    return;
  }
  put(modelFamilies.modelEstimatedAccuracy.name, Math.min(1, Math.max(0, (c.eTp + c.eTn) / c.nUnl)));
  const precision = c.ePp > 0 ? c.eTp / (c.eTp + c.eFp) : undefined;
  const recall = c.eTp + c.eFn > 0 ? c.eTp / (c.eTp + c.eFn) : undefined;
  if (precision === undefined) skip('estimate_undefined');
  else put(modelFamilies.modelEstimatedPrecision.name, precision);
  if (recall === undefined) skip('estimate_undefined');
  else put(modelFamilies.modelEstimatedRecall.name, recall);
  if (precision === undefined || recall === undefined || precision + recall === 0) skip('estimate_undefined');
  else put(modelFamilies.modelEstimatedF1.name, (2 * precision * recall) / (precision + recall));
}
