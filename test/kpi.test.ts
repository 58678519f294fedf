import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
// run cannot move a row across one; no row is within 12 minutes of now or of a week ago, so the 10m window
// is empty now and at its baseline.
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
// Current day: approval near 0.5, with a denser last hour. Previous day (the 1d baseline of web_approval):
// near 0.7. A week earlier (the 7d baseline): near 0.65. Between them, rows no period counts.
add(300, 12 * M, D - 2 * M, 0.5, [H]);
add(80, 12 * M, H - 2 * M, 0.4);
add(200, D + 2 * M, 2 * D - 2 * M, 0.7);
add(150, 2 * D + 2 * M, 7 * D - 2 * M, 0.3);
add(250, 7 * D + 12 * M, 8 * D - 2 * M, 0.65, [7 * D + H]);
add(40, 7 * D + 12 * M, 7 * D + H - 2 * M, 0.8);
// Outside every period: older than the oldest baseline, and in the future (a writer with a skewed clock).
add(30, 8 * D + 2 * M, 9 * D, 0.0);
add(10, -20 * M, -2 * M, 0.0);

interface Span {
  startAgo: number;
  endAgo: number;
}
const current = (w: number): Span => ({ startAgo: w, endAgo: 0 });
const baseline = (w: number, b: number): Span => ({ startAgo: b + w, endAgo: b });

/** Rows in [now - startAgo, now - endAgo), optionally only one channel. */
function within(s: Span, channel?: string): Decision[] {
  return rows.filter(
    (r) => r.age <= s.startAgo && r.age > s.endAgo && (channel === undefined || r.channel === channel),
  );
}
/** The ratio form: approved rows / all rows (a NULL approval counts in the denominator only). */
function ratio(s: Span, channel?: string): { value: number | undefined; volume: number } {
  const all = within(s, channel);
  const yes = all.filter((r) => r.approved === true).length;
  return { value: all.length === 0 ? undefined : yes / all.length, volume: all.length };
}
/** avg(approved::int): NULLs are left out of both. */
function avgApproved(s: Span): { value: number | undefined; volume: number } {
  const known = within(s).filter((r) => r.approved !== null);
  const yes = known.filter((r) => r.approved === true).length;
  return { value: known.length === 0 ? undefined : yes / known.length, volume: known.length };
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
    baseline: 1d
  - name: approval_sql
    sql: |
      SELECT avg(approved::int)::float8 AS value, count(approved) AS volume
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
    // The baselines differ from the current values, so a baseline taken from the wrong period shows.
    expect(Math.abs((ratio(baseline(D, 7 * D)).value ?? 0) - (ratio(current(D)).value ?? 0))).toBeGreaterThan(
      0.05,
    );
  });

  it('ratio: value, baseline one week earlier and volumes for every window', () => {
    for (const [w, secs] of [
      ['1d', D],
      ['1h', H],
    ] as const) {
      const labels = { kpi: 'approval', window: w };
      const now = ratio(current(secs));
      const before = ratio(baseline(secs, 7 * D));
      closeTo(sampleValue(m, 'mlwatch_kpi_value', labels), now.value);
      closeTo(sampleValue(m, 'mlwatch_kpi_baseline', labels), before.value);
      expect(sampleValue(m, 'mlwatch_kpi_volume', { ...labels, period: 'current' })).toBe(now.volume);
      expect(sampleValue(m, 'mlwatch_kpi_volume', { ...labels, period: 'baseline' })).toBe(before.volume);
    }
  });

  it('ratio with a filter, and a baseline one day earlier', () => {
    const labels = { kpi: 'web_approval', window: '1d' };
    closeTo(sampleValue(m, 'mlwatch_kpi_value', labels), ratio(current(D), 'web').value);
    closeTo(sampleValue(m, 'mlwatch_kpi_baseline', labels), ratio(baseline(D, D), 'web').value);
    expect(sampleValue(m, 'mlwatch_kpi_volume', { ...labels, period: 'current' })).toBe(
      ratio(current(D), 'web').volume,
    );
    expect(sampleValue(m, 'mlwatch_kpi_volume', { ...labels, period: 'baseline' })).toBe(
      ratio(baseline(D, D), 'web').volume,
    );
    // Only the default window.
    expect(series(m, 'mlwatch_kpi_value', { kpi: 'web_approval' })).toHaveLength(1);
  });

  it('sql: the statement run for each window and period, with its volume column', () => {
    for (const [w, secs] of [
      ['1d', D],
      ['1h', H],
    ] as const) {
      const labels = { kpi: 'approval_sql', window: w };
      closeTo(sampleValue(m, 'mlwatch_kpi_value', labels), avgApproved(current(secs)).value);
      closeTo(sampleValue(m, 'mlwatch_kpi_baseline', labels), avgApproved(baseline(secs, 7 * D)).value);
      expect(sampleValue(m, 'mlwatch_kpi_volume', { ...labels, period: 'current' })).toBe(
        avgApproved(current(secs)).volume,
      );
      expect(sampleValue(m, 'mlwatch_kpi_volume', { ...labels, period: 'baseline' })).toBe(
        avgApproved(baseline(secs, 7 * D)).volume,
      );
    }
  });

  it('sql: one unnamed column is the value, and no volume is exported', () => {
    const labels = { kpi: 'approval_single', window: '1d' };
    closeTo(sampleValue(m, 'mlwatch_kpi_value', labels), ratio(current(D)).value);
    closeTo(sampleValue(m, 'mlwatch_kpi_baseline', labels), ratio(baseline(D, 7 * D)).value);
    expect(series(m, 'mlwatch_kpi_volume', { kpi: 'approval_single' })).toHaveLength(0);
    // The two forms agree where they compute the same thing.
    expect(sampleValue(m, 'mlwatch_kpi_value', labels)).toBe(
      sampleValue(m, 'mlwatch_kpi_value', { kpi: 'approval', window: '1d' }),
    );
  });

  it('a NULL result (empty window) exports no value series and says why', () => {
    // The 10m window is empty: avg() and x / nullif(0, 0) are NULL. The baseline 10m is a week ago: also empty.
    expect(within(baseline(600, 7 * D))).toHaveLength(0);
    for (const kpi of ['approval_sql', 'approval_single']) {
      expect(series(m, 'mlwatch_kpi_value', { kpi, window: '10m' })).toHaveLength(0);
      expect(series(m, 'mlwatch_kpi_baseline', { kpi, window: '10m' })).toHaveLength(0);
    }
    // count(approved) is 0, not NULL: the volume is still exported.
    expect(
      sampleValue(m, 'mlwatch_kpi_volume', { kpi: 'approval_sql', window: '10m', period: 'current' }),
    ).toBe(0);
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
    for (const x of series(m, 'mlwatch_kpi_value'))
      expect(Object.keys(x.labels).sort()).toEqual(['kpi', 'window']);
    for (const x of series(m, 'mlwatch_kpi_baseline'))
      expect(Object.keys(x.labels).sort()).toEqual(['kpi', 'window']);
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
    ).toBe(1 + 2 * 2);
  });
});

