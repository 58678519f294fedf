import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreCheckMemory } from '../src/actions/store/check-memory.js';
import type { Check } from '../src/checks/types.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import {
  checkOf,
  cutsRead,
  expectSameValues,
  openMemory,
  runBoth as runBothOn,
  STAMPS,
  stamp,
  values,
} from './helpers/incremental.js';
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

const runBoth = (inc: Check, full: Check, statements: string[] = []) => runBothOn(db, inc, full, statements);

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
    const full = check(false, false);
    let inc = check();
    let lastRecomputed: number | undefined;
    let lastFullAuc = new Map<string, number>();
    let fullRounds = 0;
    let warmCuts = 0;
    let coldCuts = 0;
    const seen = new Set<string>();
    for (let round = 0; round < 14; round++) {
      if (round === 5) {
        // A reload with the same definition keeps the buckets (adopt).
        const reloaded = check();
        reloaded.adopt?.(inc);
        inc = reloaded;
      }
      // A restart from the state store (round 9) reads the buckets back; one without a store (11) starts cold.
      if (round === 9) inc = check();
      if (round === 11) inc = check(true, false);
      await arrive();
      const statements: string[] = [];
      const r = await runBoth(inc, full, statements);
      // Every metric but the AUCs, every round.
      expectSameValues(
        values(r.inc, (n) => !AUC.has(n) && !STAMPS.has(n)),
        values(r.full, (n) => !AUC.has(n)),
        round,
      );
      expect(r.inc.skipped.no_labels ?? 0, `round ${round}`).toBe(r.full.skipped.no_labels ?? 0);
      expect(r.inc.skipped.undefined ?? 0, `round ${round}`).toBe(r.full.skipped.undefined ?? 0);
      for (const s of r.inc.samples) if (s.value !== 0) seen.add(s.name);
      const recomputed = stamp(r.inc, 'mlwatch_model_recomputed_timestamp_seconds');
      if (recomputed !== lastRecomputed) {
        // A full run: everything equal, the AUCs included, and the kept sums agreed with it.
        fullRounds++;
        expectSameValues(
          values(r.inc, (n) => !STAMPS.has(n)),
          values(r.full, () => true),
          round,
        );
        expect(r.inc.skipped, `round ${round}`).toEqual(r.full.skipped);
        expect(stamp(r.inc, 'mlwatch_model_reconciled_timestamp_seconds'), `round ${round}`).toBe(recomputed);
        lastFullAuc = values(r.full, (n) => AUC.has(n));
        lastRecomputed = recomputed;
      } else {
        // Between full runs the AUCs stay as of the last one.
        const aucs = values(r.inc, (n) => AUC.has(n));
        expectSameValues(aucs, new Map([...lastFullAuc].filter(([k]) => aucs.has(k))), round);
        if (round > 1 && round !== 9 && round !== 11) warmCuts = Math.max(warmCuts, cutsRead(statements));
      }
      if (round === 0) coldCuts = cutsRead(statements);
      if (round === 11) expect(cutsRead(statements)).toBeGreaterThanOrEqual(6);
      // Restarted with the store: the buckets read back, not summed again.
      if (round === 9) expect(cutsRead(statements)).toBeLessThan(coldCuts);
      await sleep(350);
    }
    expect(fullRounds).toBeGreaterThanOrEqual(3);
    expect(coldCuts).toBeGreaterThanOrEqual(6);
    expect(warmCuts).toBeGreaterThan(0);
    expect(warmCuts).toBeLessThanOrEqual(6);
    // The data covered what it should: labels of no class, every per-class and averaged metric.
    for (const name of [
      'mlwatch_model_unknown_class_predictions',
      'mlwatch_model_multiclass_accuracy',
      'mlwatch_model_multiclass_log_loss',
      'mlwatch_model_multiclass_f1',
      'mlwatch_model_class_precision',
      'mlwatch_model_class_auc',
      'mlwatch_model_multiclass_auc',
    ])
      expect([...seen], name).toContain(name);
  }, 60_000);
});
