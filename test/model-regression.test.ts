import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from './helpers/db.js';
import { scrapeOnce } from './helpers/exporter.js';
import { type Parsed, sampleValue, series } from './helpers/exposition.js';
import { ageBase, insertAged, seededRandom } from './helpers/model-tables.js';
import { closeTo, latestByKey } from './helpers/oracle.js';

// Known predictions and labels, each stamped at an age in seconds before one base instant taken from the
// warehouse clock just before seeding. Every expected value is computed by brute force from these arrays.
// Ages stay at least 2 minutes away from the window edges (1h, 6h), since a little time passes before the check.
interface Pred {
  id: number;
  age: number;
  pred: number | null;
  version: string | null;
}
interface Label {
  id: number;
  age: number;
  /** NULL: a label row without a value, which labels nothing (only in the reference span below). */
  label: number | null;
}

const { rand } = seededRandom(7);
const H = 3600;
const safeAge = (max: number) => {
  let a = 180 + Math.floor(rand() * (max - 360));
  if (Math.abs(a - H) < 150) a += 400;
  return a;
};
const round3 = (x: number) => Math.round(x * 1000) / 1000;

const preds: Pred[] = [];
const labels: Label[] = [];
let nextId = 1;
function add(p: Omit<Pred, 'id'>, label: number | null, opts: { older?: number[] } = {}): void {
  const id = nextId++;
  preds.push({ id, ...p });
  if (label === null) return;
  // The latest label arrives some time after the prediction (or, now and then, before it); older labels of
  // the same key come earlier still and must be ignored.
  const labelAge = Math.max(1, p.age - Math.floor(rand() * 1200) + 300);
  labels.push({ id, age: labelAge, label });
  (opts.older ?? []).forEach((old, j) => {
    labels.push({ id, age: labelAge + 50 * (j + 1), label: old });
  });
}

// Two versions with noisy predictions around (label + 1.5): negative values, zero actuals, duplicate labels.
for (const version of ['v1', 'v1', 'v1', 'v2', 'v2']) {
  for (let i = 0; i < 30; i++) {
    const age = safeAge(6 * H);
    const r = rand();
    const actual = r < 0.12 ? 0 : round3((rand() * 2 - 1) * 40 + (rand() < 0.5 ? 0.6 : -0.6));
    const pred = round3(actual + 1.5 + (rand() * 2 - 1) * 6);
    const kind = rand();
    if (kind < 0.2) add({ age, pred, version }, null);
    else if (kind < 0.36) add({ age, pred, version }, actual, { older: [round3(actual + 99), -1234.5] });
    else add({ age, pred, version }, actual);
  }
}
// Predictions without a version: their own series, version="".
for (let i = 0; i < 12; i++) {
  const actual = round3((rand() * 2 - 1) * 10 + 20);
  add({ age: safeAge(6 * H), pred: round3(actual - 3 + rand()), version: null }, actual);
}
// A labeled row without a predicted value is ignored.
add({ age: 600, pred: null, version: 'v1' }, 3);
// Constant labels: R^2 is undefined; everything else is defined.
for (const pred of [6, 8.25, 7.5, -1]) add({ age: 900, pred, version: 'const' }, 7.5, { older: [3] });
// Only zero actuals, and only in the wide window: MAPE is undefined there and the 1h window has no rows.
for (const pred of [0.5, -2, 0]) add({ age: 2 * H, pred, version: 'zeros' }, 0);
// Only unlabeled predictions: nothing exported for them.
for (let i = 0; i < 3; i++) add({ age: 1200, pred: 1, version: 'unlabeled' }, null);
// Out of every window: in the future (a skewed clock) and too old.
add({ age: -600, pred: 1000, version: 'v1' }, -1000);
add({ age: 7 * H, pred: 1000, version: 'v1' }, -1000);

