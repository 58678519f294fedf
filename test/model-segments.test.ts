import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from './helpers/db.js';
import { scrapeOnce } from './helpers/exporter.js';
import { type Parsed, series } from './helpers/exposition.js';
import { insertAged, seededRandom } from './helpers/model-tables.js';
import {
  bruteAuc,
  type Expected,
  expectation,
  latestByKey,
  seriesKey,
  seriesValues,
  skippedByReason,
} from './helpers/oracle.js';

// Per-segment metrics (models[].segments) against brute force. Predictions and labels are stamped by their age
// in seconds before the warehouse's now(), hours away from the window edges (1d, 7d). Inside the widest window
// each segment value has an exact count, so the ranking (and its tie at the max_segments cut) is known; values
// outside it must not show. Every expected value is computed below in TypeScript from these arrays.

const H = 3600;
const D = 86_400;
// Five windows, more than the statement's default three: it packs a row's windows and label into one int per
// window count. The extra edges (6d, 28h, 22h) fall in the gaps the ages below leave (21-30 h, 126-192 h).
const WINDOWS = [
  { label: '7d', s: 7 * D },
  { label: '6d', s: 6 * D },
  { label: '28h', s: 28 * H },
  { label: '1d', s: D },
  { label: '22h', s: 22 * H },
];

const { rand, pick } = seededRandom(11);
const shuffle = <T>(xs: T[]): T[] => {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
};
const bag = (counts: [string | null, number][]) => shuffle(counts.flatMap(([v, n]) => Array(n).fill(v)));

/** Inside 1d, inside 7d only, or (outside) older than 7d or in the future. */
const inWindowAge = () =>
  rand() < 0.4 ? H + Math.floor(rand() * 20 * H) : 30 * H + Math.floor(rand() * 4 * D);
const outsideAge = () => (rand() < 0.7 ? 8 * D + Math.floor(rand() * D) : -2 * H);

interface Pred {
  key: string;
  age: number;
  value: number | null;
  segs: Record<string, string | number | null>;
}
interface Label {
  key: string;
  age: number;
  y: number;
}
interface Model {
  name: string;
  task: 'binary_classification' | 'regression';
  columns: string[];
  maxSegments: number;
  threshold: number;
  preds: Pred[];
  labels: Label[];
}

// ---- a classifier: channel (6 values, one NULL, a tie at the cut) and tier (an integer, 3 values) ----
// Inside 7d: web 150, app 110, NULL 70, branch 45, phone 45, kiosk 30. max_segments 4 keeps web, app, (null)
// and branch (ties broken by value: 'branch' < 'phone'); phone and kiosk are `other`. branch is labeled
// positive only (no AUC). 'legacy' only predicts outside 7d: no series.
function classifier(): Model {
  const preds: Pred[] = [];
  const labels: Label[] = [];
  const channels = bag([
    ['web', 150],
    ['app', 110],
    [null, 70],
    ['branch', 45],
    ['phone', 45],
    ['kiosk', 30],
  ]);
  const outside = Array.from({ length: 40 }, () => pick(['legacy', 'web', 'phone', null]));
  const rows = [
    ...channels.map((c) => ({ c, age: inWindowAge() })),
    ...outside.map((c) => ({ c, age: outsideAge() })),
  ];
  rows.forEach(({ c, age }, i) => {
    const key = `c-${i}`;
    // Scores on a 0.1 grid (ties), some NULL and a few NaN.
    const r = rand();
    const value = r < 0.04 ? null : r < 0.06 ? Number.NaN : Math.round(rand() * 10) / 10;
    preds.push({ key, age, value, segs: { channel: c, tier: pick([1, 2, 2, 3]) } });
    if (rand() < 0.15) return; // not labeled yet
    const y = c === 'branch' ? 1 : rand() < (value === null || Number.isNaN(value) ? 0.5 : value) ? 1 : 0;
    const labelAge = Math.floor(rand() * 10 * D) - 3 * D;
    labels.push({ key, age: labelAge, y });
    // An older, superseded label with the opposite value.
    if (rand() < 0.2) labels.push({ key, age: labelAge + 600 + Math.floor(rand() * D), y: 1 - y });
  });
  return {
    name: 'clf',
    task: 'binary_classification',
    columns: ['channel', 'tier'],
    maxSegments: 4,
    threshold: 0.5,
    preds,
    labels,
  };
}

