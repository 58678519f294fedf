import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreCheckMemory } from '../src/actions/store/check-memory.js';
import type { Check } from '../src/checks/types.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import {
  checkOf,
  expectSameValues,
  openMemory,
  roundsAgainstFull,
  runBoth as runBothOn,
  STAMPS,
  stamp,
  values,
} from './helpers/incremental.js';
import { seededRandom } from './helpers/model-tables.js';

// The incremental regression check against the full one, on the same snapshot, on the real clock (windows of
// seconds, buckets of one second), as test/model-incremental.test.ts does for a classifier: rows arrive in a
// seeded random order, predictions stamped at most `settle` before they are written, labels for old and new
// keys, keys labeled again with another value (a changed label, which the kept minimum and maximum cannot take
// back), zero actuals (MAPE leaves them out), NULL predicted values, rows written twice and versions.

const { rand, pick } = seededRandom(23);
let db: TestDb;
let memory: StoreCheckMemory;
let closeMemory: () => Promise<void>;

const config = (table: string, incremental: boolean) => `warehouse:
  url: ${db.configUrl}
models:
  - name: price
    task: regression
    owner: data-science
    windows: [6s, 2500ms]
    predictions: { table: ${db.schema}.${table}_preds, key: request_id, timestamp: predicted_at, prediction: value, version: model_version }
    labels: { table: ${db.schema}.${table}_labels, key: request_id, timestamp: labeled_at, label: actual }
${incremental ? '    incremental: { bucket: 1s, settle: 500ms, full_interval: 2s }\n' : ''}`;

const check = (table: string, incremental = true, remember = true): Check => {
  const c = checkOf(config(table, incremental), 'model:price:performance');
  if (remember) c.remember?.(memory);
  return c;
};

const runBoth = (inc: Check, full: Check, statements: string[] = []) => runBothOn(db, inc, full, statements);

const keys = new Map<string, number>();
/**
 * Predictions and labels for table `table`: values `offset` + a quarter in [0, 10]; unless `noZeros`, one label
 * in 20 is exactly 0.
 */
async function arrive(table: string, offset: number, noZeros = false): Promise<void> {
  const next = keys.get(table) ?? 0;
  let n = next;
  const value = () => String(offset + Math.round(rand() * 40) / 4);
  const preds: string[] = [];
  for (let i = 0, count = 10 + Math.floor(rand() * 20); i < count; i++) {
    const predicted = rand() < 0.05 ? 'NULL' : value();
    const version = pick(["'a'", "'b'", "'b'", 'NULL']);
    const row = `('k${n++}', now() - interval '${Math.floor(rand() * 400)} milliseconds', ${predicted}, ${version})`;
    preds.push(row);
    if (rand() < 0.05) preds.push(row);
  }
  keys.set(table, n);
  await db.writer.query(
    `INSERT INTO ${db.schema}.${table}_preds (request_id, predicted_at, value, model_version) VALUES ${preds.join(', ')}`,
  );
  const labels: string[] = [];
  for (let i = 0, count = Math.floor(rand() * 15); i < count; i++) {
    const actual = !noZeros && rand() < 0.05 ? '0' : value();
    labels.push(
      `('k${Math.floor(rand() * n)}', now() - interval '${Math.floor(rand() * 300)} milliseconds', ${actual})`,
    );
  }
  if (labels.length > 0) {
    await db.writer.query(
      `INSERT INTO ${db.schema}.${table}_labels (request_id, labeled_at, actual) VALUES ${labels.join(', ')}`,
    );
  }
}

/**
 * 8 rounds of arrivals (labels `offset` + 0 to 10, no zeros) into `table`, the incremental check's values equal
 * to the full check's every round; then one more run of both.
 */
async function equalRounds(table: string, offset: number) {
  const full = check(table, false, false);
  const inc = check(table, true, false);
  for (let round = 0; round < 8; round++) {
    await arrive(table, offset, true);
    const r = await runBoth(inc, full);
    expectSameValues(
      values(r.inc, (n) => !STAMPS.has(n)),
      values(r.full, () => true),
      round,
    );
    await sleep(350);
  }
  return runBoth(inc, full);
}

beforeAll(async () => {
  db = await openTestDb();
  for (const table of ['r', 'far', 'nan', 'outlier']) {
    await db.writer.exec(`
      CREATE TABLE ${db.schema}.${table}_preds (request_id text, predicted_at timestamptz, value float8, model_version text);
      CREATE TABLE ${db.schema}.${table}_labels (request_id text, labeled_at timestamptz, actual float8);`);
  }
  ({ memory, close: closeMemory } = await openMemory(db, 'rmemory'));
}, 60_000);
afterAll(async () => {
  await closeMemory?.();
  await db?.close();
});

