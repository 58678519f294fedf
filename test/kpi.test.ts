import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIAN_VARIANCE } from '../src/checks/kpi/baseline.js';
import { DEFAULT_WINDOWS } from '../src/checks/kpi/section.js';
import { loadConfigText } from '../src/config/load.js';
import { createApp } from '../src/http/app.js';
import { Security } from '../src/http/auth/security.js';
import { WebConfigSource } from '../src/http/auth/web-config-source.js';
import { Exporter } from '../src/runtime/exporter.js';
import type { Queryable } from '../src/warehouse/types.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { memoryLogger } from './helpers/exporter.js';
import { type Parsed, sampleValue, series } from './helpers/exposition.js';
import { scrape } from './helpers/wait.js';

// Known decisions, each stamped a whole number of seconds before one base instant read from the warehouse
// clock just before seeding. Every expected value below is counted from this array in JavaScript, not by
// SQL. Ages keep at least 2 minutes from every period edge, so the few seconds between seeding and the check
// run cannot move a row across one; no row is within 12 minutes of now or of a whole number of weeks ago, so
// the 10m window is empty now and in every baseline week.
interface Decision {
  age: number;
  approved: boolean | null;
  channel: 'web' | 'branch';
}

let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const M = 60;
const H = 3600;
const D = 86_400;
const W = 7 * D;
const rows: Decision[] = [];

/** `count` rows with ages uniform in (from, to), approved with probability p (5 % NULL), away from `avoid`. */
function add(count: number, from: number, to: number, p: number, avoid: number[] = []): void {
  for (let i = 0; i < count; i++) {
    let age = Math.round(from + rand() * (to - from));
    if (avoid.some((a) => Math.abs(age - a) < 2 * M)) age += 5 * M;
    const u = rand();
    const approved = u < 0.05 ? null : rand() < p;
    rows.push({ age, approved, channel: rand() < 0.6 ? 'web' : 'branch' });
  }
}
// Current day: approval near 0.5, with a denser last hour. Previous day: near 0.7. Then the same day 1 to 4
// weeks earlier (the baseline weeks): near 0.65, 0.2 (an odd week, a holiday: the median must not follow it),
// 0.6 and 0.75, each with its own last hour. Between them, rows no period counts.
add(300, 12 * M, D - 2 * M, 0.5, [H]);
add(80, 12 * M, H - 2 * M, 0.4);
add(200, D + 2 * M, 2 * D - 2 * M, 0.7);
add(150, 2 * D + 2 * M, W - 2 * M, 0.3);
for (const [k, p, n] of [
  [1, 0.65, 250],
  [2, 0.2, 120],
  [3, 0.6, 180],
  [4, 0.75, 220],
] as const) {
  add(n, k * W + 12 * M, k * W + D - 2 * M, p, [k * W + H]);
  add(n / 5, k * W + 12 * M, k * W + H - 2 * M, p + 0.1);
  add(20, k * W + D + 2 * M, (k + 1) * W - 2 * M, 0.0);
}
// Outside every period: older than the oldest baseline week, and in the future (a writer with a skewed clock).
add(30, 5 * W + 2 * M, 5 * W + D, 0.0);
add(10, -20 * M, -2 * M, 0.0);

interface Span {
  startAgo: number;
  endAgo: number;
}
const current = (w: number): Span => ({ startAgo: w, endAgo: 0 });
const weekAgo = (w: number, k: number): Span => ({ startAgo: k * W + w, endAgo: k * W });

/** Rows in [now - startAgo, now - endAgo), optionally only one channel. */
function within(s: Span, channel?: string): Decision[] {
  return rows.filter(
    (r) => r.age <= s.startAgo && r.age > s.endAgo && (channel === undefined || r.channel === channel),
  );
}
interface Counted {
  value: number | undefined;
  volume: number;
  /** Hits (ratio), or the sum of squared deviations from the mean (SQL avg), for the pooled spread. */
  hits: number;
  sq: number;
}
/** The ratio form: approved rows / all rows (a NULL approval counts in the denominator only). */
function ratio(s: Span, channel?: string): Counted {
  const all = within(s, channel);
  const yes = all.filter((r) => r.approved === true).length;
  return { value: all.length === 0 ? undefined : yes / all.length, volume: all.length, hits: yes, sq: 0 };
}
/** avg(approved::int), count(approved) and stddev_pop(approved::int): NULLs are left out of all three. */
function avgApproved(s: Span): Counted {
  const known = within(s).filter((r) => r.approved !== null);
  const yes = known.filter((r) => r.approved === true).length;
  const mean = yes / known.length;
  const sq = known.reduce((a, r) => a + ((r.approved ? 1 : 0) - mean) ** 2, 0);
  return { value: known.length === 0 ? undefined : mean, volume: known.length, hits: yes, sq };
}

