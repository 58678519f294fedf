import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from './helpers/db.js';
import { scrapeOnce } from './helpers/exporter.js';
import { type Parsed, series } from './helpers/exposition.js';

// A prediction written twice (every column the model reads equal) counts once; predictions that differ in
// version or score are distinct even with the same key and timestamp (a champion and a challenger scoring the
// same request). Counted by hand from the rows below.

let db: TestDb;
let m: Parsed;

beforeAll(async () => {
  db = await openTestDb();
  const s = db.schema;
  await db.writer.exec(
    `CREATE TABLE ${s}.p (k text, at timestamptz, score float8, ver text);
     CREATE TABLE ${s}.l (k text, at timestamptz, y boolean);
     INSERT INTO ${s}.p VALUES
       ('a', now() - interval '2 hours', 0.9, 'v1'),
       ('a', now() - interval '2 hours', 0.9, 'v1'),  -- written twice: one prediction
       ('a', now() - interval '2 hours', 0.2, 'v2'),  -- same request, the challenger: its own
       ('b', now() - interval '3 hours', 0.4, 'v1'),
       ('b', now() - interval '3 hours', 0.6, 'v1'),  -- same key and time, another score: its own
       ('c', now() - interval '4 hours', 0.1, 'v1');
     INSERT INTO ${s}.l VALUES
       ('a', now() - interval '1 hour', true),
       ('b', now() - interval '1 hour', false),
       ('c', now() - interval '1 hour', false),
       ('c', now() - interval '30 minutes', true);  -- the later label wins`,
  );
  m = await scrapeOnce(
    db,
    `warehouse:\n  url: ${db.configUrl}\ndefaults: { interval: 1h }\nmodels:
  - name: dup
    task: binary_classification
    owner: ds
    predictions: { table: ${s}.p, key: k, timestamp: at, score: score, version: ver }
    labels: { table: ${s}.l, key: k, timestamp: at, label: y }
    windows: [1d]
`,
  );
}, 60_000);
afterAll(async () => {
  await db?.close();
});

describe('predictions written twice', () => {
  it('count once in every model metric; differing versions or scores stay distinct', () => {
    const at = (name: string, version: string) =>
      series(m, name, { model: 'dup', window: '1d', version })[0]?.value;
    // v1: a (0.9, positive), b (0.4, negative), b (0.6, negative), c (0.1, positive: the later label).
    expect(at('mlwatch_model_predictions', 'v1')).toBe(4);
    expect(at('mlwatch_model_labeled_predictions', 'v1')).toBe(4);
    expect(at('mlwatch_model_predictions', 'v2')).toBe(1);
    // Positives 0.9 and 0.1 against negatives 0.4 and 0.6: 0.9 beats both, 0.1 neither: AUC 2 / 4.
    expect(at('mlwatch_model_auc', 'v1')).toBeCloseTo(0.5, 12);
    // At threshold 0.5: predicted positive 0.9 (TP) and 0.6 (FP): precision 1 / 2, accuracy (1 + 1) / 4.
    expect(at('mlwatch_model_precision', 'v1')).toBeCloseTo(0.5, 12);
    expect(at('mlwatch_model_accuracy', 'v1')).toBeCloseTo(0.5, 12);
  });
});
