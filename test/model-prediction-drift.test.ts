import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelContext } from '../src/checks/model/context.js';
import { buildPredictionDriftCheck } from '../src/checks/model/prediction-drift.js';
import { modelEntry } from '../src/checks/model/section.js';
import type { Check, CheckResult } from '../src/checks/types.js';
import { ConfigError } from '../src/config/errors.js';
import { loadConfigText } from '../src/config/load.js';
import type { Queryable } from '../src/warehouse/types.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { binEdges, numericCounts, PSI_FLOOR, psi } from './helpers/drift-math.js';
import { scrapeOnce } from './helpers/exporter.js';
import { type Parsed, series } from './helpers/exposition.js';

// Each model's predictions are stamped by their age in seconds before the warehouse's now(); every expected
// PSI is computed in TypeScript from these arrays, with test/helpers/drift-math.ts (percentile edges, bins,
// floored PSI) or by hand. Ages stay hours away from every window and reference edge.

const H = 3600;
const D = 86_400;

interface Pred {
  age: number;
  /** NaN and NULL are in no sample. */
  value: number | null;
  version?: string;
}

interface Model {
  name: string;
  task: 'binary_classification' | 'regression';
  windows: { label: string; s: number }[];
  /** The reference as written in YAML (flow mapping), built once the test knows its schema. */
  reference: (schema: string) => string;
  preds: Pred[];
  /** Rows of another table (the `{table}` reference form), all of them the reference. */
  training?: number[];
  /** The reference sample, as the test defines it from the rows above. */
  refSample: () => number[];
}

let seed = 11;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo));
const finite = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null && !Number.isNaN(x));
const W1 = { label: '1d', s: D };
const W7 = { label: '7d', s: 7 * D };

/** main: reference [now - 21d, now - 7d), scores on a 0.05 grid (ties, 0 and 1), shifted upwards lately. */
function mainModel(): Model {
  const preds: Pred[] = [];
  const grid = (x: number) => Math.round(x * 20) / 20;
  for (let i = 0; i < 500; i++) preds.push({ age: between(7 * D + H, 21 * D - H), value: grid(rand()) });
  for (let i = 0; i < 300; i++)
    preds.push({ age: between(D + H, 7 * D - H), value: grid(Math.sqrt(rand())), version: 'b' });
  for (let i = 0; i < 150; i++) preds.push({ age: between(H, D - H), value: grid(0.5 + rand() / 2) });
  // Left out everywhere: NULL and NaN scores; rows older than the reference; rows in the future.
  for (let i = 0; i < 10; i++) preds.push({ age: between(H, 21 * D - H), value: i % 2 ? null : Number.NaN });
  for (let i = 0; i < 20; i++) preds.push({ age: between(22 * D, 30 * D), value: 0.99 });
  for (let i = 0; i < 20; i++) preds.push({ age: -2 * H, value: 0 });
  for (const p of preds) p.version ??= rand() < 0.5 ? 'a' : 'b';
  return {
    name: 'main',
    task: 'binary_classification',
    windows: [W7, W1],
    reference: () => '{ window: 14d, offset: 7d }',
    preds,
    refSample: () => finite(preds.filter((p) => p.age > 7 * D && p.age <= 21 * D).map((p) => p.value)),
  };
}

/** same: the reference (a fixed range) holds exactly the values of the last day; 7d holds the same rows. */
function sameModel(): Model {
  const values = Array.from({ length: 120 }, () => Math.round(rand() * 1000) / 1000);
  const preds: Pred[] = [
    ...values.map((value) => ({ age: between(H, D - H), value })),
    ...values.map((value) => ({ age: between(25 * D, 26 * D), value })),
  ];
  return {
    name: 'same',
    task: 'binary_classification',
    windows: [W1, W7],
    reference: () => {
      const now = Date.now();
      const iso = (ago: number) => new Date(now - ago * 1000).toISOString();
      return `{ from: "${iso(27 * D)}", to: "${iso(24 * D)}" }`;
    },
    preds,
    refSample: () => values,
  };
}

