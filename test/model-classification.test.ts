import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  bruteAuc,
  type Expected,
  expectation,
  expectValuesWithin1e9,
  latestByKey,
  seriesValues,
  skippedByReason,
} from './helpers/oracle.js';

// Seeded predictions and labels, each stamped by its age in seconds before the warehouse's now(); every
// expected value is computed below by brute force in TypeScript from these arrays. Ages stay hours away from
// the window edges (1d, 7d). Predictions with a NULL score are excluded from every performance metric (they
// can be neither ranked nor thresholded); unlabeled predictions too.

const { rand, pick, age } = seededRandom(7);

/**
 * Predictions with tied scores on a 0.05 grid (0 and 1 exactly included), some NULL scores, labels drawn from
 * the score, some predictions unlabeled, and some keys labeled twice (the later label wins).
 */
function makeModel(
  name: string,
  opts: {
    n: number;
    threshold: number;
    score?: () => number | null;
    label?: (s: number) => boolean;
    versions?: (i: number) => string | null;
  },
): Model {
  return seededClassifier(name, opts, (key, i, { preds, labels }) => {
    const score = opts.score ? opts.score() : rand() < 0.05 ? null : Math.round(rand() * 20) / 20;
    const a = age();
    preds.push({ key, age: a, score, version: opts.versions ? opts.versions(i) : null });
    if (rand() < 0.15) return; // not labeled yet
    const truth = (opts.label ?? ((s: number) => rand() < s))(score ?? 0.5);
    // Label ages are distinct per key: the latest (smallest age) wins.
    const labelAge = Math.floor(rand() * 10 * D) - 3 * D;
    labels.push({ key, age: labelAge, label: truth });
    if (rand() < 0.2) {
      // An older, superseded label with the opposite value, and sometimes a third, even older one.
      labels.push({ key, age: labelAge + 600 + Math.floor(rand() * D), label: !truth });
      if (rand() < 0.5) labels.push({ key, age: labelAge + 2 * D, label: truth });
    }
  });
}

const models: Model[] = [
  makeModel('main', { n: 400, threshold: 0.45 }),
  makeModel('oneclass', { n: 60, threshold: 0.5, label: () => true }),
  makeModel('flat', { n: 80, threshold: 0.5, score: () => 0.3 }),
  makeModel('extremes', {
    n: 120,
    threshold: 0.5,
    score: () => pick([0, 1, 0, 1, 0.5, 1e-17, 1 - 1e-17, 0.999]),
    label: () => rand() < 0.5,
  }),
  makeModel('versioned', {
    n: 300,
    threshold: 0.6,
    versions: (i) => (i % 11 === 0 ? null : pick(['a', 'b', 'b'])),
  }),
];
// NaN scores count like NULL ones: left out of every metric.
const main = models[0] as Model;
for (let i = 0; i < 6; i++) {
  main.preds.push({ key: `nan-${i}`, age: 2 * H + i * D, score: Number.NaN, version: null });
  main.labels.push({ key: `nan-${i}`, age: H, label: i % 2 === 0 });
}
// Version c only predicts outside 1d; version d is never labeled.
const versioned = models[4] as Model;
for (let i = 0; i < 30; i++) {
  versioned.preds.push({
    key: `c-${i}`,
    age: 2 * D + i * H,
    score: Math.round(rand() * 10) / 10,
    version: 'c',
  });
  versioned.labels.push({ key: `c-${i}`, age: D, label: rand() < 0.5 });
  versioned.preds.push({ key: `d-${i}`, age: 5 * H + i * 60, score: rand(), version: 'd' });
}

// ---- brute-force oracles ----

function hanleyMcNeil(a: number, nPos: number, nNeg: number): number {
  const q1 = a / (2 - a);
  const q2 = (2 * a * a) / (1 + a);
  return Math.sqrt((a * (1 - a) + (nPos - 1) * (q1 - a * a) + (nNeg - 1) * (q2 - a * a)) / (nPos * nNeg));
}

