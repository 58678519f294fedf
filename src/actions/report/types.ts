/** What the review is made of, gathered first and rendered after (src/actions/report/markdown.ts). */

export interface ReportPeriod {
  /** [start, end): the week the report covers. */
  start: Date;
  end: Date;
  /** The model checks' window compared, as the `window` label says it (7d). */
  window: string;
}

/** A section's rows, or why it could not be gathered (Prometheus down, state store not migrated). */
export type Section<T> = { rows: T[] } | { unavailable: string };

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
  maxPsi: number;
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

export interface ReportData {
  period: ReportPeriod;
  performance: Section<PerformanceRow>;
  coverage: Section<CoverageRow>;
  drift: Section<DriftRow>;
  tickets: Section<TicketRow>;
  retrains: Section<RetrainRow>;
  rollbacks: Section<RollbackRow>;
}