/** uniform: reference 1..100 (ten bins of ten), current 200..299 (all in the last bin): PSI by hand. */
function uniformModel(): Model {
  const preds: Pred[] = [];
  for (let v = 1; v <= 100; v++) preds.push({ age: between(2 * D, 7 * D), value: v });
  for (let v = 200; v < 300; v++) preds.push({ age: between(H, D - H), value: v });
  return {
    name: 'uniform',
    task: 'regression',
    windows: [W1],
    reference: () => '{ window: 7d, offset: 1d }',
    preds,
    refSample: () => Array.from({ length: 100 }, (_, i) => i + 1),
  };
}

/** constant: one distinct reference value (one edge), half of the current window above it: PSI by hand. */
function constantModel(): Model {
  const preds: Pred[] = [];
  for (let i = 0; i < 50; i++) preds.push({ age: between(2 * D, 7 * D), value: 0.3 });
  for (let i = 0; i < 40; i++) preds.push({ age: between(H, D - H), value: i % 2 ? 0.3 : 0.7 });
  return {
    name: 'constant',
    task: 'binary_classification',
    windows: [W1],
    reference: () => '{ window: 6d, offset: 1d }',
    preds,
    refSample: () => Array.from({ length: 50 }, () => 0.3),
  };
}

/** training: a regression model against another table (whole), with negative and huge values. */
function trainingModel(): Model {
  const training = Array.from({ length: 400 }, () => Math.round((rand() - 0.3) * 1e6) / 100);
  const preds: Pred[] = [];
  for (let i = 0; i < 200; i++)
    preds.push({ age: between(H, 7 * D - H), value: Math.round(rand() * 1e6) / 100 });
  preds.push({ age: between(H, D - H), value: 1e12 }, { age: between(H, D - H), value: -5e9 });
  return {
    name: 'training',
    task: 'regression',
    windows: [W7, W1],
    reference: (schema) => `{ table: ${schema}.training_set }`,
    preds,
    training,
    refSample: () => training,
  };
}

/** empty: a reference, but no (non-NULL) prediction in either window. */
function emptyModel(): Model {
  const preds: Pred[] = [
    ...Array.from({ length: 30 }, () => ({ age: between(8 * D, 13 * D), value: rand() })),
    { age: between(H, D - H), value: null },
  ];
  return {
    name: 'empty',
    task: 'binary_classification',
    windows: [W1, W7],
    reference: () => '{ window: 7d }',
    preds,
    refSample: () => finite(preds.filter((p) => p.age > 7 * D).map((p) => p.value)),
  };
}

/** noref: predictions in every window, none in the reference range. */
function norefModel(): Model {
  const preds = Array.from({ length: 30 }, () => ({ age: between(H, 6 * D), value: rand() }));
  return {
    name: 'noref',
    task: 'binary_classification',
    windows: [W1, W7],
    reference: () => '{ window: 7d, offset: 30d }',
    preds,
    refSample: () => [],
  };
}

const models = [
  mainModel(),
  sameModel(),
  uniformModel(),
  constantModel(),
  trainingModel(),
  emptyModel(),
  norefModel(),
];

const byName = (name: string) => models.find((m) => m.name === name) as Model;

/** The oracle: PSI per window, or the reason it is skipped. */
function expected(m: Model): { psi: Map<string, number>; skipped: Record<string, number> } {
  const out = new Map<string, number>();
  const skipped: Record<string, number> = {};
  const ref = m.refSample();
  for (const w of m.windows) {
    const cur = finite(m.preds.filter((p) => p.age > 0 && p.age <= w.s).map((p) => p.value));
    const reason = ref.length === 0 ? 'empty_reference' : cur.length === 0 ? 'empty_window' : undefined;
    if (reason) {
      skipped[reason] = (skipped[reason] ?? 0) + 1;
      continue;
    }
    const edges = binEdges(ref, 10);
    out.set(w.label, psi(numericCounts(edges, ref), numericCounts(edges, cur)));
  }
  return { psi: out, skipped };
}

function expectClose(actual: number, want: number, what: string): void {
  const ok = actual === want || Math.abs(actual - want) <= 1e-9 * Math.max(Math.abs(actual), Math.abs(want));
  if (!ok) expect.fail(`${what}: got ${actual}, expected ${want}`);
}

// ---- the warehouse ----

let db: TestDb;
let scraped: Parsed;

const table = (m: Model) => `${db.schema}.${m.name}_predictions`;

