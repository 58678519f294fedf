import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config/errors.js';
import { loadConfigText } from '../src/config/load.js';
import { catalogEntries } from '../src/metrics/catalog.js';
import type { Queryable } from '../src/warehouse/types.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { scrapeOnce } from './helpers/exporter.js';
import { type Parsed, series } from './helpers/exposition.js';
import { dataSha256, type MulticlassModelData, multiclassData } from './helpers/multiclass-data.js';

// Every exported value of the multiclass performance check against scikit-learn itself: the rows seeded here
// (test/helpers/multiclass-data.ts) went through scripts/gen-multiclass-oracle.py, whose output is the fixture
// read below, with the SHA-256 of the rows it read. CI has no scikit-learn, so the fixture is committed; the
// first test fails when the rows seeded here are not the ones the fixture was computed from.

interface OracleClass {
  precision: number | null;
  recall: number | null;
  f1: number | null;
  support: number;
  auc: number | null;
}
interface OracleSeries {
  window: string;
  version: string;
  n: number;
  unknown: number;
  accuracy?: number;
  log_loss?: number;
  macro_f1?: number;
  weighted_f1?: number;
  macro_auc?: number | null;
  classes?: Record<string, OracleClass>;
}
interface Oracle {
  rows_sha256: string;
  sklearn: string;
  models: Record<string, { classes: string[]; versioned: boolean; series: OracleSeries[] }>;
}

const oracle = JSON.parse(
  readFileSync(new URL('./fixtures/multiclass-oracle.json', import.meta.url), 'utf8'),
) as Oracle;

const PERFORMANCE = [
  'mlwatch_model_multiclass_accuracy',
  'mlwatch_model_multiclass_log_loss',
  'mlwatch_model_multiclass_f1',
  'mlwatch_model_multiclass_auc',
  'mlwatch_model_class_precision',
  'mlwatch_model_class_recall',
  'mlwatch_model_class_f1',
  'mlwatch_model_class_support',
  'mlwatch_model_class_auc',
  'mlwatch_model_unknown_class_predictions',
];

const key = (name: string, labels: Record<string, string>) =>
  `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;

/** The series and skipped counts the oracle's values mean for one model. */
function expected(model: MulticlassModelData) {
  const o = oracle.models[model.name];
  if (!o) throw new Error(`no oracle for ${model.name}; run scripts/gen-multiclass-oracle.py`);
  const values = new Map<string, number>();
  const skipped: Record<string, number> = {};
  const skip = (why: string, n = 1) => {
    skipped[why] = (skipped[why] ?? 0) + n;
  };
  for (const s of o.series) {
    const base = { model: model.name, window: s.window, ...(o.versioned ? { version: s.version } : {}) };
    const put = (name: string, v: number | null | undefined, extra: Record<string, string> = {}) =>
      values.set(key(name, { ...base, ...extra }), v as number);
    put('mlwatch_model_unknown_class_predictions', s.unknown);
    if (s.n === 0) {
      skip('no_labels', 5 + 5 * o.classes.length);
      continue;
    }
    put('mlwatch_model_multiclass_accuracy', s.accuracy);
    put('mlwatch_model_multiclass_log_loss', s.log_loss);
    put('mlwatch_model_multiclass_f1', s.macro_f1, { average: 'macro' });
    put('mlwatch_model_multiclass_f1', s.weighted_f1, { average: 'weighted' });
    if (s.macro_auc === null) skip('one_class');
    else put('mlwatch_model_multiclass_auc', s.macro_auc, { average: 'macro' });
    for (const [name, c] of Object.entries(s.classes ?? {})) {
      const at = { class: name };
      for (const [family, v, reason] of [
        ['mlwatch_model_class_precision', c.precision, 'undefined'],
        ['mlwatch_model_class_recall', c.recall, 'undefined'],
        ['mlwatch_model_class_f1', c.f1, 'undefined'],
        ['mlwatch_model_class_auc', c.auc, 'one_class'],
      ] as const) {
        if (v === null) skip(reason);
        else put(family, v, at);
      }
      put('mlwatch_model_class_support', c.support, at);
    }
  }
  return { values, skipped };
}

function modelYaml(schema: string, m: MulticlassModelData): string {
  return `  - name: ${m.name}
    task: multiclass_classification
    owner: data-science
    windows: [${m.windows.map((w) => w.label).join(', ')}]
    predictions:
      table: ${schema}.${m.name}_predictions
      key: request_id
      timestamp: predicted_at${m.versioned ? '\n      version: model_version' : ''}
      scores: { ${m.classes.map((c) => `${c.name}: ${c.column}`).join(', ')} }
    labels: { table: ${schema}.${m.name}_labels, key: request_id, timestamp: labeled_at, label: label }
