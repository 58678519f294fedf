import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClassificationCheck } from '../src/checks/model/classification.js';
import { type ModelEntryShape, modelContext } from '../src/checks/model/context.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { type Parsed, series } from './helpers/exposition.js';
import type { SeededClassifier as Model } from './helpers/model-tables.js';
import {
  D,
  forEachVersionWindow,
  H,
  scrapeClassifiers,
  seededClassifier,
  seededRandom,
} from './helpers/model-tables.js';
import {
  type Expected,
  expectation,
  expectValuesWithin1e9,
  seriesValues,
  skippedByReason,
} from './helpers/oracle.js';

// Estimated accuracy, precision, recall and F1 of the unlabeled predictions of a binary classifier (expected
// confusion counts if the scores are calibrated), checked against a brute-force TypeScript oracle on seeded
// predictions and labels, each stamped by its age in seconds before the warehouse's now(). Ages stay hours away
// from the window edges (1d, 7d). Then a calibration sanity check: with labels drawn as Bernoulli(score), the
// estimate on the unlabeled half is close to the realized accuracy of the labeled half.

const ESTIMATED = [
  'mlwatch_model_unlabeled_predictions',
  'mlwatch_model_estimated_accuracy',
  'mlwatch_model_estimated_precision',
  'mlwatch_model_estimated_recall',
  'mlwatch_model_estimated_f1',
];
const ESTIMATE_REASONS = new Set(['no_unlabeled', 'estimate_undefined']);

const { rand, pick, age } = seededRandom(11);

/** Predictions, a share of them labeled (Bernoulli(score) for in-range scores), the rest not yet. */
function makeModel(
  name: string,
  opts: {
    n: number;
    threshold: number;
    score: () => number | null;
    labeledShare: number | ((version: string | null) => number);
    versions?: (i: number) => string | null;
  },
): Model {
  return seededClassifier(name, opts, (key, i, { preds, labels }) => {
    const score = opts.score();
    const version = opts.versions ? opts.versions(i) : null;
    preds.push({ key, age: age(), score, version });
    const share = typeof opts.labeledShare === 'number' ? opts.labeledShare : opts.labeledShare(version);
    if (rand() >= share) return;
    const s = score === null || Number.isNaN(score) ? 0.5 : score;
    labels.push({ key, age: Math.floor(rand() * 10 * D) - 3 * D, label: rand() < s });
  });
}

const models: Model[] = [
  // Ties on a 0.05 grid (0 and 1 included), NULL and NaN scores, a few out of [0, 1] (clamped), 40 % unlabeled.
  makeModel('mixed', {
    n: 500,
    threshold: 0.45,
    score: () => {
      const r = rand();
      if (r < 0.04) return null;
      if (r < 0.06) return Number.NaN;
      if (r < 0.08) return pick([-0.2, 1.3]);
      return Math.round(rand() * 20) / 20;
    },
    labeledShare: 0.6,
  }),
  // Versions: a is fully labeled (no unlabeled: skipped), b partly, none ('') never labeled; c (added
  // below) predicts outside 1d only.
  makeModel('versioned', {
    n: 300,
    threshold: 0.6,
    score: () => rand(),
    labeledShare: (v) => (v === 'a' ? 1 : v === 'b' ? 0.5 : 0),
    versions: (i) => (i % 7 === 0 ? null : pick(['a', 'b'])),
  }),
  // No predicted positives among the unlabeled: precision and F1 undefined.
  makeModel('low', { n: 80, threshold: 0.5, score: () => pick([0.1, 0.2, 0.3, 0.45]), labeledShare: 0.3 }),
  // Every score 0: no predicted positives and expected TP + FN = 0, so only accuracy (exactly 1).
  makeModel('zeros', { n: 60, threshold: 0.5, score: () => 0, labeledShare: 0 }),
  // Every score 1 with threshold 0: precision and recall 1, expected accuracy 1.
  makeModel('ones', { n: 40, threshold: 0, score: () => 1, labeledShare: 0.2 }),
];
const versioned = models[1] as Model;
for (let i = 0; i < 20; i++) {
  versioned.preds.push({ key: `c-${i}`, age: 2 * D + i * H, score: rand(), version: 'c' });
}

// ---- the brute-force oracle ----

