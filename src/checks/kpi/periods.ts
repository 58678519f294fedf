import type { Window } from '../../config/types.js';

/**
 * The two periods a KPI is measured over, per window: `current` is [now - window, now) and `baseline` the
 * same window one baseline period earlier, [now - baseline - window, now - baseline), both on the warehouse
 * clock. A baseline from the warehouse (not from Prometheus' history) lets a drop alert work on a fresh
 * Prometheus, and comparing with the same hours of an earlier week cancels daily and weekly seasonality.
 */

export type Period = 'current' | 'baseline';

export interface PeriodSpan {
  window: Window;
  period: Period;
  /** How far before now the period starts and ends, in ms (end 0 = now). */
  startAgoMs: number;
  endAgoMs: number;
}

export function periodsOf(windows: readonly Window[], baselineMs: number): PeriodSpan[] {
  return windows.flatMap((w) => [
    { window: w, period: 'current' as const, startAgoMs: w.ms, endAgoMs: 0 },
    { window: w, period: 'baseline' as const, startAgoMs: baselineMs + w.ms, endAgoMs: baselineMs },
  ]);
}

/** What one period measured: the KPI (null when undefined) and the rows behind it (null when unknown). */
export interface Measure {
  span: PeriodSpan;
  value: number | null;
  volume: number | null;
  /** Why value is null, for mlwatch_check_skipped_samples{reason}. */
  skippedBecause?: 'zero_denominator' | 'null_value' | 'not_a_number';
}