function expected(m: Model): Expected {
  const e = expectation();
  const { skip } = e;
  const latest = latestByKey(m.labels);
  forEachVersionWindow(m, (preds, base) => {
    const put = (name: string, v: number, extra: Record<string, string> = {}) =>
      e.put(name, { ...base, ...extra }, v);
    const xs = preds
      .filter((p) => p.score !== null && !Number.isNaN(p.score) && latest.has(p.key))
      .map((p) => ({ s: p.score as number, y: latest.get(p.key)?.label ? 1 : 0 }));
    const n = xs.length;
    if (n === 0) {
      skip('no_labels', 11);
      return;
    }
    const nPos = xs.filter((x) => x.y === 1).length;
    const nNeg = n - nPos;
    if (nPos === 0 || nNeg === 0) skip('one_class', 2);
    else {
      const auc = bruteAuc(xs);
      put('mlwatch_model_auc', auc);
      put('mlwatch_model_auc_stderr', hanleyMcNeil(auc, nPos, nNeg));
    }
    const clip = (s: number) => Math.min(Math.max(s, 1e-15), 1 - 1e-15);
    put(
      'mlwatch_model_log_loss',
      xs.reduce((a, x) => a - (x.y ? Math.log(clip(x.s)) : Math.log(1 - clip(x.s))), 0) / n,
    );
    put('mlwatch_model_brier_score', xs.reduce((a, x) => a + (x.s - x.y) ** 2, 0) / n);
    const predPos = xs.filter((x) => x.s >= m.threshold);
    const tp = predPos.filter((x) => x.y === 1).length;
    const correct = xs.filter((x) => (x.s >= m.threshold ? 1 : 0) === x.y).length;
    put('mlwatch_model_accuracy', correct / n);
    const precision = predPos.length ? tp / predPos.length : undefined;
    const recall = nPos ? tp / nPos : undefined;
    if (precision === undefined) skip('undefined');
    else put('mlwatch_model_precision', precision);
    if (recall === undefined) skip('undefined');
    else put('mlwatch_model_recall', recall);
    if (precision === undefined || recall === undefined || precision + recall === 0) skip('undefined');
    else put('mlwatch_model_f1', (2 * precision * recall) / (precision + recall));
    let ece = 0;
    for (let b = 0; b < 10; b++) {
      const inBin = xs.filter((x) => Math.max(0, Math.min(9, Math.floor(x.s * 10))) === b);
      if (!inBin.length) continue;
      const meanScore = inBin.reduce((a, x) => a + x.s, 0) / inBin.length;
      const rate = inBin.filter((x) => x.y === 1).length / inBin.length;
      ece += (inBin.length / n) * Math.abs(meanScore - rate);
    }
    put('mlwatch_model_calibration_error', ece);
    put('mlwatch_model_positive_rate', predPos.length / n, { source: 'predicted' });
    put('mlwatch_model_positive_rate', nPos / n, { source: 'actual' });
  });
  return e;
}

// ---- the warehouse and the exporter ----

let db: TestDb;
let m: Parsed;

beforeAll(async () => {
  db = await openTestDb();
  // main and extremes label with booleans, the others with 0/1 integers.
  m = await scrapeClassifiers(db, models, (model) =>
    model.name === 'main' || model.name === 'extremes' ? 'boolean' : 'integer',
  );
}, 120_000);
afterAll(async () => {
  await db?.close();
});

const PERFORMANCE = [
  'mlwatch_model_auc',
  'mlwatch_model_auc_stderr',
  'mlwatch_model_log_loss',
  'mlwatch_model_brier_score',
  'mlwatch_model_accuracy',
  'mlwatch_model_precision',
  'mlwatch_model_recall',
  'mlwatch_model_f1',
  'mlwatch_model_calibration_error',
  'mlwatch_model_positive_rate',
];