async function seedModel(m: Model): Promise<void> {
  const type = m.name === 'training' ? 'numeric' : 'double precision';
  const column = m.task === 'regression' ? 'predicted' : 'score';
  await db.writer.exec(
    `CREATE TABLE ${table(m)} (id serial, predicted_at timestamptz, ${column} ${type}, model_version text)`,
  );
  for (const p of m.preds) {
    await db.writer.query(
      `INSERT INTO ${table(m)} (predicted_at, ${column}, model_version) VALUES (now() - make_interval(secs => $1), $2, $3)`,
      [p.age, p.value === null ? null : Number.isNaN(p.value) ? 'NaN' : p.value, p.version ?? null],
    );
  }
  if (m.training) {
    await db.writer.exec(`CREATE TABLE ${db.schema}.training_set (predicted numeric)`);
    for (const v of m.training)
      await db.writer.query(`INSERT INTO ${db.schema}.training_set VALUES ($1)`, [v]);
  }
}

function modelYaml(m: Model, extra = ''): string {
  const value = m.task === 'regression' ? 'prediction: predicted' : 'score: score';
  return `  - name: ${m.name}
    task: ${m.task}
    owner: data-science
    windows: [${m.windows.map((w) => w.label).join(', ')}]
    predictions: { table: ${table(m)}, key: id, timestamp: predicted_at, ${value}${m.name === 'main' ? ', version: model_version' : ''} }
    labels: { table: ${db.schema}.labels, key: id, timestamp: labeled_at, label: outcome }
    reference: ${m.reference(db.schema)}
${extra}`;
}

function configText(modelsYaml: string): string {
  return `warehouse:\n  url: ${db.configUrl}\n  statement_timeout: 20s\ndefaults: { interval: 1h }\nmodels:\n${modelsYaml}`;
}

beforeAll(async () => {
  db = await openTestDb();
  await db.writer.exec(`CREATE TABLE ${db.schema}.labels (id int, labeled_at timestamptz, outcome boolean)`);
  for (const m of models) await seedModel(m);
  scraped = await scrapeOnce(db, configText(models.map((m) => modelYaml(m)).join('')));
}, 120_000);

afterAll(async () => {
  await db?.close();
});

describe('prediction drift: PSI of scores and predictions against the reference', () => {
  it('every prediction-drift check succeeds', () => {
    for (const m of models) {
      const ok = series(scraped, 'mlwatch_check_success', { check: `model:${m.name}:prediction_drift` });
      expect(ok.map((s) => s.value)).toEqual([1]);
    }
  });

  it('the data covers ties, 0 and 1, NULL and NaN, rows outside every range, a shift', () => {
    const main = byName('main');
    expect(main.preds.some((p) => p.value === 0) && main.preds.some((p) => p.value === 1)).toBe(true);
    expect(main.preds.some((p) => p.value === null) && main.preds.some((p) => Number.isNaN(p.value))).toBe(
      true,
    );
    expect(new Set(main.refSample()).size).toBeLessThan(main.refSample().length);
    const e = expected(main).psi;
    expect(e.get('1d')).toBeGreaterThan(0.2);
    expect(e.get('7d')).toBeGreaterThan(0.05);
  });

  for (const m of models) {
    it(`${m.name}: PSI per window equals the oracle's, skipped series by reason`, () => {
      const want = expected(m);
      const got = series(scraped, 'mlwatch_model_prediction_psi', { model: m.name });
      expect(got.map((s) => s.labels.window).sort()).toEqual([...want.psi.keys()].sort());
      for (const s of got) {
        expect(Object.keys(s.labels).sort()).toEqual(['model', 'window']);
        expect(Number.isFinite(s.value)).toBe(true);
        expectClose(
          s.value,
          want.psi.get(s.labels.window as string) as number,
          `${m.name} ${s.labels.window}`,
        );
      }
      const skipped: Record<string, number> = {};
      for (const s of series(scraped, 'mlwatch_check_skipped_samples', {
        check: `model:${m.name}:prediction_drift`,
      }))
        skipped[s.labels.reason as string] = s.value;
      expect(skipped).toEqual(want.skipped);
    });
  }

  it('identical distributions give exactly 0', () => {
    for (const w of ['1d', '7d'])
      expect(series(scraped, 'mlwatch_model_prediction_psi', { model: 'same', window: w })[0]?.value).toBe(0);
  });

  it('a shift into one bin gives the hand-computed value', () => {
    // Ten bins of 0.1 in the reference; every current value above the last edge: nine bins at the floor.
    const want = 9 * (PSI_FLOOR - 0.1) * Math.log(PSI_FLOOR / 0.1) + (1 - 0.1) * Math.log(1 / 0.1);
    const got = series(scraped, 'mlwatch_model_prediction_psi', { model: 'uniform', window: '1d' });
    expectClose(got[0]?.value as number, want, 'uniform 1d');
    // One edge (0.3): reference [1, 0] floored to [1, 1e-4]; current half at 0.3 (bin 0), half at 0.7.
    const one = (0.5 - 1) * Math.log(0.5 / 1) + (0.5 - PSI_FLOOR) * Math.log(0.5 / PSI_FLOOR);
    const constant = series(scraped, 'mlwatch_model_prediction_psi', { model: 'constant', window: '1d' });
    expectClose(constant[0]?.value as number, one, 'constant 1d');
  });

  it('an empty window or reference exports no PSI and says why', () => {
    expect(series(scraped, 'mlwatch_model_prediction_psi', { model: 'empty' })).toHaveLength(0);
    expect(series(scraped, 'mlwatch_model_prediction_psi', { model: 'noref' })).toHaveLength(0);
    expect(
      series(scraped, 'mlwatch_check_skipped_samples', { check: 'model:empty:prediction_drift' }).map((s) => [
        s.labels.reason,
        s.value,
      ]),
    ).toEqual([['empty_window', 2]]);
    expect(
      series(scraped, 'mlwatch_check_skipped_samples', { check: 'model:noref:prediction_drift' }).map((s) => [
        s.labels.reason,
        s.value,
      ]),
    ).toEqual([['empty_reference', 2]]);
  });
});