// The reference span, [now - 12h, now - 6h): older than every window. With windows [1h, 6h], a model without
// a reference (or with one in another table) is judged against it. Versions v0 (only here) and v1: the
// reference is over all versions. Errors of about 4, larger than in the windows, with the same edge cases:
// superseded labels, unlabeled rows, a NULL prediction, and a latest label without a value.
const refAge = () => 6 * H + 300 + Math.floor(rand() * (6 * H - 600));
for (let i = 0; i < 80; i++) {
  const actual = round3((rand() * 2 - 1) * 30);
  const pred = round3(actual + (rand() * 2 - 1) * 8);
  const version = rand() < 0.6 ? 'v0' : 'v1';
  const kind = rand();
  if (kind < 0.15) add({ age: refAge(), pred, version }, null);
  else if (kind < 0.3) add({ age: refAge(), pred, version }, actual, { older: [round3(actual - 77)] });
  else add({ age: refAge(), pred, version }, actual);
}
add({ age: 9 * H, pred: null, version: 'v0' }, 5);
{
  // A key whose latest label has no value: no labeled prediction, although an older label has one.
  const id = nextId++;
  preds.push({ id, age: 9 * H + 600, pred: 42, version: 'v0' });
  labels.push({ id, age: 9 * H, label: null }, { id, age: 9 * H + 300, label: 1 });
}

const windows = [
  { label: '1h', s: H },
  { label: '6h', s: 6 * H },
];

interface Expected {
  n: number;
  mae: number;
  rmse: number;
  mape: number | null;
  excluded: number;
  bias: number;
  r2: number | null;
}

/** The latest label of each key, by label timestamp (smallest age). */
const latestLabels = () => latestByKey(labels, (l) => l.id);

function expected(windowS: number, version: string | null | undefined): Expected | null {
  const latest = latestLabels();
  const pairs: [number, number][] = [];
  for (const p of preds) {
    if (!(p.age > 0 && p.age <= windowS)) continue;
    if (version !== undefined && p.version !== version) continue;
    const l = latest.get(p.id);
    if (l === undefined || l.label === null || p.pred === null) continue;
    pairs.push([p.pred, l.label]);
  }
  const n = pairs.length;
  if (n === 0) return null;
  let abs = 0;
  let sq = 0;
  let diff = 0;
  let ape = 0;
  let apeN = 0;
  let sumY = 0;
  for (const [s, y] of pairs) {
    abs += Math.abs(s - y);
    sq += (s - y) ** 2;
    diff += s - y;
    sumY += y;
    if (y !== 0) {
      ape += Math.abs((s - y) / y);
      apeN++;
    }
  }
  const meanY = sumY / n;
  let ssTot = 0;
  for (const [, y] of pairs) ssTot += (y - meanY) ** 2;
  const constant = pairs.every(([, y]) => y === pairs[0]?.[1]);
  return {
    n,
    mae: abs / n,
    rmse: Math.sqrt(sq / n),
    mape: apeN === 0 ? null : ape / apeN,
    excluded: n - apeN,
    bias: diff / n,
    r2: constant ? null : 1 - sq / ssTot,
  };
}

/**
 * What the reference-performance check should export for the span [now - fromS, now - toS): MAE and RMSE over
 * the predictions made in it that have a value and whose latest label has one, every version together.
 */
function expectedReference(fromS: number, toS: number): { n: number; mae: number; rmse: number } | null {
  const latest = latestLabels();
  let n = 0;
  let abs = 0;
  let sq = 0;
  for (const p of preds) {
    if (!(p.age <= fromS && p.age > toS)) continue;
    const l = latest.get(p.id);
    if (l === undefined || l.label === null || p.pred === null) continue;
    n++;
    abs += Math.abs(p.pred - l.label);
    sq += (p.pred - l.label) ** 2;
  }
  return n === 0 ? null : { n, mae: abs / n, rmse: Math.sqrt(sq / n) };
}

