import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from './helpers/db.js';
import { scrapeOnce } from './helpers/exporter.js';
import { type Parsed, sampleValue, series } from './helpers/exposition.js';
import { ageBase, insertAged, seededRandom } from './helpers/model-tables.js';
import { closeTo, latestByKey } from './helpers/oracle.js';

// Known predictions and labels, each stamped at a whole number of seconds before one base instant taken from
// the warehouse clock just before seeding, so label delays are exact. Expected values are computed by brute
// force from these arrays. Ages keep 2 minutes away from the window edges; the 10m window holds nothing.
interface Pred {
  id: number;
  age: number;
  score: number;
  version: string | null;
}
interface Label {
  id: number;
  age: number;
  positive: boolean;
}

const { rand } = seededRandom(2024);
const H = 3600;
const preds: Pred[] = [];
const labels: Label[] = [];
let nextId = 1;

function add(age: number, version: string | null, label: 'none' | 'late' | 'leak' | 'dup'): void {
  const id = nextId++;
  preds.push({ id, age, score: Math.round(rand() * 1000) / 1000, version });
  if (label === 'none') return;
  const positive = rand() < 0.4;
  // Delay from prediction to label: usually minutes to hours; a leak is a label stamped before its prediction.
  const delay = label === 'leak' ? -(1 + Math.floor(rand() * 900)) : Math.floor(rand() * 7200);
  labels.push({ id, age: age - delay, positive });
  // An older label of the same key (opposite value, earlier, and before the prediction): the latest wins.
  if (label === 'dup') labels.push({ id, age: Math.max(age, age - delay) + 30, positive: !positive });
}

const safeAge = () => {
  let a = 15 * 60 + Math.floor(rand() * (6 * H - 17 * 60));
  if (Math.abs(a - H) < 150) a += 400;
  return a;
};
const kinds = ['none', 'late', 'late', 'late', 'leak', 'dup'] as const;
for (const version of ['v1', 'v1', 'v1', 'v2', null]) {
  for (let i = 0; i < 40; i++)
    add(safeAge(), version, kinds[Math.floor(rand() * kinds.length)] as (typeof kinds)[number]);
}
// A version that served only in the wide window, and one with no labels at all.
for (let i = 0; i < 5; i++) add(2 * H + i * 60, 'old', 'late');
for (let i = 0; i < 4; i++) add(20 * 60 + i * 60, 'unlabeled', 'none');
// Out of every window: from the future and too old. Their labels must not count anywhere.
add(-600, 'v1', 'late');
add(7 * H, 'future-proof', 'late');

const windows = [
  { label: '10m', s: 600 },
  { label: '1h', s: H },
  { label: '6h', s: 6 * H },
];

const latestLabels = () => latestByKey(labels, (l) => l.id);

const inWindow = (p: Pred, s: number) => p.age > 0 && p.age <= s;
const versionsIn6h = [...new Set(preds.filter((p) => inWindow(p, 6 * H)).map((p) => p.version))];

function counts(s: number, version: string | null | undefined) {
  const latest = latestLabels();
  const ps = preds.filter((p) => inWindow(p, s) && (version === undefined || p.version === version));
  return { n: ps.length, labeled: ps.filter((p) => latest.has(p.id)).length };
}

