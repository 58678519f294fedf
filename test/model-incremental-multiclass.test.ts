import { afterAll, beforeAll, describe, it } from 'vitest';
import type { StoreCheckMemory } from '../src/actions/store/check-memory.js';
import type { Check } from '../src/checks/types.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { checkOf, expectSeen, openMemory, roundsAgainstFull } from './helpers/incremental.js';
import { seededRandom } from './helpers/model-tables.js';

// The incremental multiclass check against the full one, on the same snapshot, on the real clock (windows of
// seconds, buckets of one second), as test/model-incremental.test.ts does for a binary classifier: rows arrive
// in a seeded random order, predictions stamped at most `settle` before they are written, labels for old and
// new keys, keys labeled again with another class (the kept sums move the prediction from one class's counts
// to another's), labels of no class, NULL probabilities, probabilities in tenths (so the argmax ties), rows
// written twice and versions.

const { rand, pick } = seededRandom(41);
let db: TestDb;
let memory: StoreCheckMemory;
let closeMemory: () => Promise<void>;

const config = (incremental: boolean) => `warehouse:
  url: ${db.configUrl}
models:
  - name: risk
    task: multiclass_classification
    owner: data-science
    windows: [6s, 2500ms]
    predictions:
      table: ${db.schema}.mc_preds
      key: request_id
      timestamp: predicted_at
      version: model_version
      scores: { low: p_low, mid: p_mid, high: p_high }
    labels: { table: ${db.schema}.mc_labels, key: request_id, timestamp: labeled_at, label: risk_class }
${incremental ? '    incremental: { bucket: 1s, settle: 500ms, full_interval: 2s }\n' : ''}`;

const check = (incremental = true, remember = true): Check => {
  const c = checkOf(config(incremental), 'model:risk:performance');
  if (remember) c.remember?.(memory);
  return c;
};

/** The AUC families: exported as of the last full run between full runs. */
const AUC = new Set(['mlwatch_model_class_auc', 'mlwatch_model_multiclass_auc']);

let next = 0;
async function arrive(): Promise<void> {
  const tenth = () => (rand() < 0.04 ? 'NULL' : String(Math.round(rand() * 10) / 10));
  const preds: string[] = [];
  for (let i = 0, count = 10 + Math.floor(rand() * 20); i < count; i++) {
    const version = pick(["'a'", "'b'", "'b'", 'NULL']);
    const row = `('k${next++}', now() - interval '${Math.floor(rand() * 400)} milliseconds', ${tenth()}, ${tenth()}, ${tenth()}, ${version})`;
    preds.push(row);
    if (rand() < 0.05) preds.push(row);
  }
  await db.writer.query(
    `INSERT INTO ${db.schema}.mc_preds (request_id, predicted_at, p_low, p_mid, p_high, model_version) VALUES ${preds.join(', ')}`,
  );
  const labels: string[] = [];
  for (let i = 0, count = Math.floor(rand() * 15); i < count; i++) {
    const label = rand() < 0.05 ? "'unrated'" : pick(["'low'", "'mid'", "'high'"]);
    labels.push(
      `('k${Math.floor(rand() * next)}', now() - interval '${Math.floor(rand() * 300)} milliseconds', ${label})`,
    );
  }
  if (labels.length > 0) {
    await db.writer.query(
      `INSERT INTO ${db.schema}.mc_labels (request_id, labeled_at, risk_class) VALUES ${labels.join(', ')}`,
    );
  }
}

beforeAll(async () => {
  db = await openTestDb();
  await db.writer.exec(`
    CREATE TABLE ${db.schema}.mc_preds (request_id text, predicted_at timestamptz, p_low float8, p_mid float8, p_high float8, model_version text);
    CREATE TABLE ${db.schema}.mc_labels (request_id text, labeled_at timestamptz, risk_class text);`);
  ({ memory, close: closeMemory } = await openMemory(db, 'mcmemory'));
}, 60_000);
afterAll(async () => {
  await closeMemory?.();
  await db?.close();
});

describe('incremental multiclass: equal to a full recomputation', () => {
  it('over sliding windows, late and changed labels, a reload and restarts; reading only what changed', async () => {
    const seen = await roundsAgainstFull(db, { check, arrive, asOfFull: AUC });
    // The data covered what it should: labels of no class, every per-class and averaged metric.
    expectSeen(seen, [
      'mlwatch_model_unknown_class_predictions',
      'mlwatch_model_multiclass_accuracy',
      'mlwatch_model_multiclass_log_loss',
      'mlwatch_model_multiclass_f1',
      'mlwatch_model_class_precision',
      'mlwatch_model_class_auc',
      'mlwatch_model_multiclass_auc',
    ]);
  }, 60_000);
});
