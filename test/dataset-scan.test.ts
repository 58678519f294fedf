import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Exporter } from '../src/runtime/exporter.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { exporterOn } from './helpers/exporter.js';
import { type Parsed, parseExposition, sampleValue, series } from './helpers/exposition.js';

// Known rows, each with its age in seconds before the warehouse's now(); every expected value below is computed
// in JavaScript from this array. Ages stay well away from window edges, since a little time passes between
// the insert and the check.
interface Row {
  age: number;
  id: number | null;
  region: string | null;
  income: number | null;
  age_years: number | null;
  empty: string | null;
}

let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const regions = ['eu', 'us', 'apac', 'mars'];
const rows: Row[] = Array.from({ length: 900 }, (_, i) => ({
  // 0..3h ago, avoiding 1h and 2h edges by at least 2 minutes.
  age: (() => {
    let a = 150 + Math.floor(rand() * 10_500);
    if (Math.abs(a - 3600) < 120 || Math.abs(a - 7200) < 120) a += 300;
    return a;
  })(),
  id: i % 50 === 0 ? null : i % 97 === 0 ? 5 : i,
  region: rand() < 0.08 ? null : (regions[Math.floor(rand() * regions.length)] as string),
  income: rand() < 0.2 ? null : Math.round((rand() * 2 - 0.2) * 1e6) / 100,
  age_years: rand() < 0.1 ? null : Math.floor(rand() * 110),
  empty: null,
}));
// Rows from the future (a writer with a skewed clock) are ignored everywhere.
const future = { age: -3600, id: 100_000, region: 'eu', income: 1, age_years: 30, empty: null };

const inWindow = (r: Row, w: number) => r.age > 0 && r.age <= w;
const ratio = (n: number, d: number) => n / d;

let db: TestDb;
let t: string;
beforeAll(async () => {
  db = await openTestDb();
  t = `${db.schema}.events`;
  await db.writer.exec(
    `CREATE TABLE ${t} (id bigint, at timestamptz not null, region text, income numeric, age_years integer, empty text)`,
  );
  for (const r of [...rows, future]) {
    await db.writer.query(`INSERT INTO ${t} VALUES ($1, now() - make_interval(secs => $2), $3, $4, $5, $6)`, [
      r.id,
      r.age,
      r.region,
      r.income,
      r.age_years,
      r.empty,
    ]);
  }
  await db.writer.exec(`CREATE TABLE ${db.schema}.nothing (id bigint, at timestamptz)`);
});
afterAll(async () => {
  await db?.close();
});

async function scrapeWith(datasetsYaml: string): Promise<{ m: Parsed; exporter: Exporter }> {
  const text = `warehouse:\n  url: ${db.configUrl}\ndefaults: { interval: 1h }\ndatasets:\n${datasetsYaml}`;
  const exporter = exporterOn(db, text);
  await exporter.firstRound();
  const m = parseExposition(await exporter.metricsText());
  await exporter.stop(1000);
  return { m, exporter };
}

