import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Check, CheckResult } from '../src/checks/types.js';
import { loadConfigText } from '../src/config/load.js';
import { createDuckdbWarehouse } from '../src/warehouse/duckdb.js';
import type { Warehouse } from '../src/warehouse/types.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { copyToDuckdb } from './helpers/duckdb-copy.js';
import { seededRandom } from './helpers/model-tables.js';

// The incremental dataset scan on DuckDB (src/checks/dataset/scan-incremental.ts): its parts statement places
// rows by the dialect's width_bucket (a list_filter on DuckDB) and reads the newest row's age in its own terms.
// Rows over three days, NULLs and values out of range, copied from this run's engine into a DuckDB file; the
// incremental scan's second run (from kept hourly buckets and the parts read) equals the full scan run in the
// same transaction, on DuckDB as on this engine; so do the drift bins and a model's prediction drift bins.

/** The incremental checks' own stamps, which the full checks have no counterpart of. */
const STAMPS = new Set([
  'mlwatch_dataset_recomputed_timestamp_seconds',
  'mlwatch_dataset_reconciled_timestamp_seconds',
  'mlwatch_dataset_kept_buckets',
]);
const { rand, pick } = seededRandom(41);
let db: TestDb;
let duck: Warehouse;
let dir: string;

const config = (url: string, schema: string) => `warehouse: { url: '${url}' }
${url.startsWith('duckdb:') ? 'state: { url: pglite:memory }\n' : ''}datasets:
${['inc', 'full']
  .map(
    (name) => `  - name: ${name}
    table: ${schema}.events
    timestamp: ts
    checks:
      freshness: {}
      volume: { window: 1d }
      nulls: { columns: all, window: 30h }
      validity: { window: 2d, columns: { amount: { min: 0, max: 100 }, status: { allowed: [ok, late] } } }
      drift: { features: [amount, status], current: 1d, reference: { window: 2d }, bins: 4 }
${name === 'inc' ? '    incremental: {}\n' : ''}`,
  )
  .join('')}models:
${['inc', 'full']
  .map(
    (name) => `  - name: ${name}
    task: regression
    owner: data-science
    windows: [1d, 12h]
    predictions: { table: ${schema}.preds, key: id, timestamp: ts, prediction: value }
    labels: { table: ${schema}.labels, key: id, timestamp: ts, label: actual }
    reference: { window: 2d }
${name === 'inc' ? '    incremental: {}\n' : ''}`,
  )
  .join('')}`;

