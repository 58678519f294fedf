import type { Row } from '../../../warehouse/types.js';
import { ResultBuilder } from '../../result.js';
import type { Check, CheckResult } from '../../types.js';
import { toSampleValue } from '../../values.js';
import { countsKey } from '../classification.js';
import { type ModelContext, modelCheck } from '../context.js';
import { multiclassFamilies } from './families.js';
import { multiclassStatement } from './statement.js';
import type { Classes } from './task.js';

/**
 * Performance of a multiclass classifier per window (and version, when configured), with scikit-learn's
 * definitions (checked against scikit-learn itself: scripts/gen-multiclass-oracle.py):
 * - accuracy (accuracy_score) of the predicted class, the first class of highest probability (numpy argmax);
 * - log loss (log_loss, eps 1e-15): the mean of -ln(p of the labeled class), p clipped, not renormalised;
 * - per class, one-vs-rest at the predicted class (precision_recall_fscore_support): precision, recall, F1
 *   (2 TP / (2 TP + FP + FN)) and support (labeled predictions of the class);
 * - F1 averaged over the classes: `macro` (f1_score(average='macro') over the classes that occur as label or
 *   prediction in the window, as scikit-learn does without `labels`: a class neither seen nor predicted has no
 *   F1 and takes no part) and `weighted` (by support);
 * - per class the one-vs-rest ROC AUC of its probability (roc_auc_score(y == class, p_class)), exact with ties
 *   counted half, and their macro average (roc_auc_score(multi_class='ovr', average='macro')), defined only
 *   when every class has its AUC, as in scikit-learn;
 * - the labeled predictions whose label is none of the classes (always exported, 0 included): they take no
 *   part in any metric.
 *
 * Only predictions with a label of one of the classes and a probability for every class count (a NULL or NaN
 * probability leaves the prediction out). An undefined metric is not exported but counted in skipped:
 * `no_labels` (no such prediction in the window: every metric), `undefined` (precision without predictions of
 * the class, recall without labels of it, F1 with neither), `one_class` (a class's AUC when every counted
 * prediction is, or none is, labeled the class; the macro AUC when any class has no AUC).
 */
export function buildMulticlassCheck(m: ModelContext, classes: Classes): Check {
  const st = multiclassStatement(m, classes);
  return modelCheck(m, 'performance', { kind: 'multiclass', classes, sql: st.text }, async (q) => {
    const { values, versions } = multiclassValues(m, classes, await q.query(st.text, st.params));
    return multiclassResult(m, classes, values, versions);
  });
}

/** One class's one-vs-rest sums in one (window, version). */
export interface ClassCounts {
  pos: number;
  aucNum: number;
  pred: number;
  tp: number;
  logLossSum: number;
  unknown: number;
}

export const EMPTY_CLASS: ClassCounts = { pos: 0, aucNum: 0, pred: 0, tp: 0, logLossSum: 0, unknown: 0 };

function classCounts(row: Row, i: number): ClassCounts {
  const num = (col: string) => toSampleValue(row[`${col}_${i}`], `${col}_${i}`) ?? 0;
  return {
    pos: num('n_pos'),
    aucNum: num('auc_num'),
    pred: num('n_pred'),
    tp: num('tp'),
    logLossSum: num('log_loss_sum'),
    unknown: num('n_unknown'),
  };
}

/**
 * The full statement's rows (one per version and class, the windows in columns) as each (window, version)'s
 * sums per class, keyed by countsKey, and every version the statement saw.
 */
export function multiclassValues(
  m: ModelContext,
  classes: Classes,
  rows: Row[],
): { values: Map<string, ClassCounts[]>; versions: Set<string> } {
  const byVersion = m.predictions.versionSql !== undefined;
  const values = new Map<string, ClassCounts[]>();
  const versions = new Set<string>(byVersion ? [] : ['']);
  for (const row of rows) {
    const version = byVersion && row.v !== null && row.v !== undefined ? String(row.v) : '';
    versions.add(version);
    const ci = toSampleValue(row.ci, 'ci') as number;
    m.windows.forEach((_, i) => {
      const key = countsKey(i, version);
      const perClass = values.get(key) ?? classes.map(() => EMPTY_CLASS);
      perClass[ci] = classCounts(row, i);
      values.set(key, perClass);
    });
  }
  return { values, versions };
}

