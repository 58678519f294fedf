import type { StateDb } from '../store/db.js';
import { type ActivitySections, activityUnavailable, gatherActivity } from './activity.js';
import { renderMarkdown } from './markdown.js';
import { gatherMetrics, type MetricSections, metricsUnavailable } from './metrics.js';
import { fillFromNow } from './now/fill.js';
import type { NowSource } from './now/values.js';
import type { PrometheusClient } from './prometheus.js';
import type { ReportData, ReportPeriod, Section } from './types.js';

export interface BuildReportOptions {
  period: ReportPeriod;
  /** Absent: the metric sections say no Prometheus is configured. */
  prometheus?: PrometheusClient | undefined;
  /** Absent: the activity sections say why (given in `stateUnavailable`). */
  state?: { db: StateDb; schemaSql: string } | undefined;
  stateUnavailable?: string;
  /**
   * Where the values now are read when Prometheus is absent or cannot answer (`mlwatch report`: the checks run
   * once, or a running exporter's /metrics). Absent (the cadence): those sections say why they are missing.
   */
  now?: NowSource | undefined;
}

export interface BuiltReport {
  period: ReportPeriod;
  markdown: string;
  data: ReportData;
  /** One line per source that could not be read; the sections concerned say so in the Markdown too. */
  warnings: string[];
}

export const NO_PROMETHEUS = 'no Prometheus configured (set report.prometheus_url, or pass --prometheus URL)';

/** The period of `window` (e.g. 7d, `ms` long) that ends at `end`. */
export function periodEnding(end: Date, ms: number, window: string): ReportPeriod {
  return { start: new Date(end.getTime() - ms), end, window };
}

/** Gathers every section (sources read in parallel) and renders the review; never fails on a missing source. */
export async function buildReport(o: BuildReportOptions): Promise<BuiltReport> {
  const [filled, activity] = await Promise.all([
    (o.prometheus
      ? gatherMetrics(o.prometheus, o.period)
      : Promise.resolve(metricsUnavailable(NO_PROMETHEUS))
    ).then((m) => fillFromNow(m, o.now, o.period)),
    o.state
      ? gatherActivity(o.state.db, o.state.schemaSql, o.period)
      : Promise.resolve(activityUnavailable(o.stateUnavailable ?? 'no state store')),
  ]);
  const { metrics, now } = filled;
  const data: ReportData = { period: o.period, ...metrics, ...activity, now };
  const warnings = [...new Set([...filled.warnings, ...warningsOf(metrics, activity)])];
  return { period: o.period, markdown: renderMarkdown(data), data, warnings };
}

function warningsOf(m: MetricSections, a: ActivitySections): string[] {
  const all: Section<unknown>[] = [m.performance, m.coverage, m.drift, a.tickets, a.retrains, a.rollbacks];
  return [...new Set(all.flatMap((s) => ('unavailable' in s ? [s.unavailable] : [])))];
}
