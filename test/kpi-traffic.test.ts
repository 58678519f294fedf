import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRules, readRules } from '../grafana/src/rules.js';
import { DEFAULT_WINDOWS } from '../src/checks/kpi/section.js';
import { renderRuleTests, SCENARIOS, simulate, singleWeekFirings } from '../tools/kpi-rule-tests.js';
import {
  DEMO_APPROVAL_RATE,
  DEMO_DECISIONS_PER_HOUR,
  exportedAt,
  humanizePercentage,
  isWeekend,
  MINUTES_A_DAY,
  MINUTES_A_WEEK,
  minuteCounts,
  prefixOf,
  SUFFICIENT_DECISIONS_PER_HOUR,
  suddenDropRule,
} from '../tools/kpi-traffic.js';

// The model behind prometheus/tests/business-simulated.test.yml: the scenarios meet the targets, the
// committed promtool file is what the model renders, and the model's counts and sums are right (the warehouse
// simulation, test/kpi-simulation.test.ts, holds the real check to the same numbers).

const rules = readRules();
const outcomes = new Map(SCENARIOS.map((s) => [s.name, simulate(s, rules)]));
const outcome = (name: string) => {
  const o = outcomes.get(name);
  if (!o) throw new Error(`no scenario ${name}`);
  return o;
};

describe('the scenarios meet the targets', () => {
  it.each([
    ['drop10-tuesday', 120],
    ['drop10-saturday', 120],
    ['holiday-then-drop10', 120],
    ['drop30-tuesday', 30],
    ['drop30-saturday', 30],
  ])('%s fires within %i minutes of the drop, and not before it', (name, target) => {
    const o = outcome(name);
    expect(o.detectedAfter).toBeGreaterThan(0);
    expect(o.detectedAfter).toBeLessThanOrEqual(target);
    // The hour before the drop is healthy: the condition never held there.
    const before = o.runs.filter((r) => r.minute < (o.scenario.traffic.drop?.at ?? 0));
    expect(before).toHaveLength(12);
    expect(before.every((r) => r.value === undefined)).toBe(true);
  });

  it('4 healthy weeks never fire, where the single-week rule mlwatch had fired the week after the holiday', () => {
    const o = outcome('healthy-4-weeks');
    expect(o.runs).toHaveLength(4 * 7 * 288);
    expect(o.firing).toBe(-1);
    expect(o.held).toBe(0);
    // The old rule (the day below 90 % of the same day a week earlier, for 1h) fires on the Wednesday after
    // the holiday Wednesday (day 37, with a 20 % higher rate), and only then: the scenario has the trap in it.
    const old = singleWeekFirings(o);
    expect(old.length).toBeGreaterThan(0);
    for (const m of old) expect([44, 45]).toContain(Math.floor(m / MINUTES_A_DAY));
  });

  it('the 10 % drop after a holiday that lowered the rate fires, where the single-week rule stayed silent', () => {
    const o = outcome('holiday-then-drop10');
    const start = o.scenario.traffic.drop?.at as number;
    expect(o.detectedAfter).toBeLessThanOrEqual(120);
    // Against the holiday alone the day after the drop still looks better than a week earlier: never fires
    // in the 24 hours after the drop.
    expect(singleWeekFirings(o, start, start + MINUTES_A_DAY)).toEqual([]);
  });

  it('the thresholds come from the rules', () => {
    expect(suddenDropRule(rules)).toEqual({ z: 5, below: 0.95, forMinutes: 5 });
    const shifted = readFileSync(new URL('../prometheus/rules/business.rules.yml', import.meta.url), 'utf8')
      .replace('mlwatch_kpi_value + 5 *', 'mlwatch_kpi_value + 2 *')
      .replace('ratio < 0.95', 'ratio < 0.97');
    expect(suddenDropRule(parseRules([shifted], 'x'))).toEqual({ z: 2, below: 0.97, forMinutes: 5 });
  });
});

