import { dropAlert } from '../grafana/src/business-kpis.js';
import type { RuleSet } from '../grafana/src/rules.js';
import { type WindowKpi, windowKpi } from '../src/checks/kpi/baseline.js';
import { type Measure, periodsOf } from '../src/checks/kpi/periods.js';
import { DEFAULT_BASELINE_WEEKS, DEFAULT_WINDOWS } from '../src/checks/kpi/section.js';
import { parseDuration } from '../src/config/duration.js';
import type { Window } from '../src/config/types.js';
import { APPLICATIONS_PER_SECOND } from '../src/demo/batches.js';

/**
 * The demo's decision stream as counts per minute, what the KPI check exports from them, and when
 * MlwatchKpiSuddenDrop fires on it: the model behind prometheus/tests/business-simulated.test.yml
 * (scripts/gen-kpi-rule-tests.ts) and behind the warehouse simulation (test/kpi-simulation.test.ts), which
 * seeds these very counts as rows and holds the real check's output to this model's.
 *
 * The demo (src/demo/batches.ts) decides one credit application every 2 minutes on average, arrivals
 * uniform in time (Poisson), approving about 60 % of them: 30 decisions an hour. Its generator has no weekly
 * cycle; a business has one, so the scenarios add a 20 % weekend dip (20 % fewer decisions, and a 20 % lower
 * approval rate) and a holiday. The counts are exact draws from that process, from a seeded generator, so
 * every file and test built on them is reproducible.
 */

export const MINUTES_A_DAY = 1440;
export const MINUTES_A_WEEK = 7 * MINUTES_A_DAY;
/** The demo's decisions an hour (src/demo/batches.ts). */
export const DEMO_DECISIONS_PER_HOUR = APPLICATIONS_PER_SECOND * 3600;
/** The demo's approval rate: its approval cut puts it near 0.6 (src/demo/batches.ts, APPROVAL_CUT). */
export const DEMO_APPROVAL_RATE = 0.6;
/**
 * The volume the detection targets need (docs/business-layer.md): 167 times the demo's. At 30 decisions an
 * hour no test can tell a 10 % drop from noise within 2 hours: 60 decisions move the rate by 0.06 against a
 * standard error of 0.063.
 */
export const SUFFICIENT_DECISIONS_PER_HOUR = 5000;

export interface Holiday {
  /** Days since the start (day 0 is a Monday). */
  day: number;
  /** Relative volume and approval rate that day (0.5: half the decisions). */
  volume: number;
  approval: number;
}

export interface Traffic {
  /** Decisions an hour on a weekday. */
  perHour: number;
  /** Approval rate on a weekday. */
  approval: number;
  /** Saturdays and Sundays: this much fewer decisions, and an approval rate this much lower (relative). */
  weekendDip: number;
  holidays?: Holiday[];
  /** From minute `at` on, an approval rate `by` lower (relative): the drop the alert must catch. */
  drop?: { at: number; by: number };
}

/** Decisions (n) and approvals (k) in each minute [m, m + 1) from the start. */
export interface MinuteCounts {
  n: Uint32Array;
  k: Uint32Array;
}

/** mulberry32: a small seeded generator, so the counts are the same on every machine. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A Poisson draw by multiplying uniforms (Knuth): exact, and fast enough below a few hundred a minute. */
function poisson(rand: () => number, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rand();
  while (p > limit) {
    k++;
    p *= rand();
  }
  return k;
}

export function isWeekend(minute: number): boolean {
  return Math.floor(minute / MINUTES_A_DAY) % 7 >= 5;
}

export function minuteCounts(t: Traffic, minutes: number, seed: number): MinuteCounts {
  if (t.perHour > 20_000)
    throw new Error('minuteCounts draws Poisson counts one uniform at a time: keep perHour <= 20000');
  const rand = seeded(seed);
  const n = new Uint32Array(minutes);
  const k = new Uint32Array(minutes);
  for (let m = 0; m < minutes; m++) {
    const day = Math.floor(m / MINUTES_A_DAY);
    let volume = t.perHour / 60;
    let rate = t.approval;
    if (isWeekend(m)) {
      volume *= 1 - t.weekendDip;
      rate *= 1 - t.weekendDip;
    }
    for (const h of t.holidays ?? []) {
      if (h.day === day) {
        volume *= h.volume;
        rate *= h.approval;
      }
    }
    if (t.drop && m >= t.drop.at) rate *= 1 - t.drop.by;
    const decisions = poisson(rand, volume);
    let approved = 0;
    for (let i = 0; i < decisions; i++) if (rand() < rate) approved++;
    n[m] = decisions;
    k[m] = approved;
  }
  return { n, k };
}

/** Running totals: sum[m] is the count over minutes [0, m). */
export interface Prefix {
  n: Float64Array;
  k: Float64Array;
}

export function prefixOf(c: MinuteCounts): Prefix {
  const n = new Float64Array(c.n.length + 1);
  const k = new Float64Array(c.k.length + 1);
  for (let m = 0; m < c.n.length; m++) {
    n[m + 1] = (n[m] as number) + (c.n[m] as number);
    k[m + 1] = (k[m] as number) + (c.k[m] as number);
  }
  return { n, k };
}