// ---- a regression model: region with north 40, a real value 'other' 30, east 25 (never labeled), west 10,
// NULL 8 inside 7d; max_segments 3 keeps north, 'other' and east; west and (null) are reported as `other` too, so
// they merge with the real 'other' into one series (never two series with the same labels). ----
function regressor(): Model {
  const preds: Pred[] = [];
  const labels: Label[] = [];
  const regions = bag([
    ['north', 40],
    ['other', 30],
    ['east', 25],
    ['west', 10],
    [null, 8],
  ]);
  regions.forEach((region, i) => {
    const key = `r-${i}`;
    const age = inWindowAge();
    const actual = Math.round((rand() * 80 - 40) * 1000) / 1000;
    const value = rand() < 0.05 ? null : Math.round((actual + 1.5 + (rand() * 2 - 1) * 6) * 1000) / 1000;
    preds.push({ key, age, value, segs: { region } });
    if (region === 'east' || rand() < 0.15) return;
    labels.push({ key, age: Math.max(1, age - 600), y: actual });
    if (rand() < 0.2) labels.push({ key, age: age + 600, y: actual + 99 });
  });
  return {
    name: 'reg',
    task: 'regression',
    columns: ['region'],
    maxSegments: 3,
    threshold: 0.5,
    preds,
    labels,
  };
}

const models = [classifier(), regressor()];

// ---- brute-force oracle ----

const NULL_VALUE = '(null)';
const text = (v: string | number | null) => (v === null ? NULL_VALUE : String(v));

const inside = (p: Pred, s: number) => p.age > 0 && p.age <= s;

