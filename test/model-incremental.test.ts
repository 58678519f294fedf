import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreCheckMemory } from '../src/actions/store/check-memory.js';
import { planRun } from '../src/checks/buckets/plan.js';
import type { Check, CheckResult } from '../src/checks/types.js';
import { loadConfigText } from '../src/config/load.js';
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

// The incremental performance check against the full one, on the same snapshot, on the real clock: windows of
// seconds and buckets of one second, so buckets complete, windows slide over the data and the AUC's full
// recomputation comes round within a test. Rows arrive as the check's contract says they may (predictions
// stamped at most `settle` before they are written, labels when they are written), in a seeded random order,
// with late labels for old predictions, relabeled keys, rows written twice, NULL and NaN scores and versions.

const { rand, pick } = seededRandom(11);
let db: TestDb;

const SETTLE_MS = 500;
/** The model on tables preds<suffix> and labels<suffix>, incremental unless the full check is wanted. */
const config = (fullInterval: string, incremental = true, suffix = '', windows = '6s, 2500ms') => `warehouse:
  url: ${db.configUrl}
models:
  - name: churn
    task: binary_classification
    owner: data-science
    threshold: 0.45
    windows: [${windows}]
    predictions: { table: ${db.schema}.preds${suffix}, key: request_id, timestamp: predicted_at, score: score, version: model_version }
    labels: { table: ${db.schema}.labels${suffix}, key: request_id, timestamp: labeled_at, label: outcome }
${incremental ? `    incremental: { bucket: 1s, settle: ${SETTLE_MS}ms, full_interval: ${fullInterval} }\n` : ''}`;

const performanceCheck = (text: string): Check => checkOf(text, 'model:churn:performance');

const runBoth = (inc: Check, full: Check, statements: string[] = []) => runBothOn(db, inc, full, statements);

/** The check's memory in a real state store (migrated), on the test database: what a restart starts from. */
let memory: StoreCheckMemory;
let memorySchema: string;
let closeMemory: () => Promise<void>;

function remembering(check: Check): Check {
  check.remember?.(memory);
  return check;
}

const AUC = new Set(['mlwatch_model_auc', 'mlwatch_model_auc_stderr']);

let keys = 0;
/**
 * Predictions stamped up to 400 ms before now(), some written twice; unless `quiet`, labels stamped up to 300 ms
 * before now() for random keys, old and new.
 */
async function arrive(quiet = false): Promise<void> {
  const preds: string[] = [];
  for (let i = 0, n = 10 + Math.floor(rand() * 20); i < n; i++) {
    const key = `k${keys++}`;
    const r = rand();
    const score = r < 0.05 ? 'NULL' : r < 0.08 ? "'NaN'" : String(Math.round(rand() * 20) / 20);
    const version = pick(["'a'", "'b'", "'b'", 'NULL']);
    const row = `('${key}', now() - interval '${Math.floor(rand() * 400)} milliseconds', ${score}, ${version})`;
    preds.push(row);
    if (rand() < 0.05) preds.push(row);
  }
  await db.writer.query(
    `INSERT INTO ${db.schema}.preds (request_id, predicted_at, score, model_version) VALUES ${preds.join(', ')}`,
  );
  const labels: string[] = [];
  for (let i = 0, n = quiet ? 0 : Math.floor(rand() * 15); i < n; i++) {
    const key = `k${Math.floor(rand() * keys)}`;
    labels.push(`('${key}', now() - interval '${Math.floor(rand() * 300)} milliseconds', ${rand() < 0.45})`);
  }
  if (labels.length > 0) {
    await db.writer.query(
      `INSERT INTO ${db.schema}.labels (request_id, labeled_at, outcome) VALUES ${labels.join(', ')}`,
    );
  }
}

beforeAll(async () => {
  db = await openTestDb();
  await db.writer.exec(`
    CREATE TABLE ${db.schema}.preds (request_id text, predicted_at timestamptz, score float8, model_version text);
    CREATE TABLE ${db.schema}.labels (request_id text, labeled_at timestamptz, outcome boolean);`);
  ({ memory, schema: memorySchema, close: closeMemory } = await openMemory(db, 'memory'));
}, 60_000);
afterAll(async () => {
  await closeMemory?.();
  await db?.close();
});