describe('dataset scan: freshness, volume, nulls, validity in one statement', () => {
  let m: Parsed;
  beforeAll(async () => {
    ({ m } = await scrapeWith(`  - name: events
    table: ${t}
    timestamp: at
    checks:
      freshness: {}
      volume: { window: 1h }
      nulls: { columns: all, window: 1h }
      validity:
        window: 2h
        columns:
          age_years: { min: 18, max: 100 }
          region: { allowed: [eu, us, apac] }
      duplicates: { key: [id], window: 3h }
  - name: pairs
    table: ${t}
    timestamp: at
    checks:
      duplicates: { key: [region, id], window: 3h }
`));
  });

  it('checks succeed', () => {
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'dataset:events:scan' })).toBe(1);
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'dataset:events:duplicates' })).toBe(1);
  });

  it('freshness is the newest timestamp not in the future', async () => {
    const [now] = await db.writer.query('SELECT extract(epoch FROM now())::float8 AS now');
    const newest = Math.min(...rows.map((r) => r.age));
    const expected = Number(now?.now) - newest;
    // The check ran a moment before `now` above; the difference is the time between the two statements.
    expect(
      Math.abs(
        sampleValue(m, 'mlwatch_dataset_last_update_timestamp_seconds', { dataset: 'events' }) - expected,
      ),
    ).toBeLessThan(30);
  });

  it('volume and its baseline one window earlier', () => {
    const cur = rows.filter((r) => inWindow(r, 3600)).length;
    const base = rows.filter((r) => r.age > 3600 && r.age <= 7200).length;
    expect(sampleValue(m, 'mlwatch_dataset_rows', { dataset: 'events', window: '1h' })).toBe(cur);
    expect(sampleValue(m, 'mlwatch_dataset_rows_baseline', { dataset: 'events', window: '1h' })).toBe(base);
  });

  it('null ratio of every column (all), including an all-NULL column and the timestamp', () => {
    const w = rows.filter((r) => inWindow(r, 3600));
    const nulls = (k: keyof Row) => ratio(w.filter((r) => r[k] === null).length, w.length);
    expect(
      sampleValue(m, 'mlwatch_dataset_null_ratio', { dataset: 'events', column: 'region', window: '1h' }),
    ).toBeCloseTo(nulls('region'), 12);
    expect(
      sampleValue(m, 'mlwatch_dataset_null_ratio', { dataset: 'events', column: 'income', window: '1h' }),
    ).toBeCloseTo(nulls('income'), 12);
    expect(
      sampleValue(m, 'mlwatch_dataset_null_ratio', { dataset: 'events', column: 'id', window: '1h' }),
    ).toBeCloseTo(nulls('id'), 12);
    expect(
      sampleValue(m, 'mlwatch_dataset_null_ratio', { dataset: 'events', column: 'empty', window: '1h' }),
    ).toBe(1);
    expect(
      sampleValue(m, 'mlwatch_dataset_null_ratio', { dataset: 'events', column: 'at', window: '1h' }),
    ).toBe(0);
    expect(series(m, 'mlwatch_dataset_null_ratio')).toHaveLength(6);
  });

  it('invalid ratio over non-NULL values, for ranges and allowed sets', () => {
    const w = rows.filter((r) => inWindow(r, 7200));
    const ages = w.filter((r) => r.age_years !== null);
    const badAge = ages.filter((r) => (r.age_years as number) < 18 || (r.age_years as number) > 100).length;
    const regionsIn = w.filter((r) => r.region !== null);
    const badRegion = regionsIn.filter((r) => r.region === 'mars').length;
    expect(
      sampleValue(m, 'mlwatch_dataset_invalid_ratio', {
        dataset: 'events',
        column: 'age_years',
        window: '2h',
      }),
    ).toBeCloseTo(badAge / ages.length, 12);
    expect(
      sampleValue(m, 'mlwatch_dataset_invalid_ratio', { dataset: 'events', column: 'region', window: '2h' }),
    ).toBeCloseTo(badRegion / regionsIn.length, 12);
  });

  it('duplicate keys ignore rows with a NULL key', () => {
    const counts = new Map<number, number>();
    for (const r of rows.filter((x) => inWindow(x, 10_800) && x.id !== null))
      counts.set(r.id as number, (counts.get(r.id as number) ?? 0) + 1);
    const dupes = [...counts.values()].filter((n) => n > 1).length;
    expect(dupes).toBeGreaterThan(0);
    expect(sampleValue(m, 'mlwatch_dataset_duplicate_keys', { dataset: 'events', window: '3h' })).toBe(dupes);
  });

  it('a key of two columns counts the pairs held by more than one row, NULL in either left out', () => {
    const kept = rows.filter((x) => inWindow(x, 10_800) && x.id !== null && x.region !== null);
    const repeated = (key: (r: Row) => string) => {
      const counts = new Map<string, number>();
      for (const r of kept) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1);
      return [...counts.values()].filter((n) => n > 1).length;
    };
    const dupes = repeated((r) => `${r.region} ${r.id}`);
    // Neither column alone gives it: a GROUP BY that dropped one would fail here.
    expect(dupes).toBeGreaterThan(0);
    expect(dupes).not.toBe(repeated((r) => `${r.id}`));
    expect(dupes).not.toBe(repeated((r) => `${r.region}`));
    expect(sampleValue(m, 'mlwatch_dataset_duplicate_keys', { dataset: 'pairs', window: '3h' })).toBe(dupes);
  });
});