function medianOf(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? s[h] : ((s[h - 1] as number) + (s[h] as number)) / 2;
}

/**
 * What a window should export, counted here: the median of the weeks with a value, the median of their
 * volumes, and the standard error s * sqrt(1 / n0 + c(m) / median volume), s pooled over the current and
 * those weeks' rows (p (1 - p) of all their rows for a ratio; the within-period squared deviations for SQL).
 */
function expected(w: number, weeks: number, count: (s: Span) => Counted, form: 'ratio' | 'sql') {
  const now = count(current(w));
  const behind = Array.from({ length: weeks }, (_, i) => count(weekAgo(w, i + 1))).filter(
    (x) => x.value !== undefined,
  );
  const baseline = medianOf(behind.map((x) => x.value as number));
  const baselineVolume = medianOf(behind.map((x) => x.volume));
  const all = [now, ...behind];
  const rowsAll = all.reduce((a, x) => a + x.volume, 0);
  let variance: number;
  if (form === 'ratio') {
    const p = all.reduce((a, x) => a + x.hits, 0) / rowsAll;
    variance = p * (1 - p);
  } else {
    variance = all.reduce((a, x) => a + x.sq, 0) / rowsAll;
  }
  const c = MEDIAN_VARIANCE[behind.length - 1] as number;
  const se =
    now.value === undefined || behind.length === 0
      ? undefined
      : Math.sqrt(variance * (1 / now.volume + c / (baselineVolume as number)));
  return { value: now.value, volume: now.volume, baseline, baselineVolume, se };
}

const closeTo = (actual: number, want: number | undefined) => {
  if (want === undefined) throw new Error(`expected no value, got ${actual}`);
  const tol = 1e-12 * Math.max(Math.abs(want), 1);
  if (!(Math.abs(actual - want) <= tol)) throw new Error(`expected ${actual} to be within ${tol} of ${want}`);
};

let db: TestDb;
let s: string;
beforeAll(async () => {
  db = await openTestDb();
  s = db.schema;
  await db.writer.exec(`CREATE TABLE ${s}.decisions (id bigint, decided_at timestamptz NOT NULL, approved boolean, channel text);
CREATE TABLE ${s}.idle_decisions (decided_at timestamptz NOT NULL, approved boolean);
CREATE TABLE ${s}.base AS SELECT now() AS t0;`);
  for (let at = 0; at < rows.length; at += 200) {
    const chunk = rows.slice(at, at + 200);
    const values = chunk.map(
      (_, i) =>
        `($${i * 4 + 1}::bigint, (SELECT t0 FROM ${s}.base) - make_interval(secs => $${i * 4 + 2}), $${i * 4 + 3}::boolean, $${i * 4 + 4})`,
    );
    await db.writer.query(
      `INSERT INTO ${s}.decisions VALUES ${values.join(', ')}`,
      chunk.flatMap((r, i) => [at + i, r.age, r.approved, r.channel]),
    );
  }
});
afterAll(async () => {
  await db?.close();
});

const kpisYaml = () => `kpis:
  - name: approval
    ratio: { table: ${s}.decisions, timestamp: decided_at, numerator: approved }
    windows: [1d, 1h]
    dataset: decisions
  - name: web_approval
    ratio:
      table: ${s}.decisions
      timestamp: decided_at
      numerator: approved IS TRUE
      filter: channel = 'web'
    baseline: { weeks: 1 }
  - name: approval_sql
    sql: |
      SELECT avg(approved::int)::float8 AS value, count(approved) AS volume, stddev_pop(approved::int)::float8 AS stddev
      FROM ${s}.decisions WHERE decided_at >= $1 AND decided_at < $2
    windows: [1d, 1h, 10m]
  - name: approval_single
    sql: SELECT count(*) FILTER (WHERE approved)::float8 / nullif(count(*), 0) FROM ${s}.decisions WHERE decided_at >= $1 AND decided_at < $2
    windows: [1d, 10m]
  - name: idle
    ratio: { table: ${s}.idle_decisions, timestamp: decided_at, numerator: approved }
    windows: [1d, 1h]
  - name: no_rows
    sql: SELECT 1.0 AS value FROM ${s}.decisions WHERE decided_at >= $1 AND decided_at < $2 HAVING false
    windows: [1d]
`;

