import type { Window } from '../../config/types.js';

/**
 * The periods a KPI is measured over, per window: the current one, [now - window, now), and the same window
 * shifted back by k whole weeks for k = 1..weeks, [now - k*7d - window, now - k*7d), all on the warehouse
 * clock. Shifting by whole weeks puts every baseline period on the same hours of the same weekday, so daily
 * and weekly seasonality (a quiet night, a weekend dip) cancel out; taking several weeks and their median
 * (baseline.ts) keeps one odd week (a holiday) from raising or hiding an alert. A baseline from the warehouse
 * rather than from Prometheus' history lets a drop alert work on a fresh Prometheus.
 */

export const WEEK_MS = 7 * 86_400_000;

export interface PeriodSpan {
  window: Window;
  /** 0 for the current period, k for the period k weeks earlier. */
  weeksAgo: number;
  /** How far before now the period starts and ends, in ms (end 0 = now). */
  startAgoMs: number;
  endAgoMs: number;
}

export function periodsOf(windows: readonly Window[], weeks: number): PeriodSpan[] {
  return windows.flatMap((w) =>
    Array.from({ length: weeks + 1 }, (_, k) => ({
      window: w,
      weeksAgo: k,
      startAgoMs: k * WEEK_MS + w.ms,
      endAgoMs: k * WEEK_MS,
    })),
  );
}

/** What one period measured: the KPI (null when undefined) and the rows behind it (null when unknown). */
export interface Measure {
  span: PeriodSpan;
  value: number | null;
  volume: number | null;
  /**
   * The spread of the per-row quantity the value is an average of (its standard deviation), when known: a
   * ratio's sqrt(p (1 - p)) is implied by its counts; an SQL KPI may return a `stddev` column. It turns the
   * volume into a standard error (baseline.ts).
   */
  stddev?: number | null;
  /** For a ratio: the numerator count, so the pooled rate of several periods can be formed exactly. */
  hits?: number;
  /** Why value is null, for mlwatch_check_skipped_samples{reason}. */
  skippedBecause?: 'zero_denominator' | 'null_value' | 'not_a_number';
}
