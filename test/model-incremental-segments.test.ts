import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreCheckMemory } from '../src/actions/store/check-memory.js';
import type { Check } from '../src/checks/types.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import {
  checkOf,
  cutsRead,
  expectSeen,
  openMemory,
  roundsAgainstFull,
  runBoth,
  STAMPS,
  values,
} from './helpers/incremental.js';
import { seededRandom } from './helpers/model-tables.js';

// The incremental segments check against the full one, on the same snapshot, on the real clock (windows of
// seconds, buckets of one second), as test/model-incremental.test.ts does for the whole model: rows arrive in a
// seeded random order, stamped at most `settle` before they are written, with labels for old and new keys, keys
// labeled again, NaN and NULL scores, rows written twice and versions (the segments are over all of them). The
// values of a column change rank from round to round, so which are `other` moves with the merged counts; one
// column has NULLs and a real value spelled 'other', which the full statement merges with the rest; values
// whose byte order (COLLATE "C") is not their order in a locale ('Zulu' before 'app', 'r0' before 'südost')
// tie at the cut now and then. Then a column with more values than the check keeps: it recomputes in full
// instead, and exports the same.

const { rand, pick } = seededRandom(53);
let db: TestDb;
let memory: StoreCheckMemory;
let closeMemory: () => Promise<void>;

const config = (
  task: 'classifier' | 'regression',
  incremental: boolean,
  columns = '[channel, region]',
  maxSegments = 2,
  preds = 'seg_preds',
) => `warehouse:
  url: ${db.configUrl}
models:
  - name: risk
    task: ${task === 'classifier' ? 'binary_classification' : 'regression'}
    owner: data-science
    windows: [6s, 2500ms]
    predictions:
      table: ${db.schema}.${preds}
      key: request_id
      timestamp: predicted_at
      version: model_version
      ${task === 'classifier' ? 'score' : 'prediction'}: score
    labels: { table: ${db.schema}.seg_labels, key: request_id, timestamp: labeled_at, label: ${task === 'classifier' ? 'approved' : 'amount'} }
    segments: ${columns}
    max_segments: ${maxSegments}
${incremental ? '    incremental: { bucket: 1s, settle: 500ms, full_interval: 2s }\n' : ''}`;

const checkFor =
  (task: 'classifier' | 'regression', columns?: string) =>
  (incremental = true, remember = true): Check => {
    const c = checkOf(config(task, incremental, columns), 'model:risk:segments');
    if (remember) c.remember?.(memory);
    return c;
  };

/** The AUC per segment: exported as of the last full run between full runs. */
const AUC = new Set(['mlwatch_model_segment_auc']);

let next = 0;
async function arrive(): Promise<void> {
  const score = () =>
    rand() < 0.03 ? "'NaN'" : rand() < 0.03 ? 'NULL' : String(Math.round(rand() * 20) / 20);
  const preds: string[] = [];
  for (let i = 0, count = 10 + Math.floor(rand() * 20); i < count; i++) {
    // Weights that drift with the round, so the top two of each column change.
    const channel = pick([
      "'web'",
      "'Zulu'",
      "'app'",
      "'app'",
      "'other'",
      "'other'",
      'NULL',
      `'c${next % 4}'`,
    ]);
    const region = pick(["'north'", "'südost'", `'r${Math.floor(next / 40) % 3}'`]);
    const version = pick(["'a'", "'b'", 'NULL']);
    const row = `('k${next++}', now() - interval '${Math.floor(rand() * 400)} milliseconds', ${score()}, ${channel}, ${region}, ${version})`;
    preds.push(row);
    if (rand() < 0.05) preds.push(row);
  }
  await db.writer.query(
    `INSERT INTO ${db.schema}.seg_preds (request_id, predicted_at, score, channel, region, model_version) VALUES ${preds.join(', ')}`,
  );
  const labels: string[] = [];
  for (let i = 0, count = Math.floor(rand() * 15); i < count; i++) {
    const amount = rand() < 0.02 ? "'NaN'" : String(Math.round(rand() * 100) / 100);
    labels.push(
      `('k${Math.floor(rand() * next)}', now() - interval '${Math.floor(rand() * 300)} milliseconds', ${rand() < 0.5}, ${amount})`,
    );
  }
  if (labels.length > 0) {
    await db.writer.query(
      `INSERT INTO ${db.schema}.seg_labels (request_id, labeled_at, approved, amount) VALUES ${labels.join(', ')}`,
    );
  }
}

beforeAll(async () => {
  db = await openTestDb();
  await db.writer.exec(`
    CREATE TABLE ${db.schema}.seg_preds (request_id text, predicted_at timestamptz, score float8, channel text, region text, model_version text);
    CREATE TABLE ${db.schema}.seg_labels (request_id text, labeled_at timestamptz, approved boolean, amount float8);`);
  ({ memory, close: closeMemory } = await openMemory(db, 'segmemory'));
}, 60_000);
afterAll(async () => {
  await closeMemory?.();
  await db?.close();
});