function configText(kpis: string): string {
  return `warehouse:\n  url: ${db.configUrl}\n  statement_timeout: 10s\ndefaults: { interval: 1h }\n${kpis}`;
}

/** Runs the exporter's first round and reads /metrics over HTTP, as Prometheus would. */
async function scrapeOnce(kpis: string): Promise<{ m: Parsed; logs: Record<string, unknown>[] }> {
  const config = loadConfigText(configText(kpis), 'test.yaml', {}, '/');
  const logger = memoryLogger();
  const exporter = Exporter.start(config, {
    log: logger.log,
    openWarehouse: () => db.newWarehouse(),
    withProcessMetrics: false,
  });
  const web = new WebConfigSource(undefined, logger.log);
  const security = new Security(config.raw, {
    web,
    log: logger.log,
    lifecycle: false,
    insecureActions: false,
  });
  const app = createApp({
    exporter: () => exporter,
    reload: async () => ({ ok: true }),
    security,
    web,
    log: logger.log,
  });
  const server = app.listen(0, '127.0.0.1');
  try {
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    await exporter.firstRound();
    const m = await scrape(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return { m, logs: logger.lines() };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await exporter.stop(1000);
  }
}

function skips(m: Parsed, check: string): Record<string, number> {
  return Object.fromEntries(
    series(m, 'mlwatch_check_skipped_samples', { check }).map((x) => [x.labels.reason as string, x.value]),
  );
}

describe('KPIs against their baseline', () => {
  let m: Parsed;
  beforeAll(async () => {
    ({ m } = await scrapeOnce(kpisYaml()));
  });

  it('every KPI check succeeds', () => {
    for (const k of ['approval', 'web_approval', 'approval_sql', 'approval_single', 'idle', 'no_rows'])
      expect(sampleValue(m, 'mlwatch_check_success', { check: `kpi:${k}` }), k).toBe(1);
  });

  it('the seeded data makes the checks meaningful', () => {
    expect(ratio(current(D)).volume).toBeGreaterThan(300);
    expect(ratio(current(H)).volume).toBeGreaterThan(50);
    expect(within(current(D)).some((r) => r.approved === null)).toBe(true);
    expect(within(current(600))).toHaveLength(0);
    // The weeks differ from the current day and from each other, and the odd week pulls the mean far from the
    // median: a baseline from the wrong period, a mean, or the week-ago period alone would show.
    const weeks = [1, 2, 3, 4].map((k) => ratio(weekAgo(D, k)).value as number);
    const median = medianOf(weeks) as number;
    const mean = weeks.reduce((a, x) => a + x, 0) / 4;
    expect(Math.abs(median - (ratio(current(D)).value as number))).toBeGreaterThan(0.05);
    expect(Math.abs(median - mean)).toBeGreaterThan(0.05);
    expect(Math.abs(median - (weeks[0] as number))).toBeGreaterThan(0.005);
    // Volumes differ by week too, so the baseline volume is a median, not any one week's.
    expect(new Set([1, 2, 3, 4].map((k) => ratio(weekAgo(D, k)).volume)).size).toBe(4);
  });

  it('ratio: value, median baseline of 4 weeks, volumes and standard error for every window', () => {
    for (const [w, secs] of [
      ['1d', D],
      ['1h', H],
    ] as const) {
      const labels = { kpi: 'approval', window: w };
      const want = expected(secs, 4, (x) => ratio(x), 'ratio');
      closeTo(sampleValue(m, 'mlwatch_kpi_value', labels), want.value);
      closeTo(sampleValue(m, 'mlwatch_kpi_baseline', labels), want.baseline);
      closeTo(sampleValue(m, 'mlwatch_kpi_standard_error', labels), want.se);
      expect(sampleValue(m, 'mlwatch_kpi_volume', { ...labels, period: 'current' })).toBe(want.volume);
      expect(sampleValue(m, 'mlwatch_kpi_volume', { ...labels, period: 'baseline' })).toBe(
        want.baselineVolume,
      );
    }
  });

  it('ratio with a filter, a baseline of one week, and the default windows', () => {
    for (const w of DEFAULT_WINDOWS) {
      const labels = { kpi: 'web_approval', window: w.label };
      const want = expected(w.ms / 1000, 1, (x) => ratio(x, 'web'), 'ratio');
      if (want.value === undefined) {
        expect(series(m, 'mlwatch_kpi_value', labels)).toHaveLength(0);
      } else {
        closeTo(sampleValue(m, 'mlwatch_kpi_value', labels), want.value);
        closeTo(sampleValue(m, 'mlwatch_kpi_standard_error', labels), want.se);
      }
      // One week: the baseline is that week's value, and its error counts in full (c(1) = 1).
      closeTo(sampleValue(m, 'mlwatch_kpi_baseline', labels), ratio(weekAgo(w.ms / 1000, 1), 'web').value);
      expect(sampleValue(m, 'mlwatch_kpi_volume', { ...labels, period: 'baseline' })).toBe(
        ratio(weekAgo(w.ms / 1000, 1), 'web').volume,
      );
    }
    expect(series(m, 'mlwatch_kpi_value', { kpi: 'web_approval' }).map((x) => x.labels.window)).toEqual(
      DEFAULT_WINDOWS.map((w) => w.label),
    );
  });

  it('sql: the statement run for each window and period; volume and stddev give the standard error', () => {
    for (const [w, secs] of [
      ['1d', D],
      ['1h', H],
    ] as const) {
      const labels = { kpi: 'approval_sql', window: w };
      const want = expected(secs, 4, avgApproved, 'sql');
      closeTo(sampleValue(m, 'mlwatch_kpi_value', labels), want.value);
      closeTo(sampleValue(m, 'mlwatch_kpi_baseline', labels), want.baseline);
      expect(sampleValue(m, 'mlwatch_kpi_volume', { ...labels, period: 'current' })).toBe(want.volume);
      expect(sampleValue(m, 'mlwatch_kpi_volume', { ...labels, period: 'baseline' })).toBe(
        want.baselineVolume,
      );
      const se = sampleValue(m, 'mlwatch_kpi_standard_error', labels);
      expect(Math.abs(se - (want.se as number))).toBeLessThanOrEqual(1e-9 * (want.se as number));
    }
  });

  it('sql: one unnamed column is the value, and no volume or standard error is exported', () => {
    const labels = { kpi: 'approval_single', window: '1d' };
    closeTo(sampleValue(m, 'mlwatch_kpi_value', labels), ratio(current(D)).value);
    closeTo(
      sampleValue(m, 'mlwatch_kpi_baseline', labels),
      expected(D, 4, (x) => ratio(x), 'ratio').baseline,
    );
    expect(series(m, 'mlwatch_kpi_volume', { kpi: 'approval_single' })).toHaveLength(0);
    expect(series(m, 'mlwatch_kpi_standard_error', { kpi: 'approval_single' })).toHaveLength(0);
    // The two forms agree where they compute the same thing.
    expect(sampleValue(m, 'mlwatch_kpi_value', labels)).toBe(
      sampleValue(m, 'mlwatch_kpi_value', { kpi: 'approval', window: '1d' }),
    );
    expect(sampleValue(m, 'mlwatch_kpi_baseline', labels)).toBe(
      sampleValue(m, 'mlwatch_kpi_baseline', { kpi: 'approval', window: '1d' }),
    );
  });

  it('a NULL result (empty window) exports no value series and says why', () => {
    // The 10m window is empty now and in every baseline week: avg() and x / nullif(0, 0) are NULL.
    for (const k of [1, 2, 3, 4]) expect(within(weekAgo(600, k))).toHaveLength(0);
    for (const kpi of ['approval_sql', 'approval_single']) {
      expect(series(m, 'mlwatch_kpi_value', { kpi, window: '10m' })).toHaveLength(0);
      expect(series(m, 'mlwatch_kpi_baseline', { kpi, window: '10m' })).toHaveLength(0);
      expect(series(m, 'mlwatch_kpi_standard_error', { kpi, window: '10m' })).toHaveLength(0);
    }
    // count(approved) is 0, not NULL: the volume is still exported, now and for the baseline weeks.
    for (const period of ['current', 'baseline'])
      expect(sampleValue(m, 'mlwatch_kpi_volume', { kpi: 'approval_sql', window: '10m', period })).toBe(0);
    // One skipped series for the value, one for the baseline.
    expect(skips(m, 'kpi:approval_sql')).toEqual({ null_value: 2 });
    expect(skips(m, 'kpi:approval_single')).toEqual({ null_value: 2 });
  });

  it('zero denominator: volume 0, no value or baseline, never NaN', () => {
    for (const w of ['1d', '1h']) {
      expect(series(m, 'mlwatch_kpi_value', { kpi: 'idle', window: w })).toHaveLength(0);
      expect(series(m, 'mlwatch_kpi_baseline', { kpi: 'idle', window: w })).toHaveLength(0);
      for (const period of ['current', 'baseline'])
        expect(sampleValue(m, 'mlwatch_kpi_volume', { kpi: 'idle', window: w, period })).toBe(0);
    }
    expect(skips(m, 'kpi:idle')).toEqual({ zero_denominator: 4 });
    for (const x of m.samples.filter((y) => y.name.startsWith('mlwatch_kpi_')))
      expect(Number.isFinite(x.value), JSON.stringify(x)).toBe(true);
  });

  it('a statement returning no row is a NULL result', () => {
    expect(series(m, 'mlwatch_kpi_value', { kpi: 'no_rows' })).toHaveLength(0);
    expect(series(m, 'mlwatch_kpi_volume', { kpi: 'no_rows' })).toHaveLength(0);
    expect(skips(m, 'kpi:no_rows')).toEqual({ null_value: 2 });
  });

  it('labels: kpi and window (and period on the volume); the dataset rides on mlwatch_kpi_info', () => {
    for (const name of ['mlwatch_kpi_value', 'mlwatch_kpi_baseline', 'mlwatch_kpi_standard_error']) {
      expect(series(m, name).length).toBeGreaterThan(5);
      for (const x of series(m, name)) expect(Object.keys(x.labels).sort()).toEqual(['kpi', 'window']);
    }
    for (const x of series(m, 'mlwatch_kpi_volume'))
      expect(Object.keys(x.labels).sort()).toEqual(['kpi', 'period', 'window']);
    expect(series(m, 'mlwatch_kpi_info', { kpi: 'approval' })).toEqual([
      { name: 'mlwatch_kpi_info', labels: { kpi: 'approval', dataset: 'decisions' }, value: 1 },
    ]);
    expect(series(m, 'mlwatch_kpi_info', { kpi: 'idle' })).toEqual([
      { name: 'mlwatch_kpi_info', labels: { kpi: 'idle' }, value: 1 },
    ]);
    expect(m.type.get('mlwatch_kpi_value')).toBe('gauge');
    expect(m.help.get('mlwatch_kpi_info')).toContain('dataset');
  });
});

describe('statements', () => {
  /** Runs one KPI check in a read-only transaction, counting its statements. */
  async function statementsOf(kpi: string): Promise<number> {
    const config = loadConfigText(configText(`kpis:\n${kpi}`), 'test.yaml', {}, '/');
    const check = config.checks[0];
    if (!check) throw new Error('no check built');
    let n = 0;
    await db.warehouse.readOnly({ timeoutMs: 10_000 }, async (q) => {
      const counting: Queryable = {
        query: (sql, params) => {
          n++;
          return q.query(sql, params);
        },
      };
      await check.run(counting);
    });
    return n;
  }

  it('the ratio form reads every window, now and at baseline, in one statement', async () => {
    expect(
      await statementsOf(`  - name: r
    ratio: { table: ${s}.decisions, timestamp: decided_at, numerator: approved }
    windows: [1d, 1h, 10m]`),
    ).toBe(1);
  });

  it('the sql form runs the bounds once, then the statement per window and period', async () => {
    expect(
      await statementsOf(`  - name: q
    sql: SELECT count(*)::float8 FROM ${s}.decisions WHERE decided_at >= $1 AND decided_at < $2
    windows: [1d, 1h]`),
    ).toBe(1 + 2 * 5);
  });
});

describe('a statement that breaks the KPI contract fails its check, with a reason', () => {
  let m: Parsed;
  let logs: Record<string, unknown>[];
  beforeAll(async () => {
    ({ m, logs } = await scrapeOnce(`kpis:
  - name: two_rows
    sql: SELECT count(*)::float8 FROM ${s}.decisions WHERE decided_at >= $1 AND decided_at < $2 GROUP BY channel
    windows: [1d]
  - name: odd_columns
    sql: SELECT 1 AS a, 2 AS b FROM ${s}.decisions WHERE decided_at >= $1 AND decided_at < $2 LIMIT 1
  - name: spread_alone
    sql: SELECT avg(approved::int)::float8 AS value, stddev_pop(approved::int)::float8 AS stddev FROM ${s}.decisions WHERE decided_at >= $1 AND decided_at < $2
  - name: healthy
    ratio: { table: ${s}.decisions, timestamp: decided_at, numerator: approved }
`));
  });

  it('the broken checks fail; the healthy one is unaffected', () => {
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'kpi:two_rows' })).toBe(0);
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'kpi:odd_columns' })).toBe(0);
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'kpi:spread_alone' })).toBe(0);
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'kpi:healthy' })).toBe(1);
    expect(series(m, 'mlwatch_kpi_value', { kpi: 'two_rows' })).toHaveLength(0);
  });

  it('logs what to fix', () => {
    const text = JSON.stringify(logs);
    expect(text).toContain(
      'the KPI statement returned 2 rows for window 1d (current); it must return one row: aggregate it, e.g. SELECT avg(...)',
    );
    expect(text).toContain(
      'the KPI statement returned columns a, b; return one column (the KPI), or columns named value and volume (and stddev, the spread of what value averages)',
    );
    expect(text).toContain(
      'the KPI statement returned stddev without volume; a spread gives a standard error only with the rows behind it: add count(*) AS volume',
    );
  });
});