let db: TestDb;
let s: string;
beforeAll(async () => {
  db = await openTestDb();
  s = db.schema;
  await db.writer.exec(`CREATE TABLE ${s}.preds (request_id bigint, at timestamptz not null, yhat float8, model_version text);
CREATE TABLE ${s}.actuals (request_id bigint, observed_at timestamptz not null, y numeric);
CREATE TABLE ${s}.empty_preds (request_id bigint, at timestamptz not null, yhat float8);`);
  const base = await ageBase(db);
  const insert = (table: string, columns: string, rows: unknown[][]) =>
    insertAged(db, `${s}.${table}`, rows, { columns, base });
  await insert(
    'preds',
    'request_id, at, yhat, model_version',
    preds.map((p) => [p.id, p.age, p.pred, p.version]),
  );
  await insert(
    'actuals',
    'request_id, observed_at, y',
    labels.map((l) => [l.id, l.age, l.label]),
  );
});
afterAll(async () => {
  await db?.close();
});

const scrape = (modelsYaml: string): Promise<Parsed> =>
  scrapeOnce(db, `warehouse:\n  url: ${db.configUrl}\ndefaults: { interval: 1h }\nmodels:\n${modelsYaml}`);

const model = (name: string, table: string, version: boolean) => `  - name: ${name}
    task: regression
    owner: pricing
    windows: [1h, 6h]
    predictions:
      table: ${s}.${table}
      key: request_id
      timestamp: at
      prediction: yhat${version ? '\n      version: model_version' : ''}
    labels: { table: ${s}.actuals, key: request_id, timestamp: observed_at, label: y }
`;

const families = {
  mae: 'mlwatch_model_mae',
  rmse: 'mlwatch_model_rmse',
  mape: 'mlwatch_model_mape',
  excluded: 'mlwatch_model_mape_excluded_rows',
  bias: 'mlwatch_model_bias',
  r2: 'mlwatch_model_r2',
} as const;

function expectSeries(m: Parsed, labels: Record<string, string>, want: Expected | null): void {
  if (want === null) {
    for (const name of Object.values(families)) expect(series(m, name, labels), name).toHaveLength(0);
    return;
  }
  closeTo(sampleValue(m, families.mae, labels), want.mae);
  closeTo(sampleValue(m, families.rmse, labels), want.rmse);
  closeTo(sampleValue(m, families.bias, labels), want.bias);
  expect(sampleValue(m, families.excluded, labels)).toBe(want.excluded);
  if (want.mape === null) expect(series(m, families.mape, labels)).toHaveLength(0);
  else closeTo(sampleValue(m, families.mape, labels), want.mape);
  if (want.r2 === null) expect(series(m, families.r2, labels)).toHaveLength(0);
  else closeTo(sampleValue(m, families.r2, labels), want.r2);
}