// ---- the check on its own: statements and the reference cache ----

function build(m: Model, clock: () => number, extra: Record<string, unknown> = {}): Check {
  const value = m.task === 'regression' ? { prediction: 'predicted' } : { score: 'score' };
  const entry = modelEntry.parse({
    name: m.name,
    task: m.task,
    owner: 'data-science',
    windows: m.windows.map((w) => w.label),
    predictions: { table: table(m), key: 'id', timestamp: 'predicted_at', ...value },
    labels: { table: `${db.schema}.labels`, key: 'id', timestamp: 'labeled_at', label: 'outcome' },
    ...extra,
  });
  const ctx = modelContext(entry, { everyMs: 60_000 }, 20_000);
  if (!entry.reference) throw new Error('no reference');
  return buildPredictionDriftCheck(ctx, entry.reference, { intervalMs: 3_600_000, clock });
}

async function runCheck(check: Check, statements: { sql: string; params: unknown[] }[] = []) {
  return db.warehouse.readOnly({ timeoutMs: 20_000 }, (q: Queryable) =>
    check.run({
      query(sql, params) {
        statements.push({ sql, params: [...(params ?? [])] });
        return q.query(sql, params);
      },
    }),
  );
}

const psiOf = (r: CheckResult, window: string) =>
  r.samples.find((s) => s.name === 'mlwatch_model_prediction_psi' && s.labels.window === window)?.value;

