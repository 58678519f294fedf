import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from './helpers/db.js';
import { startExporter } from './helpers/exporter.js';
import { sampleValue, series } from './helpers/exposition.js';

// Known data, generated here; every expected value below is computed in JavaScript from these rows.
const regions = ['eu', 'us', 'apac', 'la "quoted" \\ back\nslash'];
const orders = Array.from({ length: 500 }, (_, i) => ({
  id: i + 1,
  region: regions[(i * 7) % regions.length] as string,
  amount: i % 11 === 0 ? null : Math.round(((i * 37) % 1000) * 100) / 100,
  shipped: i % 3 === 0,
}));

function expected() {
  const byRegion = new Map<string, { open: number; amount: number | null }>();
  for (const o of orders) {
    if (o.shipped) continue;
    const r = byRegion.get(o.region) ?? { open: 0, amount: null };
    r.open++;
    if (o.amount !== null) r.amount = (r.amount ?? 0) + o.amount;
    byRegion.set(o.region, r);
  }
  return byRegion;
}

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb();
  await db.writer.exec(
    `CREATE TABLE ${db.schema}.orders (id int primary key, region text not null, amount numeric, shipped boolean not null)`,
  );
  for (const o of orders) {
    await db.writer.query(`INSERT INTO ${db.schema}.orders VALUES ($1, $2, $3, $4)`, [
      o.id,
      o.region,
      o.amount,
      o.shipped,
    ]);
  }
});
afterAll(async () => {
  await db?.close();
});

const openOrders = (schema: string) => `
  - name: open_orders
    interval: 1h
    sql: SELECT region, count(*) AS open, sum(amount) AS amount, max(amount) AS top FROM ${schema}.orders WHERE NOT shipped GROUP BY region
    metrics:
      - name: shop_open_orders
        help: Open orders by region.
        labels: [region]
        value: open
      - name: shop_open_amount
        help: Open amount by region; NULL when no amount is known.
        labels: [region]
        values: [amount, top]
        value_label: stat
`;

describe('custom query metrics', () => {
  it('exports one series per row and value column, with values computed independently', async () => {
    const e = startExporter(db, openOrders(db.schema));
    await e.exporter.firstRound();
    const m = await e.scrape();
    const want = expected();
    expect(series(m, 'shop_open_orders')).toHaveLength(want.size);
    for (const [region, w] of want) {
      expect(sampleValue(m, 'shop_open_orders', { region })).toBe(w.open);
      if (w.amount !== null)
        expect(sampleValue(m, 'shop_open_amount', { region, stat: 'amount' })).toBeCloseTo(w.amount, 6);
    }
    expect(m.type.get('shop_open_orders')).toBe('gauge');
    expect(m.help.get('shop_open_amount')).toBe('Open amount by region; NULL when no amount is known.');
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'query:open_orders' })).toBe(1);
    expect(sampleValue(m, 'mlwatch_check_runs_total', { check: 'query:open_orders' })).toBe(1);
    expect(sampleValue(m, 'mlwatch_check_errors_total', { check: 'query:open_orders' })).toBe(0);
    expect(sampleValue(m, 'mlwatch_check_interval_seconds', { check: 'query:open_orders' })).toBe(3600);
    expect(sampleValue(m, 'mlwatch_warehouse_up')).toBe(1);
    const last = sampleValue(m, 'mlwatch_check_last_success_timestamp_seconds', {
      check: 'query:open_orders',
    });
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(30);
    await e.exporter.stop(1000);
  });

  it('skips NULL values and counts them', async () => {
    await db.writer.exec(`CREATE TABLE ${db.schema}.nulls (k text, v numeric)`);
    await db.writer.exec(
      `INSERT INTO ${db.schema}.nulls VALUES ('a', 1), ('b', NULL), ('c', NULL), ('d', 4.5)`,
    );
    const e = startExporter(
      db,
      `  - name: nullable
    sql: SELECT k, v FROM ${db.schema}.nulls
    metrics: [{ name: t_value, help: h, labels: [k], value: v }]
`,
    );
    await e.exporter.firstRound();
    const m = await e.scrape();
    expect(series(m, 't_value').map((s) => [s.labels.k, s.value])).toEqual([
      ['a', 1],
      ['d', 4.5],
    ]);
    expect(
      sampleValue(m, 'mlwatch_check_skipped_samples', { check: 'query:nullable', reason: 'null_value' }),
    ).toBe(2);
    await e.exporter.stop(1000);
  });

  it('a failing check keeps its last good samples, counts errors, logs once, and spares the others', async () => {
    await db.writer.exec(`CREATE TABLE ${db.schema}.fragile AS SELECT 42 AS n`);
    const e = startExporter(
      db,
      `  - name: fragile
    interval: 1h
    sql: SELECT n FROM ${db.schema}.fragile
    metrics: [{ name: t_fragile, help: h, value: n }]
  - name: steady
    interval: 1h
    sql: SELECT count(*) AS n FROM ${db.schema}.orders
    metrics: [{ name: t_steady, help: h, value: n }]
`,
    );
    await e.exporter.firstRound();
    await db.writer.exec(`DROP TABLE ${db.schema}.fragile`);
    for (let i = 0; i < 3; i++) await e.exporter.runNow();
    const m = await e.scrape();
    expect(sampleValue(m, 't_fragile')).toBe(42);
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'query:fragile' })).toBe(0);
    expect(sampleValue(m, 'mlwatch_check_errors_total', { check: 'query:fragile' })).toBe(3);
    expect(sampleValue(m, 'mlwatch_check_runs_total', { check: 'query:fragile' })).toBe(4);
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'query:steady' })).toBe(1);
    expect(sampleValue(m, 't_steady')).toBe(orders.length);
    // A missing table is the check's fault, not the warehouse's.
    expect(sampleValue(m, 'mlwatch_warehouse_up')).toBe(1);
    const failing = e.logs().filter((l) => l.msg === 'check failing');
    expect(failing).toHaveLength(1);
    expect(failing[0]?.reason).toMatch(/fragile" does not exist \(SQLSTATE 42P01\)/);

    await db.writer.exec(`CREATE TABLE ${db.schema}.fragile AS SELECT 7 AS n`);
    await e.exporter.runNow();
    const after = await e.scrape();
    expect(sampleValue(after, 't_fragile')).toBe(7);
    expect(sampleValue(after, 'mlwatch_check_success', { check: 'query:fragile' })).toBe(1);
    expect(e.logs().filter((l) => l.msg === 'check recovered')).toHaveLength(1);
    await e.exporter.stop(1000);
  });

  it('drops the series of a subject that disappeared at the next successful run', async () => {
    await db.writer.exec(
      `CREATE TABLE ${db.schema}.subjects AS SELECT * FROM (VALUES ('x', 1), ('y', 2)) t(k, v)`,
    );
    const e = startExporter(
      db,
      `  - name: subjects
    sql: SELECT k, v FROM ${db.schema}.subjects
    metrics: [{ name: t_subject, help: h, labels: [k], value: v }]
`,
    );
    await e.exporter.firstRound();
    expect(series(await e.scrape(), 't_subject')).toHaveLength(2);
    await db.writer.exec(`DELETE FROM ${db.schema}.subjects WHERE k = 'y'`);
    await e.exporter.runNow();
    expect(series(await e.scrape(), 't_subject').map((s) => s.labels.k)).toEqual(['x']);
    await e.exporter.stop(1000);
  });

  it('fails a result with two rows for the same labels, naming them', async () => {
    const e = startExporter(
      db,
      `  - name: dupes
    sql: SELECT 'a' AS k, 1 AS v UNION ALL SELECT 'a', 2
    metrics: [{ name: t_dupe, help: h, labels: [k], value: v }]
`,
    );
    await e.exporter.firstRound();
    const state = e.exporter.cachedChecks()[0];
    expect(state?.status).toBe('failing');
    expect(state?.lastError).toBe(
      'metric t_dupe: two rows have the same labels {"k":"a"}; add a label column or aggregate in SQL',
    );
    await e.exporter.stop(1000);
  });

  it('fails a text value and a missing column with the column named', async () => {
    const e = startExporter(
      db,
      `  - name: text_value
    sql: SELECT 'high' AS v
    metrics: [{ name: t_text, help: h, value: v }]
  - name: missing_column
    sql: SELECT 1 AS v
    metrics: [{ name: t_missing, help: h, labels: [region], value: v }]
`,
    );
    await e.exporter.firstRound();
    const [text, missing] = e.exporter.cachedChecks();
    expect(text?.lastError).toBe(
      `column 'v' holds "high", which is not a number; cast it in SQL (e.g. ::float8) or use it as a label`,
    );
    expect(missing?.lastError).toBe(
      "metric t_missing: the query returned no column 'region' (it returned: v)",
    );
    await e.exporter.stop(1000);
  });
});