/** What the check should report as skipped: 6 series for a window without labels, 1 per undefined metric. */
function expectedSkips(groups: (string | null | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (why: string, n: number) => {
    out[why] = (out[why] ?? 0) + n;
  };
  for (const g of groups) {
    for (const w of windows) {
      const e = expected(w.s, g);
      if (e === null) add('no_labels', 6);
      else {
        if (e.mape === null) add('undefined', 1);
        if (e.r2 === null) add('undefined', 1);
      }
    }
  }
  return out;
}

function skips(m: Parsed, check: string): Record<string, number> {
  return Object.fromEntries(
    series(m, 'mlwatch_check_skipped_samples', { check }).map((x) => [x.labels.reason as string, x.value]),
  );
}

describe('regression metrics per window and version', () => {
  let m: Parsed;
  const versions = ['v1', 'v2', null, 'const', 'zeros', 'unlabeled'];
  beforeAll(async () => {
    m = await scrape(model('price', 'preds', true));
  });

  it('the check succeeds', () => {
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'model:price:performance' })).toBe(1);
  });

  it('the seeded data covers the edge cases', () => {
    const e1 = expected(6 * H, 'v1') as Expected;
    expect(e1.excluded).toBeGreaterThan(0);
    expect(labels.filter((l) => (l.label ?? 0) < 0).length).toBeGreaterThan(10);
    expect(preds.filter((p) => (p.pred ?? 0) < 0).length).toBeGreaterThan(10);
    expect(new Set(labels.map((l) => l.id)).size).toBeLessThan(labels.length);
    expect(preds.some((p) => p.version?.startsWith('v') && !latestLabels().has(p.id))).toBe(true);
  });

  for (const w of windows) {
    for (const v of versions) {
      it(`window ${w.label}, version ${v ?? '(none)'}`, () => {
        expectSeries(m, { model: 'price', window: w.label, version: v ?? '' }, expected(w.s, v));
      });
    }
  }

  it('exports exactly the defined series, all with a version label, never NaN', () => {
    for (const name of Object.values(families)) {
      for (const x of series(m, name)) {
        expect(Number.isFinite(x.value)).toBe(true);
        expect(Object.keys(x.labels).sort()).toEqual(['model', 'version', 'window']);
      }
    }
    let count = 0;
    for (const w of windows) {
      for (const v of versions) {
        const e = expected(w.s, v);
        if (e !== null) count += 4 + (e.mape === null ? 0 : 1) + (e.r2 === null ? 0 : 1);
      }
    }
    expect(Object.values(families).reduce((n, name) => n + series(m, name).length, 0)).toBe(count);
  });

  it('reports skipped series by reason', () => {
    expect(skips(m, 'model:price:performance')).toEqual(expectedSkips(versions));
  });

  it('constant labels make R^2 undefined, zero actuals MAPE', () => {
    expect(series(m, families.r2, { version: 'const' })).toHaveLength(0);
    expect(series(m, families.mape, { version: 'zeros' })).toHaveLength(0);
    expect(sampleValue(m, families.excluded, { version: 'zeros', window: '6h' })).toBe(3);
    expect(series(m, families.mae, { version: 'zeros', window: '1h' })).toHaveLength(0);
    expect(series(m, families.mae, { version: 'unlabeled' })).toHaveLength(0);
  });

  it('bias is positive for over-prediction', () => {
    expect(sampleValue(m, families.bias, { version: 'v1', window: '6h' })).toBeGreaterThan(0);
    expect(sampleValue(m, families.bias, { version: '', window: '6h' })).toBeLessThan(0);
  });
});

describe('regression metrics without versions', () => {
  let m: Parsed;
  beforeAll(async () => {
    m = await scrape(model('price_all', 'preds', false) + model('price_empty', 'empty_preds', false));
  });

  it('one series per window over every version, without a version label', () => {
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'model:price_all:performance' })).toBe(1);
    for (const w of windows) {
      const labels = { model: 'price_all', window: w.label };
      expectSeries(m, labels, expected(w.s, undefined));
      for (const name of Object.values(families)) {
        for (const x of series(m, name, labels))
          expect(Object.keys(x.labels).sort()).toEqual(['model', 'window']);
      }
    }
    expect(skips(m, 'model:price_all:performance')).toEqual(expectedSkips([undefined]));
  });

  it('an empty predictions table exports nothing and says why', () => {
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'model:price_empty:performance' })).toBe(1);
    for (const name of Object.values(families))
      expect(series(m, name, { model: 'price_empty' })).toHaveLength(0);
    expect(skips(m, 'model:price_empty:performance')).toEqual({ no_labels: 12 });
  });
});