beforeAll(async () => {
  db = await openTestDb();
  const rows: string[] = [];
  for (let i = 0; i < 400; i++) {
    const amount = pick(['NULL', '-5', '150', String(Math.round(rand() * 100))]);
    const status = pick(["'ok'", "'late'", "'bad'", 'NULL']);
    rows.push(
      `(now() - interval '${Math.floor(rand() * 3 * 86_400_000)} milliseconds', ${amount}, ${status})`,
    );
  }
  // Predictions over three days: values, a few NULL and NaN (in no bin), drifting upwards.
  const preds: string[] = [];
  for (let i = 0; i < 600; i++) {
    const ms = Math.floor(rand() * 3 * 86_400_000);
    const value = pick(['NULL', "'NaN'", String(Math.round((rand() + 1 - ms / 86_400_000 / 3) * 1000) / 10)]);
    preds.push(`(${i}, now() - interval '${ms} milliseconds', ${value})`);
  }
  await db.writer.exec(`CREATE TABLE "${db.schema}".events (ts timestamptz, amount float8, status text);
    INSERT INTO "${db.schema}".events VALUES ${rows.join(', ')};
    CREATE TABLE "${db.schema}".preds (id int, ts timestamptz, value float8);
    INSERT INTO "${db.schema}".preds VALUES ${preds.join(', ')};
    CREATE TABLE "${db.schema}".labels (id int, ts timestamptz, actual float8)`);
  dir = mkdtempSync(join(tmpdir(), 'mlwatch-dataset-incremental-'));
  const file = join(dir, 'warehouse.duckdb');
  await copyToDuckdb(db.writer, db.schema, file);
  duck = createDuckdbWarehouse(`duckdb:${file}`);
}, 120_000);
afterAll(async () => {
  await duck?.close();
  await db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const own = (r: CheckResult) =>
  new Map(
    r.samples
      .filter((s) => !STAMPS.has(s.name))
      .map((s) => [`${s.name}${JSON.stringify({ ...s.labels, dataset: '' })}`, s.value]),
  );

/** The incremental `part`'s second run against the full one, in one transaction; the statements it sent. */
async function secondRun(
  w: Warehouse,
  url: string,
  part: 'dataset:{}:scan' | 'dataset:{}:drift' | 'model:{}:prediction_drift',
): Promise<{ inc: CheckResult; full: CheckResult; sent: string[] }> {
  const checks = loadConfigText(config(url, db.schema), 'd.yaml', {}, '/').checks;
  const find = (name: string) => checks.find((c) => c.id === part.replace('{}', name)) as Check;
  const inc = find('inc');
  const full = find('full');
  await w.readOnly({ timeoutMs: 60_000 }, (q) => inc.run(q));
  const sent: string[] = [];
  return w.readOnly({ timeoutMs: 60_000 }, async (q) => ({
    inc: await inc.run({
      query(sql, params) {
        sent.push(sql);
        return q.query(sql, params);
      },
    }),
    full: await full.run(q),
    sent,
  }));
}

describe('DuckDB: the incremental dataset scan', () => {
  for (const engine of ['duckdb', 'this engine'] as const) {
    it(`equals the full scan on ${engine}, from kept buckets`, async () => {
      const r =
        engine === 'duckdb'
          ? await secondRun(duck, `duckdb:${join(dir, 'warehouse.duckdb')}`, 'dataset:{}:scan')
          : await secondRun(db.warehouse, db.configUrl, 'dataset:{}:scan');
      const [a, b] = [own(r.inc), own(r.full)];
      expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
      // Volume's rows and baseline, 3 null ratios (ts's is 0), 2 invalid ratios, the newest row's time and age.
      expect(b.size).toBe(9);
      for (const [key, want] of b)
        expect(Math.abs((a.get(key) as number) - want), key).toBeLessThanOrEqual(1e-9);
      // The second run read parts in one statement, and no full scan (not due for a day).
      expect(r.sent.filter((s) => s.includes(' AS part,'))).toHaveLength(1);
      expect(r.sent.some((s) => s.includes('coalesce(max('))).toBe(false);
      expect(r.inc.skipped).toEqual(r.full.skipped);
    }, 60_000);
    it(`counts the drift bins on ${engine} as the full count does, from kept buckets`, async () => {
      const r =
        engine === 'duckdb'
          ? await secondRun(duck, `duckdb:${join(dir, 'warehouse.duckdb')}`, 'dataset:{}:drift')
          : await secondRun(db.warehouse, db.configUrl, 'dataset:{}:drift');
      const [a, b] = [own(r.inc), own(r.full)];
      expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
      // Each feature's current and reference rows, PSI and JS distance.
      expect(b.size).toBe(8);
      for (const [key, want] of b)
        expect(Math.abs((a.get(key) as number) - want), key).toBeLessThanOrEqual(1e-12);
      // The clock, the serial setting (PostgreSQL), the window's edge and the head, each counted apart: not the
      // 24 hourly buckets of the day, kept from the first run (the full count is not due for a day).
      expect(r.sent.length).toBeGreaterThanOrEqual(3);
      expect(r.sent.length).toBeLessThanOrEqual(6);
    }, 60_000);
    it(`counts a model's prediction drift bins on ${engine} as the full count does, from kept buckets`, async () => {
      const part = 'model:{}:prediction_drift';
      const r =
        engine === 'duckdb'
          ? await secondRun(duck, `duckdb:${join(dir, 'warehouse.duckdb')}`, part)
          : await secondRun(db.warehouse, db.configUrl, part);
      const psi = (c: CheckResult) =>
        new Map(
          c.samples
            .filter((s) => s.name === 'mlwatch_model_prediction_psi')
            .map((s) => [s.labels.window, s.value]),
        );
      const [a, b] = [psi(r.inc), psi(r.full)];
      expect([...b.keys()].sort()).toEqual(['12h', '1d']);
      for (const [key, want] of b)
        expect(Math.abs((a.get(key) as number) - want), key).toBeLessThanOrEqual(1e-12);
      // The window's edges and the head in one statement (the full count is not due for an hour).
      expect(r.sent.filter((s) => s.includes(' AS part,'))).toHaveLength(1);
      expect(r.inc.skipped).toEqual(r.full.skipped);
    }, 60_000);
  }
});