describe('empty windows and tables', () => {
  it('export no ratio and say why, but do export zero volume', async () => {
    const { m } = await scrapeWith(`  - name: nothing
    table: ${db.schema}.nothing
    timestamp: at
    checks:
      freshness: {}
      volume: { window: 1h }
      nulls: { columns: [id], window: 1h }
`);
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'dataset:nothing:scan' })).toBe(1);
    expect(series(m, 'mlwatch_dataset_null_ratio')).toHaveLength(0);
    expect(series(m, 'mlwatch_dataset_last_update_timestamp_seconds')).toHaveLength(0);
    expect(sampleValue(m, 'mlwatch_dataset_rows', { dataset: 'nothing', window: '1h' })).toBe(0);
    expect(
      sampleValue(m, 'mlwatch_check_skipped_samples', {
        check: 'dataset:nothing:scan',
        reason: 'empty_window',
      }),
    ).toBe(1);
    expect(
      sampleValue(m, 'mlwatch_check_skipped_samples', {
        check: 'dataset:nothing:scan',
        reason: 'empty_table',
      }),
    ).toBe(1);
    expect(m.samples.some((s) => Number.isNaN(s.value))).toBe(false);
  });

  it('a column that does not exist fails the check with the column named', async () => {
    const { exporter } = await scrapeWith(`  - name: typo
    table: ${t}
    timestamp: at
    checks:
      nulls: { columns: [incme] }
`);
    expect(exporter.cachedChecks()[0]?.lastError).toMatch(/column "incme" does not exist \(SQLSTATE 42703\)/);
  });
});

describe('freshness: the age of the newest row', () => {
  const AGE = 'mlwatch_dataset_newest_row_age_seconds';
  it("is now() - max(timestamp) on the warehouse's clock at the run, growing between runs on the exporter's monotonic clock alone", async () => {
    const fresh = `${db.schema}.fresh`;
    await db.writer.exec(`CREATE TABLE ${fresh} (id bigint, at timestamptz not null)`);
    // The newest row 200 s old; one in the future (a skewed writer) is ignored.
    await db.writer.exec(
      `INSERT INTO ${fresh} VALUES (1, now() - interval '900 seconds'), (2, now() - interval '200 seconds'),
                                   (3, now() + interval '1 hour')`,
    );
    const exporter = exporterOn(
      db,
      `warehouse:\n  url: ${db.configUrl}\ndefaults: { interval: 1h }\ndatasets:\n  - name: fresh\n    table: ${fresh}\n    timestamp: at\n    checks: { freshness: {} }\n`,
    );
    try {
      await exporter.firstRound();
      const scrape = async () => {
        const at = performance.now();
        const m = parseExposition(await exporter.metricsText());
        return { at, age: sampleValue(m, AGE, { dataset: 'fresh' }), m };
      };
      // The warehouse's own reading, then the exporter's: they agree up to the time between the two.
      const asked = performance.now();
      const [wh] = await db.writer.query(
        `SELECT extract(epoch FROM now() - max(at))::float8 AS age FROM ${fresh} WHERE at < now()`,
      );
      const first = await scrape();
      expect(Number(wh?.age)).toBeGreaterThan(200);
      expect(Math.abs(first.age - (Number(wh?.age) + (first.at - asked) / 1000))).toBeLessThan(0.25);
      expect(first.m.type.get(AGE)).toBe('gauge');

      // No run in between (interval 1h): the age grows by the time between the scrapes, and only by it.
      await new Promise((r) => setTimeout(r, 1500));
      const second = await scrape();
      expect(second.age - first.age).toBeCloseTo((second.at - first.at) / 1000, 1);
      expect(second.age - first.age).toBeGreaterThan(1.4);

      // The exporter's wall clock jumps 5 minutes (NTP, a wrong clock): the age does not jump with it.
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        vi.setSystemTime(Date.now() + 300_000);
        const third = await scrape();
        expect(third.age - second.age).toBeCloseTo((third.at - second.at) / 1000, 1);
        expect(third.age - second.age).toBeLessThan(5);
      } finally {
        vi.useRealTimers();
      }

      // A new row, and a run that sees it: the age drops to the new row's.
      await db.writer.exec(`INSERT INTO ${fresh} VALUES (4, now() - interval '2 seconds')`);
      await exporter.runNow();
      const fourth = await scrape();
      expect(fourth.age).toBeGreaterThan(1.9);
      expect(fourth.age).toBeLessThan(4);
    } finally {
      await exporter.stop(1000);
    }
  });

  it('is absent for an empty table, like the timestamp', async () => {
    const { m } = await scrapeWith(`  - name: nothing
    table: ${db.schema}.nothing
    timestamp: at
    checks: { freshness: {} }
`);
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'dataset:nothing:scan' })).toBe(1);
    expect(series(m, AGE)).toHaveLength(0);
    expect(series(m, 'mlwatch_dataset_last_update_timestamp_seconds')).toHaveLength(0);
  });
});