describe('incremental regression: equal to a full recomputation', () => {
  it('over sliding windows, late and changed labels, a reload and restarts; reading only what changed', async () => {
    // Every metric, every round: between full runs too, as nothing of a regression waits for one.
    const seen = await roundsAgainstFull(db, {
      check: (incremental: boolean, remember: boolean) => check('r', incremental, remember),
      arrive: () => arrive('r', 100),
    });
    // The data covered what it should: versions, zero actuals left out of MAPE, R² and the rest.
    for (const name of ['mlwatch_model_r2a', 'mlwatch_model_maeb', 'mlwatch_model_mapea'])
      expect([...seen]).toContain(name);
    expect(
      [...seen].some((name) => name.startsWith('mlwatch_model_mape_excluded')),
      [...seen].join(),
    ).toBe(true);
  }, 60_000);

  it('a NaN predicted value in a kept bucket stays NaN across a restart from the store', async () => {
    // Labeled predictions 4.5 to 1 s old, one of them NaN and 4 s old: its bucket is complete, more than a second
    // from either window's start (a bucket a start splits is not kept), kept, and saved to the store.
    await db.writer.exec(`
      INSERT INTO ${db.schema}.nan_preds
        SELECT 'n' || i, now() - i * interval '100 milliseconds', CASE WHEN i = 40 THEN 'NaN'::float8 ELSE i END, 'a'
        FROM generate_series(10, 45) i;
      INSERT INTO ${db.schema}.nan_labels SELECT 'n' || i, now() - interval '1 second', i + 1 FROM generate_series(10, 45) i;`);
    await sleep(600);
    const full = check('nan', false, false);
    const first = await runBoth(check('nan'), full);
    // Every metric of the 6 s window is NaN, so not exported: skipped as undefined, as the full check does.
    expect(first.inc.skipped.undefined ?? 0).toBeGreaterThan(0);
    expect(first.inc.skipped).toEqual(first.full.skipped);
    // A restart reads the bucket back from the store: still NaN, not a 0 that JSON would have made of it.
    const restarted = await runBoth(check('nan'), full);
    expectSameValues(
      values(restarted.inc, (n) => !STAMPS.has(n)),
      values(restarted.full, () => true),
    );
    expect(restarted.inc.skipped).toEqual(restarted.full.skipped);
  }, 30_000);

  it('keeps R² exact for labels far from 0 that vary little, where a plain sum of squares would not', async () => {
    // Labels about 1.7e9 (a timestamp, say) spread over 10: their sum of squares is about 3e18 a row, so a
    // difference of plain sums (sum y² - (sum y)² / n) loses every digit of a spread of about 8 a row.
    const OFFSET = 1.7e9;
    const r2 = (await equalRounds('far', OFFSET)).inc.samples.filter((s) => s.name === 'mlwatch_model_r2');
    expect(r2.length).toBeGreaterThan(0);
    // What the plain sums give for the same labels: far from the labels' own sum of squares about their mean.
    const rows = await db.writer.query(
      `SELECT actual::float8 AS y FROM ${db.schema}.far_labels WHERE actual IS NOT NULL`,
    );
    const ys = rows.map((x) => Number(x.y));
    const mean = ys.reduce((a, y) => a + y, 0) / ys.length;
    const exact = ys.reduce((a, y) => a + (y - mean) * (y - mean), 0);
    const plain = ys.reduce((a, y) => a + y * y, 0) - ys.reduce((a, y) => a + y, 0) ** 2 / ys.length;
    expect(Math.abs(plain - exact) / exact).toBeGreaterThan(1e-3);
  }, 30_000);

  it('keeps R² exact when the labels table starts with a label far from the rest', async () => {
    // The full statement sums the labels about an anchor taken from the head of the labels table (the median of
    // its first 101 finite labels): a lone label of 1e9 there, of a key never predicted, must not be it. Taken
    // alone it would put the full statement's R² some 1e-8 off the kept sums', |mean - anchor| / spread being
    // about 3e8 for these labels (0 to 10).
    await db.writer.query(
      `INSERT INTO ${db.schema}.outlier_labels (request_id, labeled_at, actual) VALUES ('never-predicted', now() - interval '1 day', 1e9)`,
    );
    const r = await equalRounds('outlier', 0);
    expect(r.full.samples.filter((s) => s.name === 'mlwatch_model_r2').length).toBeGreaterThan(0);
    // Every full recomputation agreed with the kept sums: no mismatch to alert on.
    const [recomputed, reconciled] = [...STAMPS].map((name) => stamp(r.inc, name));
    expect(recomputed).toBeGreaterThan(0);
    expect(reconciled).toBe(recomputed);
  }, 30_000);
});
