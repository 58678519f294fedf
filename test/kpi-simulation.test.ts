import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRules } from '../grafana/src/rules.js';
import { DEFAULT_WINDOWS } from '../src/checks/kpi/section.js';
import type { Check } from '../src/checks/types.js';
import { loadConfigText } from '../src/config/load.js';
import type { Window } from '../src/config/types.js';
import type { Sample } from '../src/metrics/types.js';
import { SCENARIOS, simulate } from '../tools/kpi-rule-tests.js';
import {
  DEMO_APPROVAL_RATE,
  DEMO_DECISIONS_PER_HOUR,
  type Exported,
  exportedAt,
  firstFiring,
  MINUTES_A_DAY,
  MINUTES_A_WEEK,
  type MinuteCounts,
  minuteCounts,
  type Prefix,
  prefixOf,
  suddenDropRule,
  suddenDropValue,
  type Traffic,
} from '../tools/kpi-traffic.js';
import { openTestDb, type TestDb } from './helpers/db.js';

// The KPI drop alert against the warehouse: decisions seeded as rows (PGlite, or the real PostgreSQL with
// MLWATCH_TEST_DATABASE_URL), the real KPI check run at successive simulated "now"s, and MlwatchKpiSuddenDrop's
// condition evaluated on what it exports, with the thresholds read from prometheus/rules/business.rules.yml.
//
// The check reads the warehouse clock, so the data moves instead: the KPI reads a view that shifts the seeded
// rows by now() - (the simulated now), set in a one-row table before each run. The rows come from the minute
// counts of tools/kpi-traffic.ts (each minute's decisions spread inside it, never on an edge), so each run's
// output must equal, exactly, what that model computes for the same minute: the model behind the promtool
// tests (prometheus/tests/business-simulated.test.yml) is then what the check exports.

const EPOCH = Date.UTC(2024, 0, 1); // a Monday: minute 0 of the simulated calendar
const rule = suddenDropRule(readRules());

let db: TestDb;
let s: string;
beforeAll(async () => {
  db = await openTestDb();
  s = db.schema;
  await db.writer.exec(`
CREATE TABLE ${s}.sim_rows (decided_at timestamptz NOT NULL, approved boolean NOT NULL);
CREATE TABLE ${s}.sim_clock (t timestamptz NOT NULL);
INSERT INTO ${s}.sim_clock VALUES ('2024-01-01T00:00:00Z');
-- The shift as an uncorrelated sub-select: computed once per statement, not joined to every row.
CREATE VIEW ${s}.decisions AS
  SELECT decided_at + (SELECT now() - t FROM ${s}.sim_clock) AS decided_at, approved FROM ${s}.sim_rows;`);
});
afterAll(async () => {
  await db?.close();
});

/** Replaces the seeded rows with the decisions of the given minutes ([from, to) ranges). */
async function seed(c: MinuteCounts, ranges: [number, number][]): Promise<number> {
  await db.writer.exec(`TRUNCATE ${s}.sim_rows`);
  const n: number[] = [];
  const k: number[] = [];
  const m: number[] = [];
  for (const [from, to] of ranges)
    for (let i = Math.max(0, from); i < to; i++) {
      n.push(c.n[i] as number);
      k.push(c.k[i] as number);
      m.push(i);
    }
  // Row j of n in minute i at i minutes + (j - 0.5) / n of a minute: inside the minute, on no period edge.
  await db.writer.query(
    `INSERT INTO ${s}.sim_rows
     SELECT $4::timestamptz + make_interval(secs => u.m * 60 + (g.j - 0.5) * 60.0 / u.n), g.j <= u.k
     FROM unnest($1::int[], $2::int[], $3::int[]) AS u(n, k, m), generate_series(1, u.n) AS g(j)`,
    [n, k, m, new Date(EPOCH).toISOString()],
  );
  await db.writer.exec(`ANALYZE ${s}.sim_rows`);
  return n.reduce((a, x) => a + x, 0);
}

/** The KPI as the demo configures it (the default windows, 30m to 1d, and baseline, 4 weeks), or other windows. */
function kpiCheck(windows?: string): Check {
  const config = loadConfigText(
    `warehouse:\n  url: ${db.configUrl}\nkpis:\n  - name: approval_rate\n    ratio: { table: ${s}.decisions, timestamp: decided_at, numerator: approved }\n    dataset: applications\n${windows ? `    windows: ${windows}\n` : ''}`,
    'sim.yaml',
    {},
    '/',
  );
  return config.checks[0] as Check;
}

/** The check's output with now() at the start of `minute`, per window, as the rules read it. */
async function runAt(check: Check, minute: number): Promise<Exported[]> {
  await db.writer.query(`UPDATE ${s}.sim_clock SET t = $1`, [
    new Date(EPOCH + minute * 60_000).toISOString(),
  ]);
  const result = await db.warehouse.readOnly({ timeoutMs: 30_000 }, (q) => check.run(q));
  const byWindow = new Map<string, Exported>();
  const get = (x: Sample) => {
    const w = x.labels.window as string;
    if (!byWindow.has(w)) byWindow.set(w, { window: w });
    return byWindow.get(w) as Exported;
  };
  for (const x of result.samples) {
    if (x.name === 'mlwatch_kpi_value') get(x).value = x.value;
    if (x.name === 'mlwatch_kpi_baseline') get(x).baseline = x.value;
    if (x.name === 'mlwatch_kpi_standard_error') get(x).standardError = x.value;
  }
  return [...byWindow.values()];
}

