import type { Sample } from '../../metrics/types.js';
import { SqlBuilder, type Statement } from '../../sql/builder.js';
import type { Row } from '../../warehouse/types.js';
import type { Check, CheckResult } from '../types.js';
import { toSampleValue } from '../values.js';
import { joinedCte, type ModelContext, modelCheck } from './context.js';
import { modelFamilies } from './families.js';

/**
 * Labels of a model: predictions and labeled predictions per window (and version), label coverage, label delay
 * percentiles (label `percentile`: Prometheus reserves `quantile` for summaries), label leakage (a label stamped
 * before its prediction), which versions are serving, and which version each one followed (by first prediction
 * in the widest window). One statement: GROUPING SETS give the per-version counts and the all-versions figures
 * from the same scan.
 */
/** The labels check, every window read in full on every run (incremental/labels-task.ts keeps counts per bucket). */
export function buildLabelsCheck(m: ModelContext): Check {
  const st = labelsStatement(m);
  return modelCheck(m, 'labels', 'labels', async (q) => labelsResult(m, await q.query(st.text, st.params)));
}

/**
 * Every window's counts, leakage and delay percentiles, per version and over all versions (all_versions 1), and
 * each version's first prediction in the widest window (first_pt): columns n_<i>, labeled_<i>, leak_<i>,
 * d50_<i>, d95_<i> for window i.
 */
export function labelsStatement(m: ModelContext): Statement {
  const b = new SqlBuilder(m.dialect);
  const cte = joinedCte(m, b);
  // A label row whose value is NULL is not a label: delay and leakage count labeled predictions, like coverage.
  const perWindow = m.windows.flatMap((_, i) => [
    `count(*) FILTER (WHERE w${i}) AS n_${i}`,
    `count(*) FILTER (WHERE w${i} AND y IS NOT NULL) AS labeled_${i}`,
    `count(*) FILTER (WHERE w${i} AND y IS NOT NULL AND lt < pt) AS leak_${i}`,
    // Both percentiles from one aggregate, subscripted outside: PostgreSQL sorts each ordered-set aggregate's
    // rows on its own, even over the same rows.
    `percentile_cont(${b.add([0.5, 0.95], 'float8[]')}) WITHIN GROUP (ORDER BY ${m.dialect.secondsBetween('lt', 'pt')}) FILTER (WHERE w${i} AND y IS NOT NULL) AS d_${i}`,
  ]);
  const outputs = m.windows.flatMap((_, i) => [
    `n_${i}`,
    `labeled_${i}`,
    `leak_${i}`,
    `d_${i}[1] AS d50_${i}`,
    `d_${i}[2] AS d95_${i}`,
  ]);
  const byVersion = m.predictions.versionSql !== undefined;
  // The first prediction in the widest window (every row of `joined` is in it): orders the versions.
  const st = b.statement(`WITH ${cte}
SELECT all_versions, v, ${outputs.join(', ')}, first_pt
FROM (
  SELECT ${byVersion ? 'GROUPING(v) AS all_versions, v' : '1 AS all_versions, NULL::text AS v'}, ${perWindow.join(',\n    ')},
    ${m.dialect.epochSeconds('min(pt)')} AS first_pt
  FROM joined
  ${byVersion ? 'GROUP BY GROUPING SETS ((v), ())' : ''}
) per_version`);
  return st;
}

/** The samples of labelsStatement's rows (or the same rows from kept sums: incremental/labels-task.ts). */
export function labelsResult(m: ModelContext, rows: Row[]): CheckResult {
  const samples: Sample[] = [];
  const skipped: Record<string, number> = {};
  const skip = (why: string) => {
    skipped[why] = (skipped[why] ?? 0) + 1;
  };
  const model = m.name;
  const byVersion = m.predictions.versionSql !== undefined;
  const num = (row: Row, col: string) => toSampleValue(row[col], col);
  const serving: { version: string; first: number }[] = [];
  for (const row of rows) {
    const overall = Number(row.all_versions) === 1;
    const version = row.v === null || row.v === undefined ? '' : String(row.v);
    const vl: Record<string, string> = byVersion ? { version } : {};
    if (!overall || !byVersion) {
      // Counts per version (or for the model, when versions are not configured).
      m.windows.forEach((w, i) => {
        const n = num(row, `n_${i}`) ?? 0;
        const labeled = num(row, `labeled_${i}`) ?? 0;
        const labels = { model, window: w.label, ...vl };
        samples.push({ name: modelFamilies.modelPredictions.name, labels, value: n });
        samples.push({ name: modelFamilies.modelLabeledPredictions.name, labels, value: labeled });
        if (n === 0) skip('empty_window');
        else samples.push({ name: modelFamilies.modelLabelCoverage.name, labels, value: labeled / n });
      });
      // Versions that made predictions in the widest window, as the catalog says: every model alert needs
      // predictions in some window, so the rules can join `dataset` from here without losing an alert.
      if ((num(row, 'n_0') ?? 0) > 0) {
        if (byVersion && version !== '') serving.push({ version, first: num(row, 'first_pt') ?? 0 });
        const dl: Record<string, string> = m.dataset ? { dataset: m.dataset } : {};
        // `model_owner`, not `owner`: the exporter guidelines list `owner` among the label names to avoid
        // (too generic: target labels and other exporters use it), as `job` is Prometheus' own.
        samples.push({
          name: modelFamilies.modelInfo.name,
          labels: { model, model_owner: m.owner, version, ...dl },
          value: 1,
        });
      }
    }
    if (overall) {
      // Delay and leakage over all versions.
      m.windows.forEach((w, i) => {
        samples.push({
          name: modelFamilies.modelLabelLeakage.name,
          labels: { model, window: w.label },
          value: num(row, `leak_${i}`) ?? 0,
        });
        for (const [percentile, col] of [
          ['50', `d50_${i}`],
          ['95', `d95_${i}`],
        ] as const) {
          const d = num(row, col);
          if (d === null) skip('no_labels');
          else
            samples.push({
              name: modelFamilies.modelLabelDelay.name,
              labels: { model, window: w.label, percentile },
              value: d,
            });
        }
      });
    }
  }
  // Each version's predecessor: the version whose first prediction in the widest window comes last before its
  // own (ties by name, so the order is total). The rules compare a version with it and name it as the version
  // to roll back to (MlwatchModelVersionWorse). Predictions without a version cannot be rolled back to, and
  // are no rollout: they take no part.
  serving.sort((a, b) => a.first - b.first || (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  serving.forEach((cur, i) => {
    const prev = serving[i - 1];
    if (prev === undefined) return;
    samples.push({
      name: modelFamilies.modelPreviousVersionInfo.name,
      labels: { model, version: cur.version, previous_version: prev.version },
      value: 1,
    });
  });
  return { samples, skipped };
}