/**
 * What the ratio KPI check exports when now() is the start of minute `now`: the same periods (periods.ts)
 * and the same folding into value, median baseline and standard error (baseline.ts) as the check, with the
 * counts summed from the minutes instead of from rows. A row stamped inside minute m is in a period iff the
 * whole minute is, because period edges fall on whole minutes here.
 */
export function exportedAt(
  p: Prefix,
  now: number,
  windows: readonly Window[] = DEFAULT_WINDOWS,
  weeks = DEFAULT_BASELINE_WEEKS,
): WindowKpi[] {
  const spans = periodsOf(windows, weeks);
  const measures: Measure[] = spans.map((span) => {
    const from = now - span.startAgoMs / 60_000;
    const to = now - span.endAgoMs / 60_000;
    if (from < 0)
      throw new Error(`minute ${now} needs counts from minute ${from}: start the traffic earlier`);
    const n = (p.n[to] as number) - (p.n[from] as number);
    const k = (p.k[to] as number) - (p.k[from] as number);
    return n === 0
      ? { span, value: null, volume: 0, hits: 0, skippedBecause: 'zero_denominator' }
      : { span, value: k / n, volume: n, hits: k };
  });
  return windows.map((w) =>
    windowKpi(
      w,
      measures.filter((m) => m.span.window === w),
    ),
  );
}

/** The thresholds of MlwatchKpiSuddenDrop and its upper-bound recording rule, read from the rules. */
export interface SuddenDropRule {
  /** Standard errors above the value: kpi:mlwatch_kpi_value:upper_bound = value + z * standard_error. */
  z: number;
  /** The value must also be below this share of the baseline. */
  below: number;
  forMinutes: number;
}

export function suddenDropRule(rules: RuleSet): SuddenDropRule {
  // The dashboard's reading of the same rules, so the simulation and the panels cannot disagree.
  const a = dropAlert(rules);
  const forMs = parseDuration(a.for);
  if (forMs === undefined) throw new Error(`MlwatchKpiSuddenDrop: cannot read its for: '${a.for}'`);
  return { z: a.z, below: a.value, forMinutes: forMs / 60_000 };
}

/** The exported numbers a rule reads, per window, as Prometheus would read them back (see `rounded`). */
export interface Exported {
  window: string;
  value?: number;
  baseline?: number;
  standardError?: number;
}

/**
 * The series as written to the promtool file: 4 decimals for the value and baseline, 6 for the standard error
 * (about 0.002 to 0.02 at thousands of rows), which keeps 4 weeks of 15 series near a megabyte. The rule model
 * below evaluates these same numbers, so promtool and the model compute the same doubles.
 */
export function rounded(ws: readonly WindowKpi[]): Exported[] {
  const r = (x: number | null, d: number) => (x === null ? undefined : Number(x.toFixed(d)));
  return ws.map((w) => {
    const e: Exported = { window: w.window.label };
    const value = r(w.value, 4);
    const baseline = r(w.baseline, 4);
    const standardError = r(w.standardError, 6);
    if (value !== undefined) e.value = value;
    if (baseline !== undefined) e.baseline = baseline;
    if (standardError !== undefined) e.standardError = standardError;
    return e;
  });
}

/**
 * MlwatchKpiSuddenDrop's condition, as the rules compute it: per window, ratio = value / baseline (baseline >
 * 0), bound = value + z * standard_error; the windows where ratio < below and bound < baseline; the alert's
 * value is their lowest ratio. Undefined when no window qualifies.
 */
export function suddenDropValue(ws: readonly Exported[], rule: SuddenDropRule): number | undefined {
  let min: number | undefined;
  for (const w of ws) {
    if (w.value === undefined || w.baseline === undefined || w.standardError === undefined) continue;
    if (!(w.baseline > 0)) continue;
    const ratio = w.value / w.baseline;
    if (ratio < rule.below && w.value + rule.z * w.standardError < w.baseline) {
      min = min === undefined ? ratio : Math.min(min, ratio);
    }
  }
  return min;
}

/**
 * When the alert first fires, given the condition at check runs every `step` minutes (values held between
 * runs): the first run at which it has held, run after run, for `forMinutes`. -1 when it never fires.
 */
export function firstFiring(held: readonly boolean[], step: number, forMinutes: number): number {
  const need = Math.ceil(forMinutes / step);
  let run = 0;
  for (let i = 0; i < held.length; i++) {
    run = held[i] ? run + 1 : 0;
    if (run > need) return i;
  }
  return -1;
}

/**
 * The rule mlwatch had until this change, for comparison: the day's KPI below 90 % of the same day one week
 * earlier, with 500 rows in both, for an hour (evaluated on the same check runs).
 */
export function singleWeekDayRule(p: Prefix, now: number): boolean {
  const day = (end: number) => ({
    n: (p.n[end] as number) - (p.n[end - MINUTES_A_DAY] as number),
    k: (p.k[end] as number) - (p.k[end - MINUTES_A_DAY] as number),
  });
  const cur = day(now);
  const before = day(now - MINUTES_A_WEEK);
  return cur.n >= 500 && before.n >= 500 && cur.k / cur.n < 0.9 * (before.k / before.n);
}

/** Prometheus' humanizePercentage: `%.4g%%` of the value times 100. */
export function humanizePercentage(v: number): string {
  return `${Number((v * 100).toPrecision(4))}%`;
}