describe('prediction drift: reference cache and statements', () => {
  it('caches the reference until reference_interval, then recomputes it; one statement per run', async () => {
    const m = byName('uniform');
    let clock = 5_000_000;
    const check = build(m, () => clock, { reference: { window: '7d', offset: '1d' } });
    const first: { sql: string; params: unknown[] }[] = [];
    const r1 = await runCheck(check, first);
    expect(first).toHaveLength(2);
    expect(first.filter((s) => /percentile_cont/.test(s.sql))).toHaveLength(1);
    expectClose(psiOf(r1, '1d') as number, expected(m).psi.get('1d') as number, 'first run');

    // 100 more reference rows, all of them 500: the cached bins do not see them for an hour.
    await db.writer.query(
      `INSERT INTO ${table(m)} (predicted_at, predicted) SELECT now() - interval '3 days', 500 FROM generate_series(1, 100)`,
    );
    clock += 3_599_999;
    const second: { sql: string; params: unknown[] }[] = [];
    const r2 = await runCheck(check, second);
    expect(second).toHaveLength(1);
    expect(psiOf(r2, '1d')).toBe(psiOf(r1, '1d'));

    clock += 1;
    const third: { sql: string; params: unknown[] }[] = [];
    const r3 = await runCheck(check, third);
    expect(third).toHaveLength(2);
    const ref = [...m.refSample(), ...new Array<number>(100).fill(500)];
    const cur = Array.from({ length: 100 }, (_, i) => 200 + i);
    const edges = binEdges(ref, 10);
    expectClose(
      psiOf(r3, '1d') as number,
      psi(numericCounts(edges, ref), numericCounts(edges, cur)),
      'recomputed reference',
    );
    await db.writer.exec(`DELETE FROM ${table(m)} WHERE predicted = 500`);
  });

  it('all windows come from one statement; identifiers quoted, values bound', async () => {
    const m = byName('main');
    const statements: { sql: string; params: unknown[] }[] = [];
    await runCheck(
      build(m, () => 0, { reference: { window: '14d', offset: '7d' } }),
      statements,
    );
    expect(statements).toHaveLength(2);
    const current = statements[1] as { sql: string; params: unknown[] };
    expect(current.sql).toContain(`"${db.schema}"."main_predictions"`);
    expect(current.sql).toContain('"score"');
    expect(current.sql).not.toMatch(/\d+ seconds|0\.\d/);
    expect(current.params).toEqual(['604800 seconds', '86400 seconds', binEdges(m.refSample(), 10)]);
    expect((statements[0] as { params: unknown[] }).params).toEqual([
      [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
      '1814400 seconds',
      '604800 seconds',
    ]);
  });

  it('without an offset, a windowed reference ends where the widest window starts', async () => {
    const statements: { sql: string; params: unknown[] }[] = [];
    await runCheck(
      build(byName('empty'), () => 0, { reference: { window: '7d' } }),
      statements,
    );
    // Windows 1d and 7d: the reference is [now() - 14d, now() - 7d).
    expect(statements[0]?.params.slice(1)).toEqual(['1209600 seconds', '604800 seconds']);
  });
});

describe('prediction drift: another table with a timestamp', () => {
  it('reads the rows of that table that are not in the future', async () => {
    const m = byName('training');
    const past = Array.from({ length: 200 }, (_, i) => (i % 37) * 3.5 - 20);
    await db.writer.exec(`CREATE TABLE ${db.schema}.validation (created_at timestamptz, predicted float8)`);
    for (const v of past)
      await db.writer.query(`INSERT INTO ${db.schema}.validation VALUES (now() - interval '40 days', $1)`, [
        v,
      ]);
    // In the future: not part of the reference.
    await db.writer.exec(
      `INSERT INTO ${db.schema}.validation SELECT now() + interval '1 day', 1e9 FROM generate_series(1, 50)`,
    );
    const r = await runCheck(
      build(m, () => 0, { reference: { table: `${db.schema}.validation`, timestamp: 'created_at' } }),
    );
    const edges = binEdges(past, 10);
    for (const w of m.windows) {
      const cur = finite(m.preds.filter((p) => p.age > 0 && p.age <= w.s).map((p) => p.value));
      expectClose(
        psiOf(r, w.label) as number,
        psi(numericCounts(edges, past), numericCounts(edges, cur)),
        `validation ${w.label}`,
      );
    }
  });
});

describe('prediction drift: config', () => {
  const load = (yaml: string) => () => loadConfigText(configText(yaml), 'test.yaml', {}, '/');
  const base = () => modelYaml(byName('main')).replace(/ {4}reference: .*\n/, '');

  it('a model without a reference has no prediction-drift check', () => {
    expect(load(base())().checks.map((c) => c.id)).toEqual(['model:main:labels', 'model:main:performance']);
    expect(load(modelYaml(byName('main')))().checks.map((c) => c.id)).toContain(
      'model:main:prediction_drift',
    );
  });

  it('reference_interval without a reference, and a malformed reference, say where and how to fix', () => {
    expect(load(`${base()}    reference_interval: 2h\n`)).toThrow(
      /test\.yaml:\d+ models\[0\]\.reference_interval: reference_interval needs a reference to recompute; add reference \(e\.g\. \{window: 14d\}\) or remove it/,
    );
    expect(load(`${base()}    reference: { offset: 7d }\n`)).toThrow(
      /test\.yaml:\d+ models\[0\]\.reference\.offset: offset needs a window/,
    );
    expect(load(`${base()}    reference: { from: 2024-01-01 }\n`)).toThrow(ConfigError);
  });
});