describe('checks cannot write', () => {
  const attempt = async (name: string, sql: string) => {
    const e = startExporter(
      db,
      `  - name: ${name}
    sql: "${sql.replace(/"/g, '\\"')}"
    metrics: [{ name: t_${name}, help: h, value: n }]
`,
    );
    await e.exporter.firstRound();
    const state = e.exporter.cachedChecks()[0];
    await e.exporter.stop(1000);
    return state;
  };
  const count = async () =>
    Number((await db.writer.query(`SELECT count(*) AS n FROM ${db.schema}.orders`))[0]?.n);

  it('refuses a data-modifying CTE with a clear reason and leaves the table as it was', async () => {
    const before = await count();
    const s = await attempt(
      'cte_insert',
      `WITH w AS (INSERT INTO ${db.schema}.orders VALUES (9999, 'eu', 1, false) RETURNING 1) SELECT count(*) AS n FROM w`,
    );
    expect(s?.status).toBe('failing');
    // Postgres names the outer statement (SELECT) for a data-modifying CTE.
    expect(s?.lastError).toBe(
      'checks are read-only and this statement tries to write: cannot execute SELECT in a read-only transaction',
    );
    expect(await count()).toBe(before);
  });

  it('refuses a second statement smuggled after the first; the table survives', async () => {
    const s = await attempt('smuggle', `SELECT 1 AS n; DROP TABLE ${db.schema}.orders`);
    expect(s?.status).toBe('failing');
    expect(s?.lastError).toMatch(/cannot insert multiple commands into a prepared statement/);
    expect(await count()).toBe(orders.length);
  });

  it('refuses a function that writes', async () => {
    await db.writer.exec(
      `CREATE FUNCTION ${db.schema}.sneaky() RETURNS int LANGUAGE sql AS $$ DELETE FROM ${db.schema}.orders RETURNING 1 $$`,
    );
    const s = await attempt('sneaky', `SELECT ${db.schema}.sneaky() AS n`);
    expect(s?.lastError).toMatch(
      /^checks are read-only and this statement tries to write: cannot execute DELETE/,
    );
    expect(await count()).toBe(orders.length);
  });
});