describe('the variance of a median of m weeks (MEDIAN_VARIANCE)', () => {
  // Recomputed here by quadrature over the normal order statistics, independently of the scipy figures the
  // table was written from: Var(X(i)) for odd m; for even m, Var((X(i) + X(i+1)) / 2) from their joint density.
  const pdf = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
  // Abramowitz and Stegun 7.1.26 (error below 1.5e-7), for the normal CDF.
  const cdf = (x: number) => {
    const t = 1 / (1 + 0.3275911 * Math.abs(x / Math.SQRT2));
    const y =
      1 -
      ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
        t *
        Math.exp(-(x * x) / 2);
    return x >= 0 ? (1 + y) / 2 : (1 - y) / 2;
  };
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const h = 0.02;
  const grid = Array.from({ length: 601 }, (_, i) => -6 + i * h);

  function medianVariance(m: number): number {
    if (m % 2 === 1) {
      const i = (m + 1) / 2;
      const c = fact(m) / (fact(i - 1) * fact(m - i));
      // The median's density is symmetric, so its mean is 0.
      return grid.reduce(
        (a, x) => a + x * x * c * cdf(x) ** (i - 1) * (1 - cdf(x)) ** (m - i) * pdf(x) * h,
        0,
      );
    }
    const i = m / 2;
    const c = fact(m) / (fact(i - 1) * fact(m - i - 1));
    let v = 0;
    // The density is not 0 on the diagonal y = x, the edge of the region: it gets half a cell (trapezoid).
    for (const x of grid)
      for (const y of grid) {
        if (y < x) continue;
        const f = ((x + y) / 2) ** 2 * c * cdf(x) ** (i - 1) * (1 - cdf(y)) ** (m - i - 1) * pdf(x) * pdf(y);
        v += (y === x ? 0.5 : 1) * f * h * h;
      }
    return v;
  }

  it('matches the quadrature for 1 to 8 weeks, and shrinks with more weeks', () => {
    for (let m = 1; m <= MEDIAN_VARIANCE.length; m++)
      expect(Math.abs((MEDIAN_VARIANCE[m - 1] as number) - medianVariance(m)), `m = ${m}`).toBeLessThan(5e-4);
    for (let m = 2; m <= MEDIAN_VARIANCE.length; m++)
      expect(MEDIAN_VARIANCE[m - 1] as number).toBeLessThan(MEDIAN_VARIANCE[m - 2] as number);
  });
});
