import type { Window } from '../../config/types.js';
import type { Measure } from './periods.js';

/**
 * One window of a KPI as exported: the current value, the baseline (the median of the same window in each of
 * the last weeks), and the standard error that tells a drop from noise.
 *
 * Median, not mean: with the default 4 weeks it is the mean of the middle two, so one odd week (a holiday,
 * an outage) in either direction moves it little, where a mean, or the single week-ago period mlwatch used
 * before, would move by the whole holiday effect and raise (or hide) an alert a week later.
 *
 * Standard error of (value - baseline), so that `value + z * standard_error < baseline` (the recording rule
 * kpi:mlwatch_kpi_value:upper_bound in prometheus/rules/business.rules.yml) says "even the upper confidence
 * bound of the current value is below the baseline":
 *
 *   standard_error = s * sqrt(1 / n0 + c(m) / n~)
 *
 * n0 the current volume, n~ the median volume of the m weeks behind the baseline, c(m) the variance of the
 * median of m draws of unit variance (below), and s the per-row standard deviation pooled over the current
 * and baseline periods: sqrt(p (1 - p)) with p the rate of all their rows together for a ratio, or the
 * volume-weighted root mean square of the statement's `stddev` column for an SQL KPI. The pooled s, rather
 * than each period's own, keeps the error honest on a few rows: a 15-minute window whose 4 baseline weeks
 * happened to approve everything has a median of 1 but a pooled rate well below, so its error is not 0.
 * The baseline's share, c(m) / n~, is there because the baseline is itself measured on rows: at equal
 * volumes it adds 30 % to the variance with 4 weeks, 100 % with 1.
 *
 * The z and the thresholds live in the rules, not here: the exporter exports measurements only.
 */

/**
 * Var(median of m independent standard normal draws), m = 1..8: the median of an even count is the mean of
 * the middle two. Computed by integrating the normal order statistics' densities (scipy quad): 0.2982 for
 * m = 4 means the median of 4 weeks is as precise as the mean of 1 / 0.2982 = 3.35 weeks.
 */
export const MEDIAN_VARIANCE = [1, 0.5, 0.4487, 0.2982, 0.2868, 0.2147, 0.2104, 0.1682] as const;

export const MAX_BASELINE_WEEKS = MEDIAN_VARIANCE.length;

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export interface WindowKpi {
  window: Window;
  value: number | null;
  volume: number | null;
  baseline: number | null;
  /** Median volume of the weeks behind the baseline (of every week with a known volume when none has a value). */
  baselineVolume: number | null;
  standardError: number | null;
  /** Why value and baseline series are missing, for mlwatch_check_skipped_samples{reason}. */
  skipped: string[];
}

const known = (x: number | null | undefined): x is number =>
  x !== null && x !== undefined && Number.isFinite(x);

/** Folds one window's measures (current first or not: weeksAgo says which) into what is exported. */
export function windowKpi(window: Window, measures: readonly Measure[]): WindowKpi {
  const current = measures.find((m) => m.span.weeksAgo === 0);
  if (!current) throw new Error(`no current period for window ${window.label}`);
  const weeks = measures.filter((m) => m.span.weeksAgo > 0).sort((a, b) => a.span.weeksAgo - b.span.weeksAgo);
  const behind = weeks.filter((m) => m.value !== null);
  const baseline = median(behind.map((m) => m.value as number));
  const volumeOf = (ms: readonly Measure[]) => median(ms.map((m) => m.volume).filter(known));
  const baselineVolume = behind.length > 0 ? volumeOf(behind) : volumeOf(weeks);

  const skipped: string[] = [];
  if (current.value === null) skipped.push(current.skippedBecause ?? 'null_value');
  if (baseline === null) skipped.push(weeks[0]?.skippedBecause ?? 'null_value');

  return {
    window,
    value: current.value,
    volume: current.volume,
    baseline,
    baselineVolume,
    standardError: standardError(current, behind),
    skipped,
  };
}

function standardError(current: Measure, behind: readonly Measure[]): number | null {
  const periods = [current, ...behind];
  if (current.value === null || behind.length === 0) return null;
  if (!periods.every((m) => known(m.volume) && m.volume > 0)) return null;
  const n0 = current.volume as number;
  const nb = median(behind.map((m) => m.volume as number)) as number;
  const rows = periods.reduce((a, m) => a + (m.volume as number), 0);
  let variance: number;
  if (periods.every((m) => m.hits !== undefined)) {
    const p = periods.reduce((a, m) => a + (m.hits as number), 0) / rows;
    variance = p * (1 - p);
  } else if (periods.every((m) => known(m.stddev))) {
    variance = periods.reduce((a, m) => a + (m.volume as number) * (m.stddev as number) ** 2, 0) / rows;
  } else {
    return null;
  }
  const c = MEDIAN_VARIANCE[behind.length - 1] as number;
  return Math.sqrt(variance * (1 / n0 + c / nb));
}