/** Series of a (window, version) besides the per-class ones: accuracy, log loss, macro and weighted F1, macro AUC. */
const MODEL_SERIES = 5;
/** Per class: precision, recall, F1, support, AUC. */
const CLASS_SERIES = 5;

/**
 * The samples of a multiclass model from its sums per (window, version) (countsKey), for each version in
 * `versions` and each window. A version present in the widest window but without labels in a narrower one is
 * reported there as skipped, like a window without predictions. The AUCs come from `auc`, the sums of the last
 * full recomputation (the same map unless the check is incremental: incremental/check.ts); a (window,
 * version) it does not hold yet has its AUCs skipped as `awaiting_recompute`.
 */
export function multiclassResult(
  m: ModelContext,
  classes: Classes,
  found: ReadonlyMap<string, readonly ClassCounts[]>,
  versions: ReadonlySet<string>,
  auc: ReadonlyMap<string, readonly ClassCounts[]> = found,
): CheckResult {
  const out = new ResultBuilder();
  const byVersion = m.predictions.versionSql !== undefined;
  for (const version of [...versions].sort()) {
    m.windows.forEach((w, i) => {
      const perClass = found.get(countsKey(i, version)) ?? classes.map(() => EMPTY_CLASS);
      const full = auc.get(countsKey(i, version));
      const labels: Record<string, string> = {
        model: m.name,
        window: w.label,
        ...(byVersion ? { version } : {}),
      };
      const put = (name: string, value: number, extra: Record<string, string> = {}) =>
        out.add(name, { ...labels, ...extra }, value);
      put(
        multiclassFamilies.modelUnknownClassPredictions.name,
        perClass.reduce((a, c) => a + c.unknown, 0),
      );
      // Each counted prediction is labeled exactly one class: n is the sum of the supports.
      const n = perClass.reduce((a, c) => a + c.pos, 0);
      if (n === 0) {
        out.skip('no_labels', MODEL_SERIES + CLASS_SERIES * classes.length);
        return;
      }
      put(multiclassFamilies.modelMulticlassAccuracy.name, perClass.reduce((a, c) => a + c.tp, 0) / n);
      put(multiclassFamilies.modelMulticlassLogLoss.name, perClass.reduce((a, c) => a + c.logLossSum, 0) / n);
      const f1s: number[] = [];
      let weighted = 0;
      const aucs: number[] = [];
      // The AUCs' counts are the full run's: its every counted prediction is a positive or a negative of each class.
      const fullN = full?.reduce((a, c) => a + c.pos, 0) ?? 0;
      classes.forEach((cls, ci) => {
        const c = perClass[ci] as ClassCounts;
        const at = { class: cls.name };
        if (c.pred > 0) put(multiclassFamilies.modelClassPrecision.name, c.tp / c.pred, at);
        else out.skip('undefined');
        if (c.pos > 0) put(multiclassFamilies.modelClassRecall.name, c.tp / c.pos, at);
        else out.skip('undefined');
        // 2 TP / (2 TP + FP + FN) = 2 TP / (predicted + labeled): 0 when no prediction of the class is right,
        // undefined only when the class is neither a label nor a prediction.
        if (c.pred + c.pos > 0) {
          const f1 = (2 * c.tp) / (c.pred + c.pos);
          put(multiclassFamilies.modelClassF1.name, f1, at);
          f1s.push(f1);
          weighted += c.pos * f1;
        } else out.skip('undefined');
        put(multiclassFamilies.modelClassSupport.name, c.pos, at);
        const a = full?.[ci];
        if (a === undefined || fullN === 0) out.skip('awaiting_recompute');
        else if (a.pos > 0 && fullN - a.pos > 0) {
          const value = a.aucNum / (a.pos * (fullN - a.pos));
          put(multiclassFamilies.modelClassAuc.name, value, at);
          aucs.push(value);
        } else out.skip('one_class');
      });
      put(multiclassFamilies.modelMulticlassF1.name, f1s.reduce((a, f) => a + f, 0) / f1s.length, {
        average: 'macro',
      });
      put(multiclassFamilies.modelMulticlassF1.name, weighted / n, { average: 'weighted' });
      if (aucs.length === classes.length)
        put(multiclassFamilies.modelMulticlassAuc.name, aucs.reduce((a, x) => a + x, 0) / aucs.length, {
          average: 'macro',
        });
      else out.skip(full === undefined || fullN === 0 ? 'awaiting_recompute' : 'one_class');
    });
  }
  return out.result();
}
