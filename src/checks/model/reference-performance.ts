import type { Sample } from '../../metrics/types.js';
import { type Bound, SqlBuilder, type Statement } from '../../sql/builder.js';
import type { Row } from '../../warehouse/types.js';
import type { Check, CheckResult } from '../types.js';
import { toSampleValue } from '../values.js';
import { latestLabelJoin, type ModelContext, modelCheck, valueColumn } from './context.js';
import { modelFamilies } from './families.js';
import { type ModelReference, referenceSource } from './reference.js';

/**
 * The errors a regression model made in its reference window: MAE and RMSE over the labeled predictions
 * predicted in that window, over all versions, with the count they come from. The rules read them as each
 * model's default error threshold (MlwatchModelErrorHigh: the 14-day MAE more than 20 % above this), so a new
 * regression model alerts without a line of its own in the rules.
 *
 * The reference is the model's `reference` (the one prediction drift compares with, docs/drift.md) when it
 * ranges over the predictions table (`{window, offset}` or `{from, to}`). Without one, or when it is another
 * table (whose rows have no labels mlwatch knows of), it is what `{window: <widest window>}` would be: as long
 * as the widest window and ending where it starts, so the two never overlap. Over all versions, on purpose:
 * a version rolled out yesterday has no predictions in the reference, and is judged against what the model
 * achieved before it. Recomputed every `reference_interval` (default 1h): the check's own schedule.
 *
 * Each prediction joins the latest label of its key (latestLabelJoin, as every model metric), and a
 * prediction or label that is NULL is left out, as in the performance check. A reference without a labeled
 * prediction exports the count (0) and no MAE or RMSE: skipped `no_labels`, never NaN or a fake 0.
 */

/** [from, to) of the reference the errors are computed over. */
export function errorReferenceRange(
  m: ModelContext,
  reference: ModelReference | undefined,
): { from: Bound; to: Bound } {
  const own = reference !== undefined && reference.table === undefined ? reference : undefined;
  const src = referenceSource(m, own ?? { window: m.windows[0] as ModelContext['windows'][number] });
  if (src.from === undefined || src.to === undefined) {
    throw new Error(`model ${m.name}: a reference on the predictions table without a range`);
  }
  return { from: src.from, to: src.to };
}

export function referencePerformanceStatement(m: ModelContext, range: { from: Bound; to: Bound }): Statement {
  const p = new SqlBuilder(m.dialect);
  const pr = m.predictions;
  const ts = `p.${pr.timestampSql}`;
  const where = `${ts} >= ${p.at(range.from)} AND ${ts} < ${p.at(range.to)}`;
  const s = `p.${valueColumn(m)}::float8`;
  const text = `WITH ${latestLabelJoin(m, { name: 'refp', columns: `${s} AS s`, identity: [s], where })}
SELECT count(*) AS n, avg(abs(s - y)) AS mae, sqrt(avg((s - y) * (s - y))) AS rmse
FROM refp
WHERE s IS NOT NULL AND y IS NOT NULL`;
  return p.statement(text);
}

export function buildReferencePerformanceCheck(
  m: ModelContext,
  reference: ModelReference | undefined,
  opts: { intervalMs: number },
): Check {
  const range = errorReferenceRange(m, reference);
  const st = referencePerformanceStatement(m, range);
  // On the reference's cadence (reference_interval), not the model's interval: the reference lies a window
  // or more back and hardly changes between two runs, while its scan is as large as the widest window's.
  const check = modelCheck(m, 'reference_performance', { range, sql: st.text }, async (q) =>
    toResult(m, await q.query(st.text, st.params)),
  );
  return { ...check, schedule: { everyMs: opts.intervalMs } };
}

function toResult(m: ModelContext, rows: Row[]): CheckResult {
  const samples: Sample[] = [];
  const skipped: Record<string, number> = {};
  const row = rows[0] ?? {};
  const labels = { model: m.name };
  const n = toSampleValue(row.n, 'n') ?? 0;
  samples.push({ name: modelFamilies.modelReferenceLabeledPredictions.name, labels, value: n });
  for (const [name, col] of [
    [modelFamilies.modelReferenceMae.name, 'mae'],
    [modelFamilies.modelReferenceRmse.name, 'rmse'],
  ] as const) {
    const v = n === 0 ? null : toSampleValue(row[col], col);
    if (v === null || Number.isNaN(v)) {
      const why = n === 0 ? 'no_labels' : 'undefined';
      skipped[why] = (skipped[why] ?? 0) + 1;
    } else samples.push({ name, labels, value: v });
  }
  return { samples, skipped };
}
