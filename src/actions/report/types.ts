/** What the review is made of, gathered first and rendered after (src/actions/report/markdown.ts). */

export interface ReportPeriod {
  /** [start, end): the week the report covers. */
  start: Date;
  end: Date;
  /** The model checks' window compared, as the `window` label says it (7d). */
  window: string;
}

/**
 * Where a metric section's values came from, named in the section so that the review never mixes them
 * silently: Prometheus's history, or the values now (the checks run once, or a running exporter's /metrics)
 * because Prometheus could not be read (`why`).
 */
export type MetricSource = { kind: 'prometheus'; url: string } | { kind: 'now'; from: string; why: string };

/** A section's rows, or why it could not be gathered (Prometheus down, state store not migrated). */
export type Section<T> = { rows: T[]; source?: MetricSource } | { unavailable: string };

export interface PerformanceRow {
  model: string;
  version: string;
  metric: 'AUC' | 'MAE';
  /** At the end of the previous period; absent when there was no series then. */
  previous?: number | undefined;
  now?: number | undefined;
}

export interface CoverageRow {
  model: string;
  version: string;
  previous?: number | undefined;
  now?: number | undefined;
}

export interface DriftRow {
  dataset: string;
  feature: string;
  /** From Prometheus: the highest PSI of the period, any window. Now: the PSI in `window` now. */
  maxPsi: number;
  window?: string | undefined;
}

export interface TicketRow {
  team: string;
  layer: string;
  opened: number;
  resolved: number;
}

export interface RetrainRow {
  model: string;
  reason: string;
  requests: number;
  /** Of those requests, still waiting for the retraining service to accept them. */
  pending: number;
  /** Triggers in the period that fell within a cooldown and were counted against an earlier request. */
  deduplicated: number;
}

export interface RollbackRow {
  model: string;
  state: string;
  requests: number;
}

/** A check that failed when the values now were read: its values are missing (or its last good run's). */
export interface FailedCheck {
  check: string;
  error?: string | undefined;
}

/** A dataset's freshness or a column's null ratio, now. */
export interface DataNowRow {
  dataset: string;
  measure: 'newest row age' | 'null ratio';
  column?: string | undefined;
  window?: string | undefined;
  /** Seconds for the age, 0..1 for the ratio. */
  value: number;
}

export interface JobNowRow {
  job: string;
  window: string;
  succeeded: number;
  failed: number;
  /** Absent when no run finished in the window. */
  successRatio?: number | undefined;
}

export interface KpiNowRow {
  kpi: string;
  window: string;
  value: number;
  baseline?: number | undefined;
}

/**
 * The sections only a review without Prometheus has: the checks' other values now, which Prometheus's review
 * leaves to the dashboards. `from` and `why` as in MetricSource.
 */
export interface NowSections {
  from: string;
  detail: string;
  why: string;
  failed: FailedCheck[];
  data: DataNowRow[];
  jobs: JobNowRow[];
  kpis: KpiNowRow[];
}

export interface ReportData {
  period: ReportPeriod;
  /** Present when a metric section had to be filled from the values now. */
  now?: NowSections | undefined;
  performance: Section<PerformanceRow>;
  coverage: Section<CoverageRow>;
  drift: Section<DriftRow>;
  tickets: Section<TicketRow>;
  retrains: Section<RetrainRow>;
  rollbacks: Section<RollbackRow>;
}