describe('incremental classification: equal to a full recomputation', () => {
  it('over sliding windows, late labels, a reload and restarts; reading only what changed', async () => {
    const full = performanceCheck(config('', false));
    let inc = remembering(performanceCheck(config('2s')));
    let lastFullAuc = new Map<string, number>();
    let lastRecomputed: number | undefined;
    let fullRounds = 0;
    let warmCuts = 0;
    let coldCuts = 0;
    let lastRecomputedBefore: number | undefined;
    for (let round = 0; round < 18; round++) {
      if (round === 6) {
        // A reload with the same definition keeps the buckets (adopt).
        const reloaded = remembering(performanceCheck(config('2s')));
        reloaded.adopt?.(inc);
        inc = reloaded;
      }
      // A restart (round 12) starts from the buckets in the state store; one without a store (15) starts cold.
      if (round === 12) inc = remembering(performanceCheck(config('2s')));
      if (round === 15) inc = performanceCheck(config('2s'));
      if (round === 16) {
        // A reload without a store keeps the buckets in the process (adopt): warm.
        const reloaded = performanceCheck(config('2s'));
        reloaded.adopt?.(inc);
        inc = reloaded;
      }
      // Rounds 9 to 11 bring no labels: what a run reads then is the fresh parts and the buckets just completed.
      await arrive(round >= 9 && round <= 11);
      const statements: string[] = [];
      const r = await runBoth(inc, full, statements);
      expect(r.inc.skipped.no_labels ?? 0).toBe(r.full.skipped.no_labels ?? 0);
      // Every metric but the AUC, every round.
      expectSameValues(
        values(r.inc, (n) => !AUC.has(n) && !STAMPS.has(n)),
        values(r.full, (n) => !AUC.has(n)),
        round,
      );
      const recomputed = stamp(r.inc, 'mlwatch_model_recomputed_timestamp_seconds');
      if (recomputed !== lastRecomputed) {
        // A full recomputation: everything equal, the AUC included, and the buckets agreed with it.
        fullRounds++;
        expectSameValues(
          values(r.inc, (n) => !STAMPS.has(n)),
          values(r.full, () => true),
          round,
        );
        expect(r.inc.skipped).toEqual(r.full.skipped);
        expect(stamp(r.inc, 'mlwatch_model_reconciled_timestamp_seconds'), `round ${round}`).toBe(recomputed);
        lastFullAuc = values(r.full, (n) => AUC.has(n));
        lastRecomputed = recomputed;
      } else {
        // Between recomputations the AUC stays as of the last one.
        expectSameValues(
          values(r.inc, (n) => AUC.has(n)),
          new Map([...lastFullAuc].filter(([k]) => values(r.inc, (n) => AUC.has(n)).has(k))),
        );
        if (round > 8 && round < 12) warmCuts = Math.max(warmCuts, cutsRead(statements));
      }
      if (round === 0 || round === 15) {
        // Cold: every bucket of the 6s window is summed (6 boundaries or more, with the window starts).
        expect(cutsRead(statements)).toBeGreaterThanOrEqual(6);
      }
      if (round === 16) expect(cutsRead(statements)).toBeLessThan(coldCuts);
      if (round === 12) {
        // Restarted with the store: the AUC as of the last recomputation before the restart unless one is due
        // (a cold start recomputes at once), and the buckets read back, not summed again.
        const since = (recomputed as number) - (lastRecomputedBefore as number);
        expect(since === 0 || since >= 2, `recomputed ${since} s after the last one`).toBe(true);
        expect(cutsRead(statements)).toBeLessThanOrEqual(6);
        expect(cutsRead(statements)).toBeLessThan(coldCuts);
      }
      if (round === 0) coldCuts = cutsRead(statements);
      if (round === 11) lastRecomputedBefore = lastRecomputed;
      await sleep(350);
    }
    expect(fullRounds).toBeGreaterThanOrEqual(3);
    // Warm: the fresh parts (two window edges, the head split by the 2500ms window) and a bucket or two just
    // completed, not the whole window.
    expect(warmCuts).toBeGreaterThan(0);
    expect(warmCuts).toBeLessThanOrEqual(6);
    // The data covered what it should: versions a and b, labeled and unlabeled predictions.
    const last = await runBoth(inc, full);
    const names = last.inc.samples.map((s) => `${s.name}${s.labels.version ?? ''}`);
    expect(names).toContain('mlwatch_model_auca');
    expect(names).toContain('mlwatch_model_log_lossb');
    expect(
      last.inc.samples.some((s) => s.name === 'mlwatch_model_unlabeled_predictions' && s.value > 0),
    ).toBe(true);
  }, 60_000);

  it('two replicas share the buckets through the store; the one that loses a race reads the winner next', async () => {
    const full = performanceCheck(config('', false));
    const a = remembering(performanceCheck(config('2s')));
    const b = remembering(performanceCheck(config('2s')));
    const revision = async () =>
      Number(
        (
          await db.writer.query(
            `SELECT revision FROM ${memorySchema}.check_memory WHERE check_id = 'model:churn:performance'`,
          )
        )[0]?.revision,
      );
    const notAuc = (r: { inc: CheckResult; full: CheckResult }) =>
      expectSameValues(
        values(r.inc, (n) => !AUC.has(n) && !STAMPS.has(n)),
        values(r.full, (n) => !AUC.has(n)),
      );
    for (let round = 0; round < 8; round++) {
      await arrive();
      const statements: string[] = [];
      const before = await revision();
      // Turns, as a lock moving between replicas would give them: each starts from the other's save.
      notAuc(await runBoth(round % 2 === 0 ? a : b, full, statements));
      expect(await revision()).toBe(before + 1);
      expect(cutsRead(statements)).toBeLessThanOrEqual(6);
      await sleep(300);
    }
    // A race (no lock): both read the same revision and run on one snapshot; the first save wins, the second
    // is refused and writes nothing.
    await arrive();
    await a.beforeRun?.();
    await b.beforeRun?.();
    const race = await db.warehouse.readOnly({ timeoutMs: 20_000 }, async (q) => ({
      a: await a.run(q),
      b: await b.run(q),
      full: await full.run(q),
    }));
    notAuc({ inc: race.a, full: race.full });
    notAuc({ inc: race.b, full: race.full });
    const raced = await revision();
    await a.afterRun?.();
    await b.afterRun?.();
    expect(await revision()).toBe(raced + 1);
    await sleep(300);
    await arrive();
    const statements: string[] = [];
    notAuc(await runBoth(b, full, statements));
    expect(await revision()).toBe(raced + 2);
    expect(cutsRead(statements)).toBeLessThanOrEqual(6);
  }, 60_000);

  it('a prediction stamped later than settle is missed until the next full recomputation, which says so', async () => {
    // Tables of its own, so that no label of the test above makes the check sum the late rows' bucket again;
    // 40 predictions over the last 4 s, half of them labeled, every label stamped a second before the run.
    const full = performanceCheck(config('', false, '_late', '10s, 2500ms'));
    const inc = performanceCheck(config('2s', true, '_late', '10s, 2500ms'));
    await db.writer.exec(`
      CREATE TABLE ${db.schema}.preds_late (LIKE ${db.schema}.preds);
      CREATE TABLE ${db.schema}.labels_late (LIKE ${db.schema}.labels);
      INSERT INTO ${db.schema}.preds_late
        SELECT 'own-' || i, now() - i * interval '100 milliseconds', (i % 20) / 20.0, CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END
        FROM generate_series(1, 40) i;
      INSERT INTO ${db.schema}.labels_late
        SELECT 'own-' || i, now() - interval '1 second', i % 3 = 0 FROM generate_series(1, 40, 2) i;`);
    const first = await runBoth(inc, full);
    const recomputed0 = stamp(first.inc, 'mlwatch_model_recomputed_timestamp_seconds');
    // Stamped 4 s before they are written, right after that run: in a bucket that ended more than settle and
    // the 2.5 s window's start before it, so one it kept whole, and only the recomputation finds them. Their
    // labels are late too. Until the recomputation (2 s on) that bucket stays inside the 10 s window, past its edge.
    await db.writer.query(
      `INSERT INTO ${db.schema}.preds_late VALUES ('late-0', now() - interval '4 seconds', 0.9, 'a'),
                                                  ('late-1', now() - interval '4 seconds', 0.1, 'a')`,
    );
    await db.writer.query(
      `INSERT INTO ${db.schema}.labels_late VALUES ('late-0', now() - interval '3.5 seconds', true),
                                                   ('late-1', now() - interval '3.5 seconds', false)`,
    );
    const missed = await runBoth(inc, full);
    expect(stamp(missed.inc, 'mlwatch_model_recomputed_timestamp_seconds')).toBe(recomputed0);
    // Differences beyond rounding: the two late predictions are not counted yet.
    expect(() =>
      expectSameValues(
        values(missed.inc, (n) => !AUC.has(n) && !STAMPS.has(n)),
        values(missed.full, (n) => !AUC.has(n)),
      ),
    ).toThrow();
    await sleep(2100);
    const recomputed = await runBoth(inc, full);
    const at = stamp(recomputed.inc, 'mlwatch_model_recomputed_timestamp_seconds') as number;
    expect(at).toBeGreaterThan(recomputed0 as number);
    // The recomputation's values are exact; the buckets did not agree with it, so reconciled stays behind.
    expectSameValues(
      values(recomputed.inc, (n) => !STAMPS.has(n)),
      values(recomputed.full, () => true),
    );
    expect(stamp(recomputed.inc, 'mlwatch_model_reconciled_timestamp_seconds')).toBe(recomputed0);
    // Dropped: none kept until the next run sums them again.
    expect(stamp(missed.inc, 'mlwatch_model_kept_buckets')).toBeGreaterThan(0);
    expect(stamp(recomputed.inc, 'mlwatch_model_kept_buckets')).toBe(0);
    // The buckets were summed again: the next run agrees with the full check without a recomputation.
    const after = await runBoth(inc, full);
    expect(stamp(after.inc, 'mlwatch_model_kept_buckets')).toBeGreaterThan(0);
    expectSameValues(
      values(after.inc, (n) => !AUC.has(n) && !STAMPS.has(n)),
      values(after.full, (n) => !AUC.has(n)),
    );
  }, 30_000);
});