describe('reference-window errors: the default error thresholds of the rules', () => {
  // Spans, as ages in seconds: the default (the widest window, 6h, just before it), the model's own
  // {window: 2h, offset: 8h}, and a fixed {from, to} 11h to 7h before the seeding instant.
  const DEFAULT = { from: 12 * H, to: 6 * H };
  const WINDOWED = { from: 10 * H, to: 8 * H };
  const RANGE = { from: 11 * H, to: 7 * H };
  let m: Parsed;
  beforeAll(async () => {
    const t0 = new Date(
      Number((await db.writer.query(`SELECT extract(epoch FROM t0)::float8 AS t FROM ${s}.base`))[0]?.t) *
        1000,
    );
    const iso = (ageS: number) => new Date(t0.getTime() - ageS * 1000).toISOString();
    const withReference = (name: string, table: string, reference: string) =>
      `${model(name, table, true)}    reference: ${reference}\n`;
    m = await scrape(
      model('price', 'preds', true) +
        `${withReference('price_window', 'preds', '{ window: 2h, offset: 8h }')}    reference_interval: 30m\n` +
        withReference('price_range', 'preds', `{ from: "${iso(RANGE.from)}", to: "${iso(RANGE.to)}" }`) +
        // Another table has no labels mlwatch knows of: the errors fall back to the default span.
        withReference('price_table', 'preds', `{ table: ${s}.empty_preds }`) +
        model('price_empty', 'empty_preds', false),
    );
  });

  const expectReference = (name: string, want: { n: number; mae: number; rmse: number } | null) => {
    const labels = { model: name };
    expect(sampleValue(m, 'mlwatch_check_success', { check: `model:${name}:reference_performance` })).toBe(1);
    expect(sampleValue(m, 'mlwatch_model_reference_labeled_predictions', labels)).toBe(want?.n ?? 0);
    if (want === null) {
      expect(series(m, 'mlwatch_model_reference_mae', labels)).toHaveLength(0);
      expect(series(m, 'mlwatch_model_reference_rmse', labels)).toHaveLength(0);
      return;
    }
    closeTo(sampleValue(m, 'mlwatch_model_reference_mae', labels), want.mae);
    closeTo(sampleValue(m, 'mlwatch_model_reference_rmse', labels), want.rmse);
  };

  it('the seeded spans differ, and hold what the check must handle', () => {
    const d = expectedReference(DEFAULT.from, DEFAULT.to);
    const w = expectedReference(WINDOWED.from, WINDOWED.to);
    const r = expectedReference(RANGE.from, RANGE.to);
    if (d === null || w === null || r === null)
      throw new Error('a reference span without labeled predictions');
    expect(new Set([d.mae, w.mae, r.mae]).size).toBe(3);
    expect(w.n).toBeLessThan(r.n);
    expect(r.n).toBeLessThan(d.n);
    const inDefault = preds.filter((p) => p.age <= DEFAULT.from && p.age > DEFAULT.to);
    expect(new Set(inDefault.map((p) => p.version))).toEqual(new Set(['v0', 'v1']));
    expect(inDefault.some((p) => p.pred === null && latestLabels().has(p.id))).toBe(true);
    expect(inDefault.some((p) => latestLabels().get(p.id)?.label === null)).toBe(true);
    expect(inDefault.some((p) => !latestLabels().has(p.id))).toBe(true);
    // The reference is not the windows' error: a threshold of 1.2 times it means something.
    expect(d.mae).toBeGreaterThan(1.2 * (expected(6 * H, undefined) as Expected).mae);
  });

  it('without a reference: the span as long as the widest window, just before it, over every version', () => {
    expectReference('price', expectedReference(DEFAULT.from, DEFAULT.to));
  });

  it("the model's own {window, offset} and {from, to} references", () => {
    expectReference('price_window', expectedReference(WINDOWED.from, WINDOWED.to));
    expectReference('price_range', expectedReference(RANGE.from, RANGE.to));
  });

  it('a reference in another table falls back to the default span', () => {
    expectReference('price_table', expectedReference(DEFAULT.from, DEFAULT.to));
  });

  it('no labeled prediction in the reference: a count of 0, no MAE or RMSE, and why', () => {
    expectReference('price_empty', null);
    expect(skips(m, 'model:price_empty:reference_performance')).toEqual({ no_labels: 2 });
    expect(skips(m, 'model:price:reference_performance')).toEqual({});
  });

  it('one series per model, labelled model only; recomputed every reference_interval (default 1h)', () => {
    for (const name of [
      'mlwatch_model_reference_mae',
      'mlwatch_model_reference_rmse',
      'mlwatch_model_reference_labeled_predictions',
    ]) {
      for (const x of series(m, name)) expect(Object.keys(x.labels)).toEqual(['model']);
    }
    expect(series(m, 'mlwatch_model_reference_mae')).toHaveLength(4);
    const interval = (name: string) =>
      sampleValue(m, 'mlwatch_check_interval_seconds', { check: `model:${name}:reference_performance` });
    expect(interval('price')).toBe(3600);
    expect(interval('price_window')).toBe(1800);
  });
});
