import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreCheckMemory } from '../src/actions/store/check-memory.js';
import type { Check } from '../src/checks/types.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { checkOf, openMemory, roundsAgainstFull } from './helpers/incremental.js';
import { seededRandom } from './helpers/model-tables.js';

// A model's labels check with `incremental` set against the same check without, on one snapshot, on the real
// clock (windows of seconds, buckets of one second), through the rounds the performance checks' tests run
// (test/helpers/incremental.ts: a reload, a restart from the state store and one without): predictions of two
// versions and none, rows written twice, NULL predicted values; labels for old and new keys, keys labeled
// again, NULL labels (no label), and labels stamped before their prediction (leakage). Every count, coverage,
// leakage, version and predecessor equals the full check's every round; the delay percentiles equal it as of
// the last full run.

const { rand, pick } = seededRandom(37);
let db: TestDb;
let memory: StoreCheckMemory;
let closeMemory: () => Promise<void>;
const DELAY = 'mlwatch_model_label_delay_seconds';

const config = (incremental: boolean) => `warehouse:
  url: ${db.configUrl}
models:
  - name: price
    task: regression
    owner: data-science
    windows: [6s, 2500ms]
    predictions: { table: ${db.schema}.l_preds, key: request_id, timestamp: predicted_at, prediction: value, version: model_version }
    labels: { table: ${db.schema}.l_labels, key: request_id, timestamp: labeled_at, label: actual }
${incremental ? '    incremental: { bucket: 1s, settle: 500ms, full_interval: 2s }\n' : ''}`;

const check = (incremental: boolean, remember: boolean): Check => {
  const c = checkOf(config(incremental), 'model:price:labels');
  if (remember) c.remember?.(memory);
  return c;
};

let keys = 0;
/** A round's predictions, and labels for old and new keys (some NULL, some stamped before their prediction). */
async function arrive(): Promise<void> {
  const preds: string[] = [];
  const labels: string[] = [];
  for (let i = 0, count = 10 + Math.floor(rand() * 20); i < count; i++) {
    const key = `k${keys++}`;
    const value = rand() < 0.05 ? 'NULL' : String(Math.round(rand() * 40) / 4);
    const version = pick(["'a'", "'b'", "'b'", 'NULL']);
    const age = Math.floor(rand() * 400);
    const row = `('${key}', now() - interval '${age} milliseconds', ${value}, ${version})`;
    preds.push(row);
    if (rand() < 0.05) preds.push(row);
    // A label stamped before its prediction: leakage.
    if (rand() < 0.1) labels.push(`('${key}', now() - interval '${age + 200} milliseconds', 1)`);
  }
  for (let i = 0, count = Math.floor(rand() * 15); i < count; i++) {
    const actual = rand() < 0.1 ? 'NULL' : String(Math.round(rand() * 40) / 4);
    labels.push(
      `('k${Math.floor(rand() * keys)}', now() - interval '${Math.floor(rand() * 300)} milliseconds', ${actual})`,
    );
  }
  await db.writer.query(
    `INSERT INTO ${db.schema}.l_preds (request_id, predicted_at, value, model_version) VALUES ${preds.join(', ')}`,
  );
  if (labels.length > 0)
    await db.writer.query(
      `INSERT INTO ${db.schema}.l_labels (request_id, labeled_at, actual) VALUES ${labels.join(', ')}`,
    );
}

beforeAll(async () => {
  db = await openTestDb();
  await db.writer.exec(`
    CREATE TABLE ${db.schema}.l_preds (request_id text, predicted_at timestamptz, value float8, model_version text);
    CREATE TABLE ${db.schema}.l_labels (request_id text, labeled_at timestamptz, actual float8);`);
  ({ memory, close: closeMemory } = await openMemory(db, 'lmemory'));
}, 60_000);
afterAll(async () => {
  await closeMemory?.();
  await db?.close();
});

describe('incremental labels check: equal to a full recomputation', () => {
  it('over sliding windows, late, changed and leaked labels, a reload and restarts; reading only what changed', async () => {
    const seen = await roundsAgainstFull(db, {
      check,
      arrive,
      asOfFull: new Set([DELAY]),
      asOfFullSkips: ['no_labels'],
    });
    // The data covered what it should: leakage, coverage per version, a predecessor, the delays.
    for (const name of [
      'mlwatch_model_label_leakage_rows',
      'mlwatch_model_label_coverage_ratioa',
      'mlwatch_model_label_coverage_ratiob',
      'mlwatch_model_previous_version_infob',
      DELAY,
    ])
      expect([...seen], name).toContain(name);
  }, 60_000);
});
