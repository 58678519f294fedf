import { parseDuration } from '../../../config/duration.js';
import type { MetricSections } from '../metrics.js';
import { DRIFT_PSI_THRESHOLD } from '../promql.js';
import type {
  CoverageRow,
  DataNowRow,
  DriftRow,
  JobNowRow,
  KpiNowRow,
  MetricSource,
  PerformanceRow,
  ReportPeriod,
} from '../types.js';
import type { NowValues } from './values.js';

type Samples = NowValues['samples'];

const of = (samples: Samples, name: string) =>
  samples.filter((s) => s.name === name && Number.isFinite(s.value));

const byKeys =
  <T>(...keys: ((x: T) => string)[]) =>
  (a: T, b: T) => {
    for (const k of keys) {
      const c = k(a).localeCompare(k(b));
      if (c !== 0) return c;
    }
    return 0;
  };

/** One row per (model, version) of a model metric over the period's window, the highest if listed twice. */
function modelRows(samples: Samples, name: string, window: string): CoverageRow[] {
  const rows = new Map<string, CoverageRow>();
  for (const s of of(samples, name)) {
    if (s.labels.window !== window) continue;
    const model = s.labels.model ?? '';
    const version = s.labels.version ?? '';
    const key = JSON.stringify([model, version]);
    const seen = rows.get(key)?.now;
    rows.set(key, { model, version, now: seen === undefined ? s.value : Math.max(seen, s.value) });
  }
  return [...rows.values()].sort(
    byKeys(
      (r) => r.model,
      (r) => r.version,
    ),
  );
}

/**
 * The three metric sections from the values now: each model's AUC or MAE and label coverage over the period's
 * window (`--since`, e.g. 7d) as the checks compute it now, and the features whose PSI is above the
 * MlwatchFeatureDrift threshold in a window now. Nothing about one period earlier: that is Prometheus's.
 */
export function metricsNow(v: NowValues, p: ReportPeriod, source: MetricSource): MetricSections {
  const performance: PerformanceRow[] = [
    ...modelRows(v.samples, 'mlwatch_model_auc', p.window).map((r) => ({ ...r, metric: 'AUC' as const })),
    ...modelRows(v.samples, 'mlwatch_model_mae', p.window).map((r) => ({ ...r, metric: 'MAE' as const })),
  ].sort(
    byKeys(
      (r) => r.model,
      (r) => r.version,
      (r) => r.metric,
    ),
  );
  const drift: DriftRow[] = of(v.samples, 'mlwatch_feature_psi')
    .filter((s) => s.value > DRIFT_PSI_THRESHOLD)
    .map((s) => ({
      dataset: s.labels.dataset ?? '',
      feature: s.labels.feature ?? '',
      window: s.labels.window ?? '',
      maxPsi: s.value,
    }))
    .sort(
      byKeys(
        (r) => r.dataset,
        (r) => r.feature,
        (r) => r.window ?? '',
      ),
    );
  return {
    performance: { rows: performance, source },
    coverage: { rows: modelRows(v.samples, 'mlwatch_model_label_coverage_ratio', p.window), source },
    drift: { rows: drift, source },
  };
}

export function dataNow(samples: Samples): DataNowRow[] {
  const ages = of(samples, 'mlwatch_dataset_newest_row_age_seconds').map((s) => ({
    dataset: s.labels.dataset ?? '',
    measure: 'newest row age' as const,
    value: s.value,
  }));
  const nulls = of(samples, 'mlwatch_dataset_null_ratio').map((s) => ({
    dataset: s.labels.dataset ?? '',
    measure: 'null ratio' as const,
    column: s.labels.column ?? '',
    window: s.labels.window ?? '',
    value: s.value,
  }));
  return [...ages, ...nulls].sort(
    byKeys<DataNowRow>(
      (r) => r.dataset,
      (r) => r.measure,
      (r) => r.column ?? '',
      (r) => r.window ?? '',
    ),
  );
}

/**
 * The window a job or KPI is shown over: the period's own when the check has it, else its widest (a job's
 * default windows end at 3d, a KPI's at 1d: the closest they come to a week).
 */
function shownWindows(samples: Samples, subject: string, period: string): Map<string, string> {
  const windows = new Map<string, string[]>();
  for (const s of samples) {
    const who = s.labels[subject];
    const w = s.labels.window;
    if (who !== undefined && w !== undefined) windows.set(who, [...(windows.get(who) ?? []), w]);
  }
  const width = (w: string) => parseDuration(w) ?? 0;
  return new Map(
    [...windows].map(([who, ws]) => [
      who,
      ws.includes(period) ? period : ws.reduce((a, b) => (width(b) > width(a) ? b : a)),
    ]),
  );
}

export function jobsNow(samples: Samples, period: string): JobNowRow[] {
  const runs = of(samples, 'mlwatch_job_runs');
  const ratios = of(samples, 'mlwatch_job_success_ratio');
  const count = (job: string, window: string, outcome: string) =>
    runs
      .filter((s) => s.labels.job_name === job && s.labels.window === window && s.labels.outcome === outcome)
      .reduce((a, s) => a + s.value, 0);
  return [...shownWindows([...runs, ...ratios], 'job_name', period)]
    .map(([job, window]) => ({
      job,
      window,
      succeeded: count(job, window, 'success'),
      failed: count(job, window, 'failure'),
      successRatio: ratios.find((s) => s.labels.job_name === job && s.labels.window === window)?.value,
    }))
    .sort(byKeys((r) => r.job));
}

export function kpisNow(samples: Samples, period: string): KpiNowRow[] {
  const values = of(samples, 'mlwatch_kpi_value');
  const baselines = of(samples, 'mlwatch_kpi_baseline');
  const rows: KpiNowRow[] = [];
  for (const [kpi, window] of shownWindows(values, 'kpi', period)) {
    const value = values.find((s) => s.labels.kpi === kpi && s.labels.window === window)?.value;
    if (value === undefined) continue;
    const baseline = baselines.find((s) => s.labels.kpi === kpi && s.labels.window === window)?.value;
    rows.push({ kpi, window, value, baseline });
  }
  return rows.sort(byKeys((r) => r.kpi));
}
