import { redactUrl } from '../../redact.js';
import { type PrometheusClient, PrometheusUnavailable, type Sample } from './prometheus.js';
import { driftedFeatures, modelMetric } from './promql.js';
import type { CoverageRow, DriftRow, PerformanceRow, ReportPeriod, Section } from './types.js';

export interface MetricSections {
  performance: Section<PerformanceRow>;
  coverage: Section<CoverageRow>;
  drift: Section<DriftRow>;
}

const byModelVersion = (a: { model: string; version: string }, b: { model: string; version: string }) =>
  a.model.localeCompare(b.model) || a.version.localeCompare(b.version);

/** Joins the samples at the end of the period and one period earlier on (model, version). */
function compare(previous: Sample[], now: Sample[]): CoverageRow[] {
  const rows = new Map<string, CoverageRow>();
  const row = (s: Sample) => {
    const model = s.labels.model ?? '';
    const version = s.labels.version ?? '';
    const key = JSON.stringify([model, version]);
    let r = rows.get(key);
    if (!r) {
      r = { model, version };
      rows.set(key, r);
    }
    return r;
  };
  for (const s of previous) row(s).previous = s.value;
  for (const s of now) row(s).now = s.value;
  return [...rows.values()].sort(byModelVersion);
}

/** Runs one section's queries; a Prometheus that cannot answer makes the section unavailable, not the report. */
async function section<T>(prom: PrometheusClient, gather: () => Promise<T[]>): Promise<Section<T>> {
  try {
    return { rows: await gather(), source: { kind: 'prometheus', url: redactUrl(prom.url) } };
  } catch (err) {
    if (err instanceof PrometheusUnavailable) return { unavailable: err.message };
    throw err;
  }
}

/**
 * The sections that come from the time series: each model's AUC or MAE and label coverage at the end of the
 * period against one period earlier (instant queries at both times), and the features that drifted in it.
 */
export async function gatherMetrics(prom: PrometheusClient, p: ReportPeriod): Promise<MetricSections> {
  const periodMs = p.end.getTime() - p.start.getTime();
  const [performance, coverage, drift] = await Promise.all([
    section(prom, async () => {
      const [aucThen, aucNow, maeThen, maeNow] = await Promise.all([
        prom.query(modelMetric('mlwatch_model_auc', p.window), p.start),
        prom.query(modelMetric('mlwatch_model_auc', p.window), p.end),
        prom.query(modelMetric('mlwatch_model_mae', p.window), p.start),
        prom.query(modelMetric('mlwatch_model_mae', p.window), p.end),
      ]);
      const rows: PerformanceRow[] = [
        ...compare(aucThen, aucNow).map((r) => ({ ...r, metric: 'AUC' as const })),
        ...compare(maeThen, maeNow).map((r) => ({ ...r, metric: 'MAE' as const })),
      ];
      return rows.sort((a, b) => byModelVersion(a, b) || a.metric.localeCompare(b.metric));
    }),
    section(prom, async () => {
      const [then, now] = await Promise.all([
        prom.query(modelMetric('mlwatch_model_label_coverage_ratio', p.window), p.start),
        prom.query(modelMetric('mlwatch_model_label_coverage_ratio', p.window), p.end),
      ]);
      return compare(then, now);
    }),
    section(prom, async () => {
      const samples = await prom.query(driftedFeatures(Math.round(periodMs / 1000)), p.end);
      return samples
        .map((s) => ({ dataset: s.labels.dataset ?? '', feature: s.labels.feature ?? '', maxPsi: s.value }))
        .sort((a, b) => a.dataset.localeCompare(b.dataset) || a.feature.localeCompare(b.feature));
    }),
  ]);
  return { performance, coverage, drift };
}

/** All three sections unavailable for the same reason (no Prometheus configured). */
export function metricsUnavailable(reason: string): MetricSections {
  return {
    performance: { unavailable: reason },
    coverage: { unavailable: reason },
    drift: { unavailable: reason },
  };
}
