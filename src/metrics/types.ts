export type MetricType = 'gauge' | 'counter';

/** A metric family: what /metrics prints as HELP and TYPE, and the labels its series carry. */
export interface FamilyDef {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly string[];
}

/** One series value produced by a check. No timestamp: Prometheus stamps samples at scrape time. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /**
   * For an age measured once per run (mlwatch_dataset_newest_row_age_seconds): the exporter's monotonic clock
   * (performance.now(), ms) when `value` was true. Each scrape exports `value` plus the seconds since then, so
   * the age keeps growing between runs without comparing the clock of one host with another's.
   */
  agingSince?: number;
}
