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
  return modelCheck(m, 'segments', { kind: 'segments', spec, sql: st.text }, async (q) => {
    const table = segmentTable(await q.query(st.text, st.params));
    return segmentsResult(m, spec, table, table);
  });
}

/**
 * What the segments check exports, per (window, column, reported value): the full statement's figures by name
 * (n_all, n_lab, then n_pos, n_neg, auc_num, tp, fp for a classifier or n, mae, rmse for regression).
 */
export interface SegmentTable {
  /** Per column index, the values reported in every window: those of the widest window. */
  values: Map<number, Set<string>>;
  /** Per segmentKey(wi, si, g). */
  rows: Map<string, Row>;
}

export const segmentKey = (wi: number, si: number, g: string) => `${wi}\u0000${si}\u0000${g}`;

/** The full statement's rows (segmentsStatement) as a table. */
export function segmentTable(rows: Row[]): SegmentTable {
  const num = (row: Row, col: string) => toSampleValue(row[col], col) ?? 0;
  const table: SegmentTable = { values: new Map(), rows: new Map() };
  for (const row of rows) {
    const wi = num(row, 'wi');
    const si = num(row, 'si');
    const g = String(row.g);
    table.rows.set(segmentKey(wi, si, g), row);
    if (wi === 0) {
      const set = table.values.get(si) ?? new Set<string>();
      set.add(g);
      table.values.set(si, set);
    }
  }
  return table;
}

/**
 * The samples of `table`. The AUCs come from `aucs`, a full statement's table: `table` itself, or the last full
 * recomputation's where `table` was merged from kept counts (incremental, which cannot merge an AUC); a
 * (window, column, value) the last one did not report is skipped as `awaiting_recompute`.
 */
export function segmentsResult(
  m: ModelContext,
  spec: SegmentSpec,
  table: SegmentTable,
  aucs: SegmentTable,
): CheckResult {
  const out = new ResultBuilder();
  const num = (row: Row | undefined, col: string) => (row ? (toSampleValue(row[col], col) ?? 0) : 0);
  spec.columns.forEach((column, si) => {
    for (const g of [...(table.values.get(si) ?? [])].sort()) {
      m.windows.forEach((w, wi) => {
        const key = segmentKey(wi, si, g);
        const row = table.rows.get(key);
        const labels = { model: m.name, window: w.label, segment: column, segment_value: g };
        out.add(segmentFamilies.modelSegmentPredictions.name, labels, num(row, 'n_all'));
        out.add(segmentFamilies.modelSegmentLabeledPredictions.name, labels, num(row, 'n_lab'));
        if (m.task === 'regression') putRegression(out, labels, row);
        else putClassification(out, labels, row, aucs.rows.get(key));
      });
    }
  });
  return out.result();
}

function putClassification(
  out: ResultBuilder,
  labels: Record<string, string>,
  row: Row | undefined,
  aucRow: Row | undefined,
): void {
  const num = (r: Row | undefined, col: string) => (r ? (toSampleValue(r[col], col) ?? 0) : 0);
  const nPos = num(row, 'n_pos');
  const nNeg = num(row, 'n_neg');
  const n = nPos + nNeg;
  if (n === 0) {
    out.skip('no_labels', 4);
    return;
  }
  // The AUC's own counts: the row's, or the last full recomputation's (aucRow) where the row was merged.
  const aPos = num(aucRow, 'n_pos');
  const aNeg = num(aucRow, 'n_neg');
  if (nPos === 0 || nNeg === 0) out.skip('one_class');
  else if (aucRow === undefined) out.skip('awaiting_recompute');
  else if (aPos === 0 || aNeg === 0) out.skip('one_class');
  else out.add(segmentFamilies.modelSegmentAuc.name, labels, num(aucRow, 'auc_num') / (aPos * aNeg));
  const tp = num(row, 'tp');
  const fp = num(row, 'fp');
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