/** The reported value of each prediction for a column: its own if among the top maxSegments, else other. */
function reportedValue(model: Model, column: string): (p: Pred) => string {
  const counts = new Map<string, number>();
  for (const p of model.preds.filter((q) => inside(q, WINDOWS[0]?.s as number))) {
    const v = text(p.segs[column] ?? null);
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const ranked = [...counts].sort(([a, n], [b, m]) => m - n || (a < b ? -1 : a > b ? 1 : 0));
  const top = new Set(ranked.slice(0, model.maxSegments).map(([v]) => v));
  return (p) => {
    const v = text(p.segs[column] ?? null);
    return top.has(v) ? v : 'other';
  };
}

function expected(model: Model): Expected {
  const e = expectation();
  const { skip } = e;
  const latest = latestByKey(model.labels);
  for (const column of model.columns) {
    const segmentOf = reportedValue(model, column);
    const reported = new Set(model.preds.filter((p) => inside(p, WINDOWS[0]?.s as number)).map(segmentOf));
    for (const v of reported) {
      for (const w of WINDOWS) {
        const labels = { model: model.name, window: w.label, segment: column, segment_value: v };
        const put = (name: string, x: number, extra: Record<string, string> = {}) =>
          e.put(name, { ...labels, ...extra }, x);
        const rows = model.preds.filter((p) => inside(p, w.s) && segmentOf(p) === v);
        put('mlwatch_model_segment_predictions', rows.length);
        put('mlwatch_model_segment_labeled_predictions', rows.filter((p) => latest.has(p.key)).length);
        const xs = rows
          .filter((p) => latest.has(p.key) && p.value !== null && !Number.isNaN(p.value))
          .map((p) => ({ s: p.value as number, y: latest.get(p.key)?.y as number }));
        const n = xs.length;
        if (model.task === 'regression') {
          if (n === 0) skip('no_labels', 2);
          else {
            put('mlwatch_model_segment_mae', xs.reduce((a, x) => a + Math.abs(x.s - x.y), 0) / n);
            put('mlwatch_model_segment_rmse', Math.sqrt(xs.reduce((a, x) => a + (x.s - x.y) ** 2, 0) / n));
          }
          continue;
        }
        if (n === 0) {
          skip('no_labels', 4);
          continue;
        }
        const nPos = xs.filter((x) => x.y === 1).length;
        if (nPos === 0 || nPos === n) skip('one_class');
        else put('mlwatch_model_segment_auc', bruteAuc(xs));
        const predicted = xs.filter((x) => x.s >= model.threshold);
        put(
          'mlwatch_model_segment_accuracy',
          xs.filter((x) => (x.s >= model.threshold ? 1 : 0) === x.y).length / n,
        );
        put('mlwatch_model_segment_positive_rate', predicted.length / n, { source: 'predicted' });
        put('mlwatch_model_segment_positive_rate', nPos / n, { source: 'actual' });
      }
    }
  }
  return e;
}

// ---- the warehouse and the exporter ----

let db: TestDb;
let m: Parsed;

const insert = (table: string, rows: unknown[][], ageColumn: number) =>
  insertAged(db, table, rows, { ageColumn });

async function seedTables(): Promise<void> {
  const s = db.schema;
  await db.writer.exec(`
    CREATE TABLE ${s}.clf_predictions (request_id text, predicted_at timestamptz, score float8, channel text, tier integer);
    CREATE TABLE ${s}.clf_labels (request_id text, labeled_at timestamptz, outcome boolean);
    CREATE TABLE ${s}.reg_predictions (request_id text, predicted_at timestamptz, yhat float8, region text);
    CREATE TABLE ${s}.reg_labels (request_id text, labeled_at timestamptz, y float8);`);
  const [clf, reg] = models as [Model, Model];
  await insert(
    `${s}.clf_predictions`,
    clf.preds.map((p) => [p.key, p.age, p.value, p.segs.channel, p.segs.tier]),
    1,
  );
  await insert(
    `${s}.clf_labels`,
    clf.labels.map((l) => [l.key, l.age, l.y === 1]),
    1,
  );
  await insert(
    `${s}.reg_predictions`,
    reg.preds.map((p) => [p.key, p.age, p.value, p.segs.region]),
    1,
  );
  await insert(
    `${s}.reg_labels`,
    reg.labels.map((l) => [l.key, l.age, l.y]),
    1,
  );
}

const modelYaml = (model: Model) => `  - name: ${model.name}
    task: ${model.task}
    owner: data-science
    windows: [${WINDOWS.map((w) => w.label).join(', ')}]
    threshold: ${model.threshold}
    segments: [${model.columns.join(', ')}]
    max_segments: ${model.maxSegments}
    predictions:
      table: ${db.schema}.${model.name}_predictions
      key: request_id
      timestamp: predicted_at
      ${model.task === 'regression' ? 'prediction: yhat' : 'score: score'}
    labels: { table: ${db.schema}.${model.name}_labels, key: request_id, timestamp: labeled_at, label: ${model.task === 'regression' ? 'y' : 'outcome'} }
`;

beforeAll(async () => {
  db = await openTestDb();
  await seedTables();
  m = await scrapeOnce(
    db,
    `warehouse:\n  url: ${db.configUrl}\n  statement_timeout: 20s\ndefaults: { interval: 1h }\nmodels:\n${models.map(modelYaml).join('')}`,
  );
}, 120_000);
afterAll(async () => {
  await db?.close();
});

const FAMILIES = [
  'mlwatch_model_segment_predictions',
  'mlwatch_model_segment_labeled_predictions',
  'mlwatch_model_segment_auc',
  'mlwatch_model_segment_accuracy',
  'mlwatch_model_segment_positive_rate',
  'mlwatch_model_segment_mae',
  'mlwatch_model_segment_rmse',
];

describe('model segments: every value against brute force', () => {
  it('the segments checks succeed', () => {
    for (const model of models) {
      expect(series(m, 'mlwatch_check_success', { check: `model:${model.name}:segments` })[0]?.value).toBe(1);
    }
  });

  it('the data covers the cases the check must handle', () => {
    const [clf] = models as [Model, Model];
    const want = expected(clf).values;
    const has = (name: string, labels: Record<string, string>) => want.has(seriesKey(name, labels));
    const at = { model: 'clf', window: '7d', segment: 'channel' };
    // A NULL value among the top, a one-class value (no AUC), other, a value only outside the window.
    expect(has('mlwatch_model_segment_accuracy', { ...at, segment_value: '(null)' })).toBe(true);
    expect(has('mlwatch_model_segment_accuracy', { ...at, segment_value: 'branch' })).toBe(true);
    expect(has('mlwatch_model_segment_auc', { ...at, segment_value: 'branch' })).toBe(false);
    expect(has('mlwatch_model_segment_auc', { ...at, segment_value: 'other' })).toBe(true);
    expect(has('mlwatch_model_segment_predictions', { ...at, segment_value: 'phone' })).toBe(false);
    expect(clf.preds.some((p) => p.segs.channel === 'legacy')).toBe(true);
  });

  for (const model of models) {
    it(`${model.name}: exported series equal the brute-force values (1e-9)`, () => {
      const want = expected(model);
      const got = seriesValues(m, FAMILIES, { model: model.name });
      expect([...got.keys()].sort()).toEqual([...want.values.keys()].sort());
      for (const [k, v] of want.values) {
        const g = got.get(k) as number;
        expect(Math.abs(g - v), `${k}: got ${g}, want ${v}`).toBeLessThanOrEqual(
          1e-9 * Math.max(1, Math.abs(v)),
        );
      }
    });

    it(`${model.name}: skipped series are counted by reason`, () => {
      const got = skippedByReason(m, `model:${model.name}:segments`);
      expect(got).toEqual(expected(model).skipped);
    });
  }

  it('other aggregates exactly the values beyond max_segments', () => {
    for (const w of WINDOWS) {
      const count = (value: string) =>
        series(m, 'mlwatch_model_segment_predictions', {
          model: 'clf',
          window: w.label,
          segment: 'channel',
          segment_value: value,
        })[0]?.value;
      const [clf] = models as [Model, Model];
      const rest = clf.preds.filter(
        (p) => inside(p, w.s) && ['phone', 'kiosk'].includes(p.segs.channel as string),
      );
      expect(count('other')).toBe(rest.length);
      // The cut: branch and phone tie at 45 in 7d; branch sorts first and keeps its own series.
      expect(count('phone')).toBeUndefined();
      const all = series(m, 'mlwatch_model_segment_predictions', {
        model: 'clf',
        window: w.label,
        segment: 'channel',
      });
      expect(all.map((s) => s.labels.segment_value).sort()).toEqual([
        '(null)',
        'app',
        'branch',
        'other',
        'web',
      ]);
      expect(all.reduce((a, s) => a + s.value, 0)).toBe(clf.preds.filter((p) => inside(p, w.s)).length);
    }
  });

  it('a column with fewer values than max_segments has no other (tier, an integer column)', () => {
    const tiers = series(m, 'mlwatch_model_segment_predictions', {
      model: 'clf',
      window: '7d',
      segment: 'tier',
    });
    expect(tiers.map((s) => s.labels.segment_value).sort()).toEqual(['1', '2', '3']);
  });

  it('a segment without labels exports its counts and no errors', () => {
    const east = { model: 'reg', window: '7d', segment: 'region', segment_value: 'east' };
    expect(series(m, 'mlwatch_model_segment_predictions', east)[0]?.value).toBe(25);
    expect(series(m, 'mlwatch_model_segment_labeled_predictions', east)[0]?.value).toBe(0);
    expect(series(m, 'mlwatch_model_segment_mae', east)).toHaveLength(0);
  });

  it('never exports NaN', () => {
    for (const name of FAMILIES) for (const s of series(m, name)) expect(Number.isFinite(s.value)).toBe(true);
  });
});