describe('incremental: the plan and the config', () => {
  const S = 1_000_000; // µs per second
  it('cuts windows into kept buckets and fresh parts', () => {
    // now = 100.3 s, windows 10 s and 2.5 s, buckets of 1 s, settle 0.5 s: buckets up to 99 s are complete.
    const plan = planRun(100.3 * S, [10_000, 2_500], { bucketMs: 1000, settleMs: 500 });
    expect(plan.headBucket).toBe(99);
    expect(plan.starts).toEqual([90.3 * S, 97.8 * S]);
    const parts = plan.parts.map((p) => [p.lo.at / S, p.hi.at / S, p.bucket ?? null]);
    expect(parts).toEqual([
      [90.3, 91, null], // the 10 s window's edge
      ...[91, 92, 93, 94, 95, 96].map((k) => [k, k + 1, k]),
      [97, 97.8, null], // bucket 97 split by the 2.5 s window's start
      [97.8, 98, null],
      [98, 99, 98],
      [99, 100.3, null], // the head: the bucket not yet settled and now()'s
    ]);
    // A window start on a bucket boundary is that boundary: no edge part.
    const aligned = planRun(100 * S, [10_000], { bucketMs: 1000, settleMs: 0 });
    expect(aligned.parts[0]).toMatchObject({ lo: { at: 90 * S, sql: { bucket: 90 } }, bucket: 90 });
    expect(aligned.parts.at(-1)).toMatchObject({ lo: { at: 99 * S }, bucket: 99 });
    // A window shorter than a bucket is all fresh.
    const short = planRun(100.3 * S, [200], { bucketMs: 1000, settleMs: 0 });
    expect(short.parts).toEqual([
      { lo: { at: 100.1 * S, sql: { agoMs: 200 } }, hi: { at: 100.3 * S, sql: { agoMs: 0 } } },
    ]);
  });

  it('applies the defaults on every task and refuses a bucket it cannot read', () => {
    // A multiclass model maps each class to its probability column (`scores`); the others name one column.
    const text = (task: string, column: string, incremental: string) => `warehouse:
  url: pglite:memory
models:
  - name: m
    task: ${task}
    owner: ds
    predictions: { table: p, key: k, timestamp: t, ${column}: ${column === 'scores' ? '{ a: sa, b: sb }' : 's'} }
    labels: { table: l, key: k, timestamp: t, label: y }
    incremental: ${incremental}
`;
    const load = (task: string, column: string, incremental: string) => () =>
      loadConfigText(text(task, column, incremental), 'm.yaml', {}, '/');
    const ok = load('binary_classification', 'score', '{}')();
    expect(ok.raw.models?.[0]?.incremental).toEqual({
      bucket: 3_600_000,
      settle: 300_000,
      full_interval: 3_600_000,
    });
    expect(load('regression', 'prediction', '{ bucket: 10m }')().raw.models?.[0]?.incremental).toMatchObject({
      bucket: 600_000,
    });
    expect(load('multiclass_classification', 'scores', '{}')().checks.map((c) => c.id)).toContain(
      'model:m:performance',
    );
    const bad = load('binary_classification', 'score', '{ bucket: 1hour }');
    expect(bad).toThrow(/'1hour' is not a bucket length/);
  });
});