describe('incremental segments: equal to a full recomputation', () => {
  it('a classifier: counts and rates every run, the AUC as of the last full run; reading only what changed', async () => {
    const seen = await roundsAgainstFull(db, { check: checkFor('classifier'), arrive, asOfFull: AUC });
    expectSeen(seen, [
      'mlwatch_model_segment_predictions',
      'mlwatch_model_segment_labeled_predictions',
      'mlwatch_model_segment_auc',
      'mlwatch_model_segment_accuracy',
      'mlwatch_model_segment_positive_rate',
    ]);
  }, 60_000);

  it('a regression model: MAE and RMSE from kept sums, NaN errors included', async () => {
    const seen = await roundsAgainstFull(db, { check: checkFor('regression'), arrive });
    expectSeen(seen, ['mlwatch_model_segment_mae', 'mlwatch_model_segment_rmse']);
  }, 60_000);

  it('a column with more values than it keeps: recomputes in full, keeps nothing, and exports the same', async () => {
    // request_id as a segment: one value per prediction, 20,000 in one round, past 1,000 per part.
    await db.writer.query(
      `INSERT INTO ${db.schema}.seg_preds (request_id, predicted_at, score, channel, region, model_version)
       SELECT 'bulk' || i, now() - (i % 300) * interval '1 millisecond', (i % 20) / 20.0, 'web', 'north', 'a'
       FROM generate_series(1, 20000) AS i`,
    );
    const check = checkFor('classifier', '[request_id]');
    const full = check(false, false);
    let inc = check(true, true);
    // Whether each round tried keeping (a statement with the cap's LIMIT): the first; not the next, nor a
    // restart from the store (round 2), which reads that the cap was passed; again once full_interval (2s) has
    // passed since round 0 (round 3, where the rows are in complete buckets by then), then not (round 4). Round 3
    // comes less than 2s after round 2 (which waits 0.5 s, however quick the rounds before), so its full
    // statement is not due when it starts keeping: it runs after the cap is passed, with parallel workers allowed
    // again (Dialect.parallelAgain).
    const tries = [true, false, false, true, false];
    let passedAt = 0;
    for (let round = 0; round < tries.length; round++) {
      if (round === 2) {
        await sleep(500);
        inc = check(true, true);
      }
      if (round === 3) await sleep(passedAt + 2100 - Date.now());
      const statements: string[] = [];
      const r = await runBoth(db, inc, full, statements);
      const exported = values(r.inc, (n) => !STAMPS.has(n));
      expect(exported.size).toBeGreaterThan(0);
      expect(exported, `round ${round}`).toEqual(values(r.full, () => true));
      expect(r.inc.skipped).toEqual(r.full.skipped);
      expect(
        statements.some((s) => /\nLIMIT \d+$/.test(s)),
        `round ${round}`,
      ).toBe(tries[round]);
      if (!tries[round]) expect(cutsRead(statements), `round ${round}`).toBe(0);
      const recomputed = r.inc.samples.find((s) => s.name === 'mlwatch_model_recomputed_timestamp_seconds');
      const reconciled = r.inc.samples.find((s) => s.name === 'mlwatch_model_reconciled_timestamp_seconds');
      expect(reconciled?.value).toBe(recomputed?.value);
      // What the dashboard shows of it: nothing kept.
      expect(r.inc.samples.find((s) => s.name === 'mlwatch_model_kept_buckets')?.value).toBe(0);
      if (round === 0) passedAt = Date.now();
      if (round === 3) expect(statements.some((s) => s.includes('reset_val'))).toBe(true);
    }
  }, 60_000);

  it('ties at the cut in byte order, as COLLATE "C" breaks them, between full runs too', async () => {
    // Three values of 3 predictions each and max_segments 2: in byte order 'Zulu' < 'app' < 'südost' keep
    // 'Zulu' and 'app'; in a locale's order it would be 'app' and 'südost'.
    await db.writer.exec(`CREATE TABLE ${db.schema}.seg_ties (LIKE ${db.schema}.seg_preds)`);
    await db.writer.query(
      `INSERT INTO ${db.schema}.seg_ties (request_id, predicted_at, score, channel, region, model_version)
       SELECT 't' || i, now() - interval '100 milliseconds', i / 10.0, (ARRAY['südost', 'app', 'Zulu'])[1 + i % 3], 'north', 'a'
       FROM generate_series(1, 9) AS i`,
    );
    const check = (incremental: boolean) =>
      checkOf(config('classifier', incremental, '[channel]', 2, 'seg_ties'), 'model:risk:segments');
    const inc = check(true);
    const full = check(false);
    // The first run is the full statement's; the second merges the kept counts and ranks them itself.
    for (let run = 0; run < 2; run++) {
      const r = await runBoth(db, inc, full);
      const values_ = values(r.inc, (n) => n === 'mlwatch_model_segment_predictions');
      expect(values_).toEqual(values(r.full, (n) => n === 'mlwatch_model_segment_predictions'));
      expect([...values_.keys()].filter((k) => k.includes('"window":"6s"'))).toEqual([
        'mlwatch_model_segment_predictions{"model":"risk","window":"6s","segment":"channel","segment_value":"Zulu"}',
        'mlwatch_model_segment_predictions{"model":"risk","window":"6s","segment":"channel","segment_value":"app"}',
        'mlwatch_model_segment_predictions{"model":"risk","window":"6s","segment":"channel","segment_value":"other"}',
      ]);
    }
  });

  it('another max_segments is another check: nothing kept under the old one is read', () => {
    const fingerprint = (max: number) =>
      checkOf(config('classifier', true, '[channel, region]', max), 'model:risk:segments').fingerprint;
    expect(fingerprint(3)).not.toBe(fingerprint(2));
    expect(fingerprint(2)).toBe(fingerprint(2));
  });
});