function expected(m: Model): Expected {
  const e = expectation();
  const { skip } = e;
  const labeled = new Set(m.labels.map((l) => l.key));
  forEachVersionWindow(m, (preds, base) => {
    const put = (name: string, v: number) => e.put(name, base, v);
    const ps = preds
      .filter((p) => p.score !== null && !Number.isNaN(p.score) && !labeled.has(p.key))
      .map((p) => ({ s: p.score as number, p: Math.min(1, Math.max(0, p.score as number)) }));
    put('mlwatch_model_unlabeled_predictions', ps.length);
    if (ps.length === 0) {
      skip('no_unlabeled', 4);
      return;
    }
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let tn = 0;
    let predictedPos = 0;
    for (const x of ps) {
      if (x.s >= m.threshold) {
        predictedPos++;
        tp += x.p;
        fp += 1 - x.p;
      } else {
        fn += x.p;
        tn += 1 - x.p;
      }
    }
    put('mlwatch_model_estimated_accuracy', (tp + tn) / ps.length);
    const precision = predictedPos > 0 ? tp / (tp + fp) : undefined;
    const recall = tp + fn > 0 ? tp / (tp + fn) : undefined;
    if (precision === undefined) skip('estimate_undefined');
    else put('mlwatch_model_estimated_precision', precision);
    if (recall === undefined) skip('estimate_undefined');
    else put('mlwatch_model_estimated_recall', recall);
    if (precision === undefined || recall === undefined || precision + recall === 0)
      skip('estimate_undefined');
    else put('mlwatch_model_estimated_f1', (2 * precision * recall) / (precision + recall));
  });
  return e;
}

// ---- the warehouse and the exporter ----

let db: TestDb;
let m: Parsed;

beforeAll(async () => {
  db = await openTestDb();
  m = await scrapeClassifiers(db, models);
}, 120_000);
afterAll(async () => {
  await db?.close();
});

describe('estimated classification metrics of unlabeled predictions: every value against brute force', () => {
  it('the performance checks succeed and the families are declared', () => {
    for (const model of models) {
      expect(series(m, 'mlwatch_check_success', { check: `model:${model.name}:performance` })[0]?.value).toBe(
        1,
      );
    }
    for (const name of ESTIMATED) expect(m.type.get(name), name).toBe('gauge');
  });

  it('the data covers the cases the check must handle', () => {
    const mixed = models[0] as Model;
    expect(mixed.preds.some((p) => p.score === null)).toBe(true);
    expect(mixed.preds.some((p) => Number.isNaN(p.score))).toBe(true);
    expect(mixed.preds.some((p) => p.score !== null && (p.score < 0 || p.score > 1))).toBe(true);
    const skipped = models.map((x) => expected(x).skipped);
    expect(skipped.some((s) => (s.no_unlabeled ?? 0) > 0)).toBe(true);
    expect(skipped.some((s) => (s.estimate_undefined ?? 0) > 0)).toBe(true);
  });

  for (const model of models) {
    it(`${model.name}: exported series equal the brute-force values (1e-9), never NaN`, () => {
      expectValuesWithin1e9(seriesValues(m, ESTIMATED, { model: model.name }), expected(model).values);
    });

    it(`${model.name}: undefined estimates are counted as skipped, by reason`, () => {
      const got = Object.fromEntries(
        Object.entries(skippedByReason(m, `model:${model.name}:performance`)).filter(([reason]) =>
          ESTIMATE_REASONS.has(reason),
        ),
      );
      expect(got).toEqual(expected(model).skipped);
    });
  }

  it('special cases behave as specified', () => {
    // Versions: a is fully labeled (count 0, nothing estimated), '' is never labeled, c has nothing in 1d.
    expect(
      series(m, 'mlwatch_model_unlabeled_predictions', { model: 'versioned', version: 'a' }).map(
        (s) => s.value,
      ),
    ).toEqual([0, 0]);
    expect(series(m, 'mlwatch_model_estimated_accuracy', { model: 'versioned', version: 'a' })).toHaveLength(
      0,
    );
    expect(
      series(m, 'mlwatch_model_estimated_accuracy', { model: 'versioned', version: '' }).length,
    ).toBeGreaterThan(0);
    expect(
      series(m, 'mlwatch_model_estimated_accuracy', { model: 'versioned', window: '1d', version: 'c' }),
    ).toHaveLength(0);
    // No predicted positives: no precision or F1, but recall 0 and an accuracy.
    expect(series(m, 'mlwatch_model_estimated_precision', { model: 'low' })).toHaveLength(0);
    expect(series(m, 'mlwatch_model_estimated_f1', { model: 'low' })).toHaveLength(0);
    for (const s of series(m, 'mlwatch_model_estimated_recall', { model: 'low' })) expect(s.value).toBe(0);
    // All scores 0: certain negatives, accuracy exactly 1 and nothing else.
    for (const s of series(m, 'mlwatch_model_estimated_accuracy', { model: 'zeros' }))
      expect(s.value).toBe(1);
    for (const name of ESTIMATED.slice(2)) expect(series(m, name, { model: 'zeros' }), name).toHaveLength(0);
    // All scores 1 at threshold 0: every estimate is 1.
    for (const name of ESTIMATED.slice(1)) {
      const found = series(m, name, { model: 'ones' });
      expect(found.length, name).toBe(2);
      for (const s of found) expect(s.value, name).toBe(1);
    }
    // Without versions configured, no version label.
    for (const s of series(m, 'mlwatch_model_estimated_accuracy', { model: 'mixed' }))
      expect(s.labels.version).toBeUndefined();
  });
});