/** The model's numbers for the same minute, unrounded: the check must export exactly these. */
function modelAt(c: Prefix, minute: number, windows: readonly Window[] = DEFAULT_WINDOWS): Exported[] {
  return exportedAt(c, minute, windows).map((w) => ({
    window: w.window.label,
    ...(w.value !== null ? { value: w.value } : {}),
    ...(w.baseline !== null ? { baseline: w.baseline } : {}),
    ...(w.standardError !== null ? { standardError: w.standardError } : {}),
  }));
}

/** The stretches a check at minutes [from, to] reads: its widest window, now and 1..4 weeks back. */
const stretches = (from: number, to: number, widest: number): [number, number][] =>
  [0, 1, 2, 3, 4].map((k) => [from - widest - k * MINUTES_A_WEEK, to + 1 - k * MINUTES_A_WEEK]);

// The drops run the check with the windows up to 2h only: a 5,000-an-hour day is 120,000 rows in each of 5
// stretches, which PGlite scans in about half a second a run, where 2h windows keep it to a tenth of that.
// The alert fires when any window qualifies, so without the 6h and 1d windows it can only fire later: these
// detection times bound the default ladder's from above (and here they are the same, as the promtool tests,
// which have every window, show).
const SHORT: Window[] = DEFAULT_WINDOWS.filter((w) => w.ms <= 2 * 3_600_000);

describe.each([
  ['drop10-tuesday', 120],
  ['drop30-tuesday', 30],
])('%s at 5,000 decisions an hour', (name, target) => {
  const scenario = SCENARIOS.find((x) => x.name === name);
  if (!scenario?.traffic.drop) throw new Error(`no scenario ${name}`);
  const start = scenario.traffic.drop.at;
  const promtool = simulate(scenario, readRules());
  const counts = minuteCounts(scenario.traffic, scenario.to, scenario.seed);
  const prefix = prefixOf(counts);

  it(`fires within ${target} minutes, at the run the promtool test expects`, async () => {
    const check = kpiCheck(`[${SHORT.map((w) => w.label).join(', ')}]`);
    const rows = await seed(counts, stretches(start, start + target, 120));
    expect(rows).toBeGreaterThan(50_000);
    const held: boolean[] = [];
    let fired = -1;
    for (let m = start; m <= start + target && fired < 0; m += 5) {
      const out = await runAt(check, m);
      expect(out).toEqual(modelAt(prefix, m, SHORT));
      held.push(suddenDropValue(out, rule) !== undefined);
      fired = firstFiring(held, 5, rule.forMinutes);
    }
    // The condition is false at the drop (healthy until then), so this is the drop's doing.
    expect(held[0]).toBe(false);
    expect(fired).toBeGreaterThan(0);
    const detected = fired * 5;
    expect(detected).toBeLessThanOrEqual(target);
    expect(start + detected).toBe(promtool.runs[promtool.firing]?.minute);
  });
});

describe("4 healthy weeks at the demo's volume, a 20 % weekend dip and a holiday", () => {
  const traffic: Traffic = {
    perHour: DEMO_DECISIONS_PER_HOUR,
    approval: DEMO_APPROVAL_RATE,
    weekendDip: 0.2,
    holidays: [{ day: 5 * 7 + 2, volume: 0.5, approval: 1.2 }],
  };
  const from = 4 * MINUTES_A_WEEK + MINUTES_A_DAY;
  const to = from + 4 * MINUTES_A_WEEK;
  const counts = minuteCounts(traffic, to, 2024);
  const prefix = prefixOf(counts);

  it('the check exports what the model computes, and the alert never fires', async () => {
    const check = kpiCheck();
    const rows = await seed(counts, [[0, to]]);
    expect(rows).toBeGreaterThan(30_000);
    // Every 4 h 55 min, so the runs drift across the hours of the day: 137 runs over the 4 weeks.
    let runs = 0;
    let weekendBelow = 0;
    for (let m = from; m < to; m += 295) {
      const out = await runAt(check, m);
      expect(out).toEqual(modelAt(prefix, m));
      expect(suddenDropValue(out, rule)).toBeUndefined();
      runs++;
      // The weekend dip is in the data: on a weekend the day's rate is well below a weekday's 0.6.
      const day = out.find((e) => e.window === '1d');
      if (Math.floor(m / MINUTES_A_DAY) % 7 === 6 && (day?.value ?? 1) < 0.52) weekendBelow++;
    }
    expect(runs).toBe(137);
    expect(weekendBelow).toBeGreaterThan(10);
    // Between those runs, the model (equal to the check at every one of them) at every 5-minute run.
    const held: boolean[] = [];
    for (let m = from; m < to; m += 5) held.push(suddenDropValue(modelAt(prefix, m), rule) !== undefined);
    expect(held).toHaveLength(8064);
    expect(firstFiring(held, 5, rule.forMinutes)).toBe(-1);
  });
});
