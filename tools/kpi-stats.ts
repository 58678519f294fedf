import type { RuleSet } from '../grafana/src/rules.js';
import { STEP } from './kpi-rule-tests.js';
import {
  DEMO_APPROVAL_RATE,
  DEMO_DECISIONS_PER_HOUR,
  exportedAt,
  firstFiring,
  MINUTES_A_DAY,
  MINUTES_A_WEEK,
  minuteCounts,
  prefixOf,
  rounded,
  SUFFICIENT_DECISIONS_PER_HOUR,
  seeded,
  suddenDropRule,
  suddenDropValue,
  type Traffic,
} from './kpi-traffic.js';

/**
 * Detection times and false alarms of MlwatchKpiSuddenDrop over many random runs of the model in
 * tools/kpi-traffic.ts: the figures in docs/business-layer.md (`npx tsx scripts/gen-kpi-rule-tests.ts --stats`).
 * Drops start at a random minute of a random day of the fifth week (weekends included); healthy runs cover 4
 * weeks with the weekend dip and a holiday (half the traffic, 20 % higher rate) on a random weekday.
 */

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

/** Minutes from the drop to the first firing, Infinity when not within `horizon` minutes. */
export function detectionTimes(
  perHour: number,
  by: number,
  trials: number,
  horizon: number,
  rules: RuleSet,
): number[] {
  const rule = suddenDropRule(rules);
  const pick = seeded(9000 + perHour + Math.round(by * 100));
  const out: number[] = [];
  for (let i = 0; i < trials; i++) {
    const start = 4 * MINUTES_A_WEEK + MINUTES_A_DAY + Math.floor(pick() * MINUTES_A_WEEK);
    const traffic: Traffic = {
      perHour,
      approval: DEMO_APPROVAL_RATE,
      weekendDip: 0.2,
      drop: { at: start, by },
    };
    const p = prefixOf(minuteCounts(traffic, start + horizon + STEP, 20_000 + i));
    const held: boolean[] = [];
    for (let m = start + STEP; m <= start + horizon; m += STEP) {
      held.push(suddenDropValue(rounded(exportedAt(p, m)), rule) !== undefined);
    }
    const f = firstFiring(held, STEP, rule.forMinutes);
    out.push(f < 0 ? Number.POSITIVE_INFINITY : (f + 1) * STEP);
  }
  return out;
}

/** How many of `runs` healthy 4-week runs fire at least once. */
export function falseAlarms(perHour: number, runs: number, rules: RuleSet): number {
  const rule = suddenDropRule(rules);
  const pick = seeded(7000 + perHour);
  let fired = 0;
  for (let i = 0; i < runs; i++) {
    const holiday = (4 + Math.floor(pick() * 4)) * 7 + 1 + Math.floor(pick() * 4);
    const traffic: Traffic = {
      perHour,
      approval: DEMO_APPROVAL_RATE,
      weekendDip: 0.2,
      holidays: [{ day: holiday, volume: 0.5, approval: 1.2 }],
    };
    const from = 4 * MINUTES_A_WEEK + MINUTES_A_DAY;
    const p = prefixOf(minuteCounts(traffic, from + 4 * MINUTES_A_WEEK, 30_000 + i));
    const held: boolean[] = [];
    for (let m = from; m < from + 4 * MINUTES_A_WEEK; m += STEP) {
      held.push(suddenDropValue(rounded(exportedAt(p, m)), rule) !== undefined);
    }
    if (firstFiring(held, STEP, rule.forMinutes) >= 0) fired++;
  }
  return fired;
}

export function printStats(rules: RuleSet, trials = 300, healthyRuns = 120): void {
  const fmt = (m: number) => (Number.isFinite(m) ? `${m} min` : 'not within the horizon');
  for (const perHour of [DEMO_DECISIONS_PER_HOUR, 1000, 2000, 3000, 4000, SUFFICIENT_DECISIONS_PER_HOUR]) {
    const horizon = perHour < 100 ? 3 * MINUTES_A_DAY : MINUTES_A_DAY;
    for (const [by, target] of [
      [0.1, 120],
      [0.3, 30],
    ] as const) {
      const d = detectionTimes(perHour, by, trials, horizon, rules);
      const within = d.filter((x) => x <= target).length;
      console.log(
        `${perHour}/h, ${by * 100} % drop: median ${fmt(quantile(d, 0.5))}, 95th percentile ${fmt(quantile(d, 0.95))}, ` +
          `within ${target} min in ${within} of ${trials} runs (horizon ${horizon / 60} h)`,
      );
    }
    console.log(
      `${perHour}/h: healthy 4-week runs that fired: ${falseAlarms(perHour, healthyRuns, rules)} of ${healthyRuns}`,
    );
  }
}