describe('prometheus/tests/business-simulated.test.yml', () => {
  it('is what the scenarios render (regenerate: npx tsx scripts/gen-kpi-rule-tests.ts)', () => {
    const file = readFileSync(
      new URL('../prometheus/tests/business-simulated.test.yml', import.meta.url),
      'utf8',
    );
    expect(file === renderRuleTests([...outcomes.values()]), 'business-simulated.test.yml is stale').toBe(
      true,
    );
  });

  it("formats the alert's value as Prometheus' humanizePercentage does (%.4g%%)", () => {
    expect(humanizePercentage(0.8333333333)).toBe('83.33%');
    expect(humanizePercentage(0.5)).toBe('50%');
    expect(humanizePercentage(0.912)).toBe('91.2%');
    expect(humanizePercentage(0.123456)).toBe('12.35%');
  });
});

describe('the traffic model', () => {
  const traffic = {
    perHour: SUFFICIENT_DECISIONS_PER_HOUR,
    approval: DEMO_APPROVAL_RATE,
    weekendDip: 0.2,
    holidays: [{ day: 2, volume: 0.5, approval: 1.2 }],
  };
  const c = minuteCounts(traffic, 2 * MINUTES_A_WEEK, 1);

  it("draws the demo's rate and the weekly shape", () => {
    expect(DEMO_DECISIONS_PER_HOUR).toBe(30);
    const sum = (from: number, to: number, which: 'n' | 'k') => {
      let t = 0;
      for (let m = from; m < to; m++) t += c[which][m] as number;
      return t;
    };
    // A Monday, a Saturday and the holiday Wednesday (day 2): volume and rate within 2 % of their means.
    const monday = { n: sum(0, 1440, 'n'), k: sum(0, 1440, 'k') };
    const saturday = { n: sum(5 * 1440, 6 * 1440, 'n'), k: sum(5 * 1440, 6 * 1440, 'k') };
    const holiday = { n: sum(2 * 1440, 3 * 1440, 'n'), k: sum(2 * 1440, 3 * 1440, 'k') };
    expect(monday.n / (24 * SUFFICIENT_DECISIONS_PER_HOUR)).toBeCloseTo(1, 1);
    expect(monday.k / monday.n).toBeCloseTo(0.6, 1);
    expect(Math.abs(saturday.n / monday.n - 0.8)).toBeLessThan(0.02);
    expect(Math.abs(saturday.k / saturday.n - 0.48)).toBeLessThan(0.01);
    expect(Math.abs(holiday.n / monday.n - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(holiday.k / holiday.n - 0.72)).toBeLessThan(0.01);
    expect(isWeekend(5 * 1440)).toBe(true);
    expect(isWeekend(5 * 1440 - 1)).toBe(false);
    // The same seed draws the same counts.
    expect(minuteCounts(traffic, 1440, 1).n).toEqual(c.n.slice(0, 1440));
  });

  it('sums each period from the minutes it covers, as a check counts its rows', () => {
    const p = prefixOf(c);
    const now = MINUTES_A_WEEK + 3 * 1440 + 437;
    const ws = exportedAt(p, now, DEFAULT_WINDOWS, 1);
    for (const w of ws) {
      const minutes = w.window.ms / 60_000;
      // Counted minute by minute here, not from the running totals.
      let n = 0;
      let k = 0;
      let nb = 0;
      let kb = 0;
      for (let m = now - minutes; m < now; m++) {
        n += c.n[m] as number;
        k += c.k[m] as number;
        nb += c.n[m - MINUTES_A_WEEK] as number;
        kb += c.k[m - MINUTES_A_WEEK] as number;
      }
      expect(w.volume).toBe(n);
      expect(w.value).toBe(k / n);
      expect(w.baseline).toBe(kb / nb);
      expect(w.baselineVolume).toBe(nb);
    }
  });
});
