import type { Sample } from '../../../metrics/types.js';
import type { FailedCheck } from '../types.js';

/**
 * The review without Prometheus: the checks' values as they are now, which is all a warehouse (or a running
 * exporter) can tell. They stand in for the metric sections, and each section says so (docs/report.md).
 */
export interface NowValues {
  /** Where they were read, as each section names it: "the warehouse" or "the exporter at URL". */
  from: string;
  /** How and when, for the review's intro: "the config's 11 checks, run once at 2026-11-23T08:00:00Z". */
  detail: string;
  samples: readonly Pick<Sample, 'name' | 'labels' | 'value'>[];
  failed: FailedCheck[];
}

/** Reads the values now; called only when a metric section could not come from Prometheus. */
export interface NowSource {
  read(): Promise<NowValues>;
}

/** The values now could not be read either (the warehouse or the exporter unreachable): the sections say why. */
export class NowUnavailable extends Error {}

/** When the values were read, to the second, as the review prints times. */
export const readAt = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