describe('a statement that breaks the KPI contract fails its check, with a reason', () => {
  let m: Parsed;
  let logs: Record<string, unknown>[];
  beforeAll(async () => {
    ({ m, logs } = await scrapeOnce(`kpis:
  - name: two_rows
    sql: SELECT count(*)::float8 FROM ${s}.decisions WHERE decided_at >= $1 AND decided_at < $2 GROUP BY channel
  - name: odd_columns
    sql: SELECT 1 AS a, 2 AS b FROM ${s}.decisions WHERE decided_at >= $1 AND decided_at < $2 LIMIT 1
  - name: healthy
    ratio: { table: ${s}.decisions, timestamp: decided_at, numerator: approved }
`));
  });

  it('the broken checks fail; the healthy one is unaffected', () => {
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'kpi:two_rows' })).toBe(0);
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'kpi:odd_columns' })).toBe(0);
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'kpi:healthy' })).toBe(1);
    expect(series(m, 'mlwatch_kpi_value', { kpi: 'two_rows' })).toHaveLength(0);
  });

  it('logs what to fix', () => {
    const text = JSON.stringify(logs);
    expect(text).toContain(
      'the KPI statement returned 2 rows for window 1d (current); it must return one row: aggregate it, e.g. SELECT avg(...)',
    );
    expect(text).toContain(
      'the KPI statement returned columns a, b; return one column (the KPI), or columns named value and volume',
    );
  });
});
