import type { Row } from '../../warehouse/types.js';
import { ResultBuilder } from '../result.js';
import type { Check, CheckResult } from '../types.js';
import { toSampleValue } from '../values.js';
import { type ModelContext, modelCheck } from './context.js';
import { segmentFamilies } from './families.js';
import { type SegmentSpec, segmentsStatement } from './segments-sql.js';

/**
 * Performance of a model per segment: for each configured column of the predictions table and each of its
 * top max_segments values (by predictions in the widest window; the rest together as `other`, NULL as
 * `(null)`), per window and over all versions: predictions, labeled predictions, and AUC, accuracy and the
 * predicted and actual positive rates (classification) or MAE and RMSE (regression), with the same
 * definitions as the whole-model metrics. Separate families (`mlwatch_model_segment_*`), so the whole-model
 * series keep their meaning under sum() and avg().
 *
 * The values of a column are those seen in the widest window; a narrower window without predictions of one
 * still exports its counts (0) and skips the rest. Undefined metrics are counted in skipped: `no_labels` (no
 * labeled prediction with a score: every metric but the counts), `one_class` (AUC), `undefined` (a NaN
 * regression error). One statement (see segmentsStatement).
 */
export function buildSegmentsCheck(m: ModelContext, spec: SegmentSpec): Check {
  const st = segmentsStatement(m, spec);
  return modelCheck(m, 'segments', { kind: 'segments', spec, sql: st.text }, async (q) =>
    toResult(m, spec, await q.query(st.text, st.params)),
  );
}

function toResult(m: ModelContext, spec: SegmentSpec, rows: Row[]): CheckResult {
  const out = new ResultBuilder();
  const num = (row: Row | undefined, col: string) => (row ? (toSampleValue(row[col], col) ?? 0) : 0);
  const found = new Map<string, Row>();
  // Every (column, value) of the widest window: each is reported in every window.
  const values = new Map<number, Set<string>>();
  for (const row of rows) {
    const wi = num(row, 'wi');
    const si = num(row, 'si');
    const g = String(row.g);
    found.set(`${wi}\u0000${si}\u0000${g}`, row);
    if (wi === 0) {
      const set = values.get(si) ?? new Set<string>();
      set.add(g);
      values.set(si, set);
    }
  }
  spec.columns.forEach((column, si) => {
    for (const g of [...(values.get(si) ?? [])].sort()) {
      m.windows.forEach((w, wi) => {
        const row = found.get(`${wi}\u0000${si}\u0000${g}`);
        const labels = { model: m.name, window: w.label, segment: column, segment_value: g };
        out.add(segmentFamilies.modelSegmentPredictions.name, labels, num(row, 'n_all'));
        out.add(segmentFamilies.modelSegmentLabeledPredictions.name, labels, num(row, 'n_lab'));
        if (m.task === 'regression') putRegression(out, labels, row);
        else putClassification(out, labels, row);
      });
    }
  });
  return out.result();
}

function putClassification(out: ResultBuilder, labels: Record<string, string>, row: Row | undefined): void {
  const num = (col: string) => (row ? (toSampleValue(row[col], col) ?? 0) : 0);
  const nPos = num('n_pos');
  const nNeg = num('n_neg');
  const n = nPos + nNeg;
  if (n === 0) {
    out.skip('no_labels', 4);
    return;
  }
  if (nPos === 0 || nNeg === 0) out.skip('one_class');
  else out.add(segmentFamilies.modelSegmentAuc.name, labels, num('auc_num') / (nPos * nNeg));
  const tp = num('tp');
  const fp = num('fp');
  out.add(segmentFamilies.modelSegmentAccuracy.name, labels, (tp + nNeg - fp) / n);
  out.add(segmentFamilies.modelSegmentPositiveRate.name, { ...labels, source: 'predicted' }, (tp + fp) / n);
  out.add(segmentFamilies.modelSegmentPositiveRate.name, { ...labels, source: 'actual' }, nPos / n);
}

function putRegression(out: ResultBuilder, labels: Record<string, string>, row: Row | undefined): void {
  const num = (col: string) => (row ? toSampleValue(row[col], col) : null);
  if ((num('n') ?? 0) === 0) {
    out.skip('no_labels', 2);
    return;
  }
  for (const [name, col] of [
    [segmentFamilies.modelSegmentMae.name, 'mae'],
    [segmentFamilies.modelSegmentRmse.name, 'rmse'],
  ] as const) {
    const v = num(col);
    // NaN when a predicted value or label is NaN: undefined, as in the whole-model regression check.
    if (v === null || Number.isNaN(v)) out.skip('undefined');
    else out.add(name, labels, v);
  }
}