/** Linear interpolation between the closest ranks, as percentile_cont. */
function percentileCont(values: number[], q: number): number {
  const a = [...values].sort((x, y) => x - y);
  const pos = q * (a.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const low = a[lo] as number;
  return lo === hi ? low : low + ((a[hi] as number) - low) * (pos - lo);
}

function delays(s: number): number[] {
  const latest = latestLabels();
  return preds
    .filter((p) => inWindow(p, s) && latest.has(p.id))
    .map((p) => p.age - (latest.get(p.id) as Label).age);
}

function leaks(s: number): number {
  return delays(s).filter((d) => d < 0).length;
}

let db: TestDb;
let s: string;
beforeAll(async () => {
  db = await openTestDb();
  s = db.schema;
  await db.writer.exec(`CREATE TABLE ${s}.scores (request_id bigint, scored_at timestamptz not null, p float8, model_version text);
CREATE TABLE ${s}.clicks (request_id bigint, clicked_at timestamptz not null, clicked boolean);
CREATE TABLE ${s}.clicks01 (request_id bigint, clicked_at timestamptz not null, clicked integer);
CREATE TABLE ${s}.empty_scores (request_id bigint, scored_at timestamptz not null, p float8);`);
  const base = await ageBase(db);
  const insert = (table: string, rows: unknown[][]) => insertAged(db, `${s}.${table}`, rows, { base });
  await insert(
    'scores',
    preds.map((p) => [p.id, p.age, p.score, p.version]),
  );
  await insert(
    'clicks',
    labels.map((l) => [l.id, l.age, l.positive]),
  );
  await insert(
    'clicks01',
    labels.map((l) => [l.id, l.age, l.positive ? 1 : 0]),
  );
});
afterAll(async () => {
  await db?.close();
});

const scrape = (modelsYaml: string): Promise<Parsed> =>
  scrapeOnce(db, `warehouse:\n  url: ${db.configUrl}\ndefaults: { interval: 1h }\nmodels:\n${modelsYaml}`);

const model = (
  name: string,
  predTable: string,
  labelTable: string,
  version: boolean,
  dataset?: string,
) => `  - name: ${name}
    task: binary_classification
    owner: search${dataset ? `\n    dataset: ${dataset}` : ''}
    windows: [1h, 10m, 6h]
    predictions:
      table: ${s}.${predTable}
      key: request_id
      timestamp: scored_at
      score: p${version ? '\n      version: model_version' : ''}
    labels: { table: ${s}.${labelTable}, key: request_id, timestamp: clicked_at, label: clicked }
`;

function skips(m: Parsed, check: string): Record<string, number> {
  return Object.fromEntries(
    series(m, 'mlwatch_check_skipped_samples', { check }).map((x) => [x.labels.reason as string, x.value]),
  );
}

function expectDelayAndLeakage(m: Parsed, name: string): void {
  for (const w of windows) {
    const labels = { model: name, window: w.label };
    expect(sampleValue(m, 'mlwatch_model_label_leakage_rows', labels)).toBe(leaks(w.s));
    const d = delays(w.s);
    if (d.length === 0) {
      expect(series(m, 'mlwatch_model_label_delay_seconds', labels)).toHaveLength(0);
      continue;
    }
    closeTo(
      sampleValue(m, 'mlwatch_model_label_delay_seconds', { ...labels, percentile: '50' }),
      percentileCont(d, 0.5),
    );
    closeTo(
      sampleValue(m, 'mlwatch_model_label_delay_seconds', { ...labels, percentile: '95' }),
      percentileCont(d, 0.95),
    );
    expect(series(m, 'mlwatch_model_label_delay_seconds', labels)).toHaveLength(2);
  }
}

describe('labels of a versioned classification model with boolean labels', () => {
  let m: Parsed;
  beforeAll(async () => {
    m = await scrape(model('ranker', 'scores', 'clicks', true, 'search_events'));
  });

  it('the check succeeds', () => {
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'model:ranker:labels' })).toBe(1);
  });

  it('the seeded data covers the edge cases', () => {
    expect(leaks(6 * H)).toBeGreaterThan(5);
    expect(new Set(labels.map((l) => l.id)).size).toBeLessThan(labels.length);
    expect(labels.filter((l) => !l.positive).length).toBeGreaterThan(20);
    expect(counts(H, 'old').n).toBe(0);
    expect(delays(600)).toHaveLength(0);
  });

  for (const w of windows) {
    it(`predictions, labeled predictions and coverage per version in ${w.label}`, () => {
      for (const v of versionsIn6h) {
        const labels = { model: 'ranker', window: w.label, version: v ?? '' };
        const c = counts(w.s, v);
        expect(sampleValue(m, 'mlwatch_model_predictions', labels)).toBe(c.n);
        expect(sampleValue(m, 'mlwatch_model_labeled_predictions', labels)).toBe(c.labeled);
        if (c.n === 0) expect(series(m, 'mlwatch_model_label_coverage_ratio', labels)).toHaveLength(0);
        else closeTo(sampleValue(m, 'mlwatch_model_label_coverage_ratio', labels), c.labeled / c.n);
      }
      expect(series(m, 'mlwatch_model_predictions', { model: 'ranker', window: w.label })).toHaveLength(
        versionsIn6h.length,
      );
    });
  }

  it('no series for a version seen only outside every window', () => {
    expect(series(m, 'mlwatch_model_predictions', { version: 'future-proof' })).toHaveLength(0);
    expect(series(m, 'mlwatch_model_info', { version: 'future-proof' })).toHaveLength(0);
  });

  it('label delay quantiles and leakage over all versions', () => {
    expectDelayAndLeakage(m, 'ranker');
    for (const x of series(m, 'mlwatch_model_label_delay_seconds'))
      expect(Object.keys(x.labels).sort()).toEqual(['model', 'percentile', 'window']);
  });

  it('model_info for each version that served in the widest window, with the configured dataset', () => {
    const info = series(m, 'mlwatch_model_info', { model: 'ranker' });
    expect(info.map((x) => x.labels.version).sort()).toEqual(versionsIn6h.map((v) => v ?? '').sort());
    for (const x of info) {
      expect(x.value).toBe(1);
      expect(x.labels).toEqual({
        model: 'ranker',
        model_owner: 'search',
        version: x.labels.version,
        dataset: 'search_events',
      });
    }
    // The dataset is on the info series only: the rules join it from there.
    for (const x of m.samples.filter(
      (y) => y.name.startsWith('mlwatch_model_') && y.name !== 'mlwatch_model_info',
    ))
      expect(x.labels.dataset).toBeUndefined();
  });

  it('previous_version: the version whose first prediction in the widest window comes last before its own', () => {
    // The first (oldest) prediction of each named version in 6h; predictions without a version take no part,
    // nor does a version seen only outside the window. Older first.
    const first = new Map<string, number>();
    for (const p of preds) {
      if (!inWindow(p, 6 * H) || p.version === null) continue;
      first.set(p.version, Math.max(first.get(p.version) ?? 0, p.age));
    }
    const order = [...first]
      .sort(([va, a], [vb, b]) => b - a || (va < vb ? -1 : va > vb ? 1 : 0))
      .map(([v]) => v);
    // Not the names' order, and the versions of the rollout below are all there.
    expect(order).not.toEqual([...order].sort());
    expect(new Set(order)).toEqual(new Set(['v1', 'v2', 'old', 'unlabeled']));
    const want = order.slice(1).map((version, i) => ({
      name: 'mlwatch_model_previous_version_info',
      labels: { model: 'ranker', version, previous_version: order[i] as string },
      value: 1,
    }));
    const got = series(m, 'mlwatch_model_previous_version_info');
    const byVersion = (a: { labels: Record<string, string> }, b: { labels: Record<string, string> }) =>
      (a.labels.version as string) < (b.labels.version as string) ? -1 : 1;
    expect([...got].sort(byVersion)).toEqual([...want].sort(byVersion));
  });

  it('an empty window exports zero counts, no coverage, and says why', () => {
    for (const v of versionsIn6h) {
      const labels = { model: 'ranker', window: '10m', version: v ?? '' };
      expect(sampleValue(m, 'mlwatch_model_predictions', labels)).toBe(0);
      expect(series(m, 'mlwatch_model_label_coverage_ratio', labels)).toHaveLength(0);
    }
    const empty = windows.flatMap((w) => versionsIn6h.filter((v) => counts(w.s, v).n === 0)).length;
    const noDelay = windows.filter((w) => delays(w.s).length === 0).length * 2;
    expect(skips(m, 'model:ranker:labels')).toEqual({ empty_window: empty, no_labels: noDelay });
  });

  it('never exports NaN', () => {
    for (const x of m.samples.filter((y) => y.name.startsWith('mlwatch_model_')))
      expect(Number.isFinite(x.value)).toBe(true);
  });
});