describe('estimated accuracy of calibrated scores', () => {
  it('on the unlabeled half it is within a few points of the realized accuracy on the labeled half', async () => {
    // 4000 predictions in the last day, scores uniform on [0, 1], labels Bernoulli(score): calibrated by
    // construction. Half of them get their label; the other half's label is drawn but kept back.
    const n = 4000;
    const keys: string[] = [];
    const scores: number[] = [];
    const labelKeys: string[] = [];
    const labelValues: boolean[] = [];
    const hidden: { s: number; y: boolean }[] = [];
    for (let i = 0; i < n; i++) {
      const s = rand();
      const y = rand() < s;
      keys.push(`cal-${i}`);
      scores.push(s);
      if (i % 2 === 0) {
        labelKeys.push(`cal-${i}`);
        labelValues.push(y);
      } else hidden.push({ s, y });
    }
    await db.writer.exec(
      `CREATE TABLE ${db.schema}.cal_p (k text, at timestamptz, s double precision);
       CREATE TABLE ${db.schema}.cal_l (k text, at timestamptz, y boolean)`,
    );
    await db.writer.query(
      `INSERT INTO ${db.schema}.cal_p SELECT k, now() - interval '2 hours', s FROM unnest($1::text[], $2::float8[]) AS u(k, s)`,
      [keys, scores],
    );
    await db.writer.query(
      `INSERT INTO ${db.schema}.cal_l SELECT k, now() - interval '1 hour', y FROM unnest($1::text[], $2::boolean[]) AS u(k, y)`,
      [labelKeys, labelValues],
    );
    const entry: ModelEntryShape = {
      name: 'cal',
      task: 'binary_classification',
      owner: 'test',
      predictions: { table: `${db.schema}.cal_p`, key: 'k', timestamp: 'at', score: 's' },
      labels: { table: `${db.schema}.cal_l`, key: 'k', timestamp: 'at', label: 'y' },
      windows: [{ label: '1d', ms: 86_400_000 }],
      threshold: 0.5,
    };
    const check = buildClassificationCheck(modelContext(entry, { everyMs: 60_000 }, 20_000));
    // Realized and estimated metrics come from one statement.
    let statements = 0;
    const result = await db.warehouse.readOnly({ timeoutMs: 20_000 }, (q) =>
      check.run({
        query: (sql, params) => {
          statements++;
          return q.query(sql, params);
        },
      }),
    );
    expect(statements).toBe(1);
    const value = (name: string) => result.samples.find((s) => s.name === name)?.value as number;
    expect(value('mlwatch_model_unlabeled_predictions')).toBe(n / 2);
    const realized = value('mlwatch_model_accuracy');
    const estimated = value('mlwatch_model_estimated_accuracy');
    // Uniform scores at threshold 0.5: E[max(s, 1 - s)] = 0.75. Each accuracy has a standard error of about
    // 0.01 on 2000 rows; 0.04 is 4 of them.
    expect(Math.abs(realized - 0.75)).toBeLessThan(0.04);
    expect(Math.abs(estimated - realized), `estimated ${estimated}, realized ${realized}`).toBeLessThan(0.04);
    // And against what the kept-back labels of the unlabeled half actually say.
    const hiddenAccuracy = hidden.filter((x) => x.s >= 0.5 === x.y).length / hidden.length;
    expect(Math.abs(estimated - hiddenAccuracy)).toBeLessThan(0.04);
    for (const name of ['precision', 'recall', 'f1']) {
      const r = value(`mlwatch_model_${name}`);
      const e = value(`mlwatch_model_estimated_${name}`);
      expect(Math.abs(e - r), `${name}: estimated ${e}, realized ${r}`).toBeLessThan(0.05);
    }
  });
});