`;
}

let db: TestDb;
let scraped: Parsed;

/** Inserts rows in batches, with placeholders numbered from the row shape (test seeding only). */
async function insert(table: string, casts: string[], rows: unknown[][]): Promise<void> {
  for (let start = 0; start < rows.length; start += 200) {
    const batch = rows.slice(start, start + 200);
    const tuples = batch.map(
      (_, r) => `(${casts.map((cast, c) => cast.replace('?', `$${r * casts.length + c + 1}`)).join(', ')})`,
    );
    await db.writer.query(`INSERT INTO ${table} VALUES ${tuples.join(', ')}`, batch.flat());
  }
}

async function seed(m: MulticlassModelData): Promise<void> {
  const p = `${db.schema}.${m.name}_predictions`;
  const l = `${db.schema}.${m.name}_labels`;
  await db.writer.exec(
    `CREATE TABLE ${p} (request_id text, predicted_at timestamptz, model_version text, ${m.classes
      .map((c) => `${c.column} ${m.scoreType}`)
      .join(', ')});
     CREATE TABLE ${l} (request_id text, labeled_at timestamptz, label ${m.labelType})`,
  );
  await insert(
    p,
    [
      '?::text',
      'now() - make_interval(secs => ?::float8)',
      '?::text',
      ...m.classes.map(() => `?::${m.scoreType}`),
    ],
    m.preds.map((r) => [r.key, r.age, r.version, ...r.scores.map((s) => (s === null ? null : String(s)))]),
  );
  await insert(
    l,
    ['?::text', 'now() - make_interval(secs => ?::float8)', `?::${m.labelType}`],
    m.labels.map((r) => [r.key, r.age, r.label]),
  );
}

beforeAll(async () => {
  db = await openTestDb();
  for (const m of multiclassData) await seed(m);
  const text = `warehouse:\n  url: ${db.configUrl}\n  statement_timeout: 30s\ndefaults: { interval: 1h }\nmodels:\n${multiclassData
    .map((m) => modelYaml(db.schema, m))
    .join('')}`;
  scraped = await scrapeOnce(db, text);
}, 180_000);
afterAll(async () => {
  await db?.close();
});

describe('multiclass classification: every value against scikit-learn', () => {
  it('the oracle fixture was computed from exactly the rows this test seeds', () => {
    expect(oracle.rows_sha256, 'rows changed: re-run /usr/bin/python3 scripts/gen-multiclass-oracle.py').toBe(
      dataSha256(),
    );
    expect(Object.keys(oracle.models).sort()).toEqual(multiclassData.map((m) => m.name).sort());
  });

  it('the data covers the cases the check must handle', () => {
    const risk = multiclassData[0] as MulticlassModelData;
    const numbers = (s: MulticlassModelData['preds'][number]['scores']) =>
      s.filter((x) => typeof x === 'number');
    // Ties for the argmax (two classes share the highest probability), with the tie not at the first class.
    expect(
      risk.preds.some((p) => {
        const s = numbers(p.scores);
        return s.length === 3 && s[1] === s[2] && (s[1] as number) > (s[0] as number);
      }),
    ).toBe(true);
    // Exact 0 and 1 (log loss clipping), NULL and NaN probabilities.
    expect(risk.preds.some((p) => p.scores.includes(0)) && risk.preds.some((p) => p.scores.includes(1))).toBe(
      true,
    );
    expect(risk.preds.some((p) => p.scores.includes(null))).toBe(true);
    expect(risk.preds.some((p) => p.scores.includes('NaN'))).toBe(true);
    // Superseded labels, unknown labels, unlabeled predictions, predictions outside every window and in the future.
    expect(risk.labels.length).toBeGreaterThan(new Set(risk.labels.map((l) => l.key)).size);
    expect(risk.labels.some((l) => l.label === 'LOW') && risk.labels.some((l) => l.label === 'unknown')).toBe(
      true,
    );
    const labeled = new Set(risk.labels.map((l) => l.key));
    expect(risk.preds.filter((p) => !labeled.has(p.key)).length).toBeGreaterThan(100);
    expect(risk.preds.some((p) => p.age > 14 * 86_400) && risk.preds.some((p) => p.age < 0)).toBe(true);
    // Every reason a value can be undefined appears in the oracle.
    const all = multiclassData.map((m) => expected(m).skipped);
    for (const reason of ['no_labels', 'undefined', 'one_class'])
      expect(
        all.some((s) => (s[reason] ?? 0) > 0),
        reason,
      ).toBe(true);
    expect(oracle.models.risk_tier?.series.some((s) => s.unknown > 0)).toBe(true);
  });

  it('the performance checks succeed', () => {
    for (const m of multiclassData) {
      expect(
        series(scraped, 'mlwatch_check_success', { check: `model:${m.name}:performance` })[0]?.value,
        m.name,
      ).toBe(1);
    }
  });

  for (const m of multiclassData) {
    it(`${m.name}: exported series equal scikit-learn's values (1e-9 relative)`, () => {
      const want = expected(m).values;
      const got = new Map<string, number>();
      for (const name of PERFORMANCE) {
        for (const s of series(scraped, name, { model: m.name })) got.set(key(s.name, s.labels), s.value);
      }
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [k, v] of want) {
        const g = got.get(k) as number;
        expect(Number.isFinite(g), k).toBe(true);
        expect(Math.abs(g - v), `${k}: got ${g}, want ${v}`).toBeLessThanOrEqual(
          1e-9 * Math.max(1, Math.abs(v)),
        );
      }
    });

    it(`${m.name}: undefined metrics are counted as skipped, by reason`, () => {
      const got: Record<string, number> = {};
      for (const s of series(scraped, 'mlwatch_check_skipped_samples', {
        check: `model:${m.name}:performance`,
      }))
        got[s.labels.reason as string] = s.value;
      expect(got).toEqual(expected(m).skipped);
    });
  }

  it('series carry their catalog labels, with HELP and TYPE, and no NaN', () => {
    for (const name of PERFORMANCE) {
      const family = catalogEntries.find((e) => e.name === name);
      expect(family, name).toBeDefined();
      expect(scraped.type.get(name), name).toBe('gauge');
      expect(scraped.help.get(name), name).toBe(family?.help);
      const found = series(scraped, name);
      expect(found.length, name).toBeGreaterThan(0);
      for (const s of found) {
        expect(
          Object.keys(s.labels).every((l) => family?.labels.includes(l)),
          JSON.stringify(s.labels),
        ).toBe(true);
        expect(Number.isNaN(s.value)).toBe(false);
      }
    }
  });

  it('a multiclass model has its labels check, and none of the binary or regression families', () => {
    for (const m of multiclassData) {
      const widest = m.windows.reduce((a, w) => (w.seconds > a.seconds ? w : a));
      const latest = new Set(m.labels.map((l) => l.key));
      const inWidest = m.preds.filter((p) => p.age > 0 && p.age <= widest.seconds);
      const labeled = series(scraped, 'mlwatch_model_labeled_predictions', {
        model: m.name,
        window: widest.label,
      });
      // Labeled predictions count every label, one of the classes or not, with or without probabilities.
      expect(
        labeled.reduce((a, s) => a + s.value, 0),
        m.name,
      ).toBe(inWidest.filter((p) => latest.has(p.key)).length);
      for (const name of [
        'mlwatch_model_auc',
        'mlwatch_model_accuracy',
        'mlwatch_model_mae',
        'mlwatch_model_log_loss',
      ])
        expect(series(scraped, name, { model: m.name }), name).toHaveLength(0);
    }
    expect(
      series(scraped, 'mlwatch_check_success').filter((s) =>
        /:(reference_performance|prediction_drift|segments)$/.test(s.labels.check ?? ''),
      ),
    ).toHaveLength(0);
  });

  it('every window, version and class comes from one statement', async () => {
    const config = loadConfigText(
      `warehouse:\n  url: ${db.configUrl}\nmodels:\n${modelYaml(db.schema, multiclassData[0] as MulticlassModelData)}`,
      'm.yaml',
      {},
      '/',
    );
    const check = config.checks.find((c) => c.id === 'model:risk_tier:performance');
    let statements = 0;
    const result = await db.warehouse.readOnly({ timeoutMs: 30_000 }, (q) =>
      (check as NonNullable<typeof check>).run({
        query: (sql, params) => {
          statements++;
          return q.query(sql, params);
        },
      } satisfies Queryable),
    );
    expect(statements).toBe(1);
    expect(result.samples.length).toBeGreaterThan(100);
  });
});