describe('classification performance: every value against brute force', () => {
  it('the performance checks succeed', () => {
    for (const model of models) {
      expect(series(m, 'mlwatch_check_success', { check: `model:${model.name}:performance` })[0]?.value).toBe(
        1,
      );
    }
  });

  it('the data covers the cases the check must handle', () => {
    const main = models[0] as Model;
    expect(main.preds.some((p) => p.score === 0) && main.preds.some((p) => p.score === 1)).toBe(true);
    expect(main.preds.some((p) => p.score === null)).toBe(true);
    expect(main.labels.length).toBeGreaterThan(new Set(main.labels.map((l) => l.key)).size);
  });

  for (const model of models) {
    it(`${model.name}: exported series equal the brute-force values (1e-9)`, () => {
      expectValuesWithin1e9(seriesValues(m, PERFORMANCE, { model: model.name }), expected(model).values);
    });

    it(`${model.name}: undefined metrics are counted as skipped, by reason`, () => {
      const want = expected(model).skipped;
      // The estimated metrics' reasons are checked in model-estimated.test.ts.
      const got = Object.fromEntries(
        Object.entries(skippedByReason(m, `model:${model.name}:performance`)).filter(
          ([reason]) => reason !== 'no_unlabeled' && reason !== 'estimate_undefined',
        ),
      );
      expect(got).toEqual(want);
    });
  }

  it('special cases behave as specified', () => {
    // One class: no AUC, skipped one_class for both windows (AUC and stderr).
    expect(series(m, 'mlwatch_model_auc', { model: 'oneclass' })).toHaveLength(0);
    expect(expected(models[1] as Model).skipped.one_class).toBe(4);
    // All scores equal: AUC 0.5, no predicted positives at threshold 0.5 (precision and F1 undefined).
    for (const s of series(m, 'mlwatch_model_auc', { model: 'flat' })) expect(s.value).toBe(0.5);
    expect(series(m, 'mlwatch_model_precision', { model: 'flat' })).toHaveLength(0);
    // Scores of exactly 0 and 1 with both labels: log loss is finite thanks to clipping, and large.
    for (const s of series(m, 'mlwatch_model_log_loss', { model: 'extremes' })) {
      expect(Number.isFinite(s.value)).toBe(true);
      expect(s.value).toBeGreaterThan(5);
    }
    // Versions: one series per version ('' for none); c has nothing in 1d, d has no labels.
    const versions = new Set(
      series(m, 'mlwatch_model_auc', { model: 'versioned', window: '7d' }).map((s) => s.labels.version),
    );
    expect(versions).toEqual(new Set(['', 'a', 'b', 'c']));
    expect(series(m, 'mlwatch_model_auc', { model: 'versioned', window: '1d', version: 'c' })).toHaveLength(
      0,
    );
    expect(series(m, 'mlwatch_model_auc', { model: 'versioned', version: 'd' })).toHaveLength(0);
    // Without versions configured, no version label.
    for (const s of series(m, 'mlwatch_model_auc', { model: 'main' }))
      expect(s.labels.version).toBeUndefined();
  });

  it('versions are ordered by their first prediction in the widest window: each names its previous one', () => {
    // a and b serve throughout, c started about 3 days ago and d 5 hours ago; NULL versions take no part.
    const first = new Map<string, number>();
    for (const p of versioned.preds) {
      if (!(p.age > 0 && p.age <= 7 * D) || p.version === null) continue;
      first.set(p.version, Math.max(first.get(p.version) ?? 0, p.age));
    }
    const order = [...first].sort(([, a], [, b]) => b - a).map(([v]) => v);
    expect(order.slice(2)).toEqual(['c', 'd']);
    const got = Object.fromEntries(
      series(m, 'mlwatch_model_previous_version_info', { model: 'versioned' }).map((s) => [
        s.labels.version,
        s.labels.previous_version,
      ]),
    );
    expect(got).toEqual({ [order[1] as string]: order[0], c: order[1], d: 'c' });
    for (const model of models.filter((x) => !x.versioned))
      expect(series(m, 'mlwatch_model_previous_version_info', { model: model.name })).toHaveLength(0);
  });

  it('classification models have no reference-window errors (those are the regression defaults)', () => {
    for (const name of ['mlwatch_model_reference_mae', 'mlwatch_model_reference_labeled_predictions'])
      expect(series(m, name)).toHaveLength(0);
    expect(
      series(m, 'mlwatch_check_success').filter((s) => s.labels.check?.endsWith(':reference_performance')),
    ).toHaveLength(0);
  });
});
