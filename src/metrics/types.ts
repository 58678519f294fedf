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
}