describe('multiclass config errors name the file, line and fix', () => {
  const model = (lines: string[]) =>
    [
      'warehouse:',
      '  url: postgresql://x/db',
      'models:',
      '  - name: risk_tier',
      '    task: multiclass_classification',
      '    owner: data-science',
      '    labels: { table: ml.tier_labels, key: application_id, timestamp: observed_at, label: tier }',
      ...lines,
    ].join('\n');
  const predictions = (extra: string) =>
    `    predictions: { table: ml.tier_predictions, key: application_id, timestamp: predicted_at${extra} }`;
  const error = (text: string) => {
    try {
      loadConfigText(text, 'm.yaml', {}, '/');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error('the config was accepted');
  };
  const many = Array.from({ length: 51 }, (_, i) => `c${i}: p${i}`).join(', ');

  it.each([
    [
      'one class',
      [predictions(', scores: { low: p_low }')],
      "m.yaml:8 models[0].predictions.scores: a multiclass model needs at least 2 classes in scores, got 1 (low); a single probability is binary_classification's score",
    ],
    [
      'more than 50 classes',
      [predictions(`, scores: { ${many} }`)],
      'm.yaml:8 models[0].predictions.scores: at most 50 classes (each is a value of the class label of the per-class series), got 51',
    ],
    [
      'score and scores mixed',
      [predictions(', score: p_high, scores: { low: p_low, high: p_high }')],
      'm.yaml:8 models[0].predictions: a multiclass_classification model names one probability column per class as scores: { <class>: <column>, ... }, not score',
    ],
    [
      'no scores',
      [predictions('')],
      'm.yaml:8 models[0].predictions: a multiclass_classification model names one probability column per class as scores: { <class>: <column>, ... }',
    ],
    [
      'a misspelt scores key',
      [predictions(', scoress: { low: p_low, high: p_high }')],
      "m.yaml:8 models[0].predictions.scoress: unknown key; did you mean 'scores'?\n" +
        'm.yaml:8 models[0].predictions: a multiclass_classification model names one probability column per class as scores: { <class>: <column>, ... }',
    ],
    [
      'scores as a list',
      [predictions(', scores: [p_low, p_high]')],
      'm.yaml:8 models[0].predictions.scores: expected a mapping of each class name to its probability column, e.g. { low: p_low, high: p_high }',
    ],
    [
      'a class without a column name',
      [
        '    predictions:',
        '      table: ml.p',
        '      key: k',
        '      timestamp: t',
        '      scores:',
        '        low: p_low',
        '        high: 1',
      ],
      'm.yaml:14 models[0].predictions.scores.high: expected the probability column name',
    ],
    [
      'two classes reading one column',
      [
        '    predictions:',
        '      table: ml.p',
        '      key: k',
        '      timestamp: t',
        '      scores:',
        '        low: p_low',
        '        high: p_low',
      ],
      "m.yaml:14 models[0].predictions.scores.high: column 'p_low' is already the probability of class 'low'; each class needs its own column",
    ],
    [
      'a threshold',
      [predictions(', scores: { low: p_low, high: p_high }'), '    threshold: 0.4'],
      'm.yaml:9 models[0].threshold: a multiclass_classification model predicts the class of highest probability; remove threshold (it is for binary_classification)',
    ],
    [
      'segments',
      [predictions(', scores: { low: p_low, high: p_high }'), '    segments: [channel]'],
      'm.yaml:9 models[0].segments: segments are not supported for multiclass_classification models yet; remove segments',
    ],
    [
      'a reference',
      [predictions(', scores: { low: p_low, high: p_high }'), '    reference: { window: 14d }'],
      'm.yaml:9 models[0].reference: prediction drift (reference) is not supported for multiclass_classification models yet; remove reference',
    ],
  ])('%s', (_name, lines, message) => {
    expect(error(model(lines))).toBe(message);
  });

  it('a binary model with scores, and a misspelt task, are told what to write', () => {
    const text = model([predictions(', scores: { low: p_low, high: p_high }')]);
    expect(error(text.replace('multiclass_classification', 'binary_classification'))).toBe(
      'm.yaml:8 models[0].predictions: a binary_classification model names its score column (P(positive)) as score, not scores',
    );
    expect(error(text.replace('multiclass_classification', 'multiclass'))).toBe(
      "m.yaml:5 models[0].task: expected 'binary_classification', 'regression' or 'multiclass_classification'",
    );
  });

  it('accepts the documented example, classes in config order', () => {
    const c = loadConfigText(
      model([
        predictions(', version: model_version, scores: { low: p_low, medium: p_medium, high: p_high }'),
        '    windows: [1d, 14d]',
      ]),
      'm.yaml',
      {},
      '/',
    );
    expect(c.checks.map((x) => x.id)).toEqual(['model:risk_tier:labels', 'model:risk_tier:performance']);
  });
});