describe('labels of an unversioned model with 0/1 integer labels', () => {
  let m: Parsed;
  beforeAll(async () => {
    m = await scrape(
      model('ranker01', 'scores', 'clicks01', false) + model('idle', 'empty_scores', 'clicks01', false),
    );
  });

  it('counts, coverage, delay and leakage over every version, without a version label', () => {
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'model:ranker01:labels' })).toBe(1);
    for (const w of windows) {
      const labels = { model: 'ranker01', window: w.label };
      const c = counts(w.s, undefined);
      expect(sampleValue(m, 'mlwatch_model_predictions', labels)).toBe(c.n);
      expect(sampleValue(m, 'mlwatch_model_labeled_predictions', labels)).toBe(c.labeled);
      if (c.n === 0) expect(series(m, 'mlwatch_model_label_coverage_ratio', labels)).toHaveLength(0);
      else closeTo(sampleValue(m, 'mlwatch_model_label_coverage_ratio', labels), c.labeled / c.n);
      for (const x of series(m, 'mlwatch_model_predictions', labels))
        expect(Object.keys(x.labels).sort()).toEqual(['model', 'window']);
    }
    expectDelayAndLeakage(m, 'ranker01');
    // No dataset configured: no dataset label (not an empty one).
    expect(series(m, 'mlwatch_model_info', { model: 'ranker01' })).toEqual([
      {
        name: 'mlwatch_model_info',
        labels: { model: 'ranker01', model_owner: 'search', version: '' },
        value: 1,
      },
    ]);
    // Without versions there is no rollout to compare.
    expect(series(m, 'mlwatch_model_previous_version_info')).toHaveLength(0);
  });

  it('an empty predictions table: zero counts, no coverage or delay', () => {
    expect(sampleValue(m, 'mlwatch_check_success', { check: 'model:idle:labels' })).toBe(1);
    for (const w of windows) {
      const labels = { model: 'idle', window: w.label };
      expect(sampleValue(m, 'mlwatch_model_predictions', labels)).toBe(0);
      expect(sampleValue(m, 'mlwatch_model_labeled_predictions', labels)).toBe(0);
      expect(sampleValue(m, 'mlwatch_model_label_leakage_rows', labels)).toBe(0);
      expect(series(m, 'mlwatch_model_label_coverage_ratio', labels)).toHaveLength(0);
      expect(series(m, 'mlwatch_model_label_delay_seconds', labels)).toHaveLength(0);
    }
    expect(skips(m, 'model:idle:labels')).toEqual({ empty_window: 3, no_labels: 6 });
  });
});
