import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, NO_PROMETHEUS, periodEnding } from '../src/actions/report/build.js';
import { parseSamples } from '../src/actions/report/now/exposition.js';
import { metricsNow } from '../src/actions/report/now/sections.js';
import type { NowSource, NowValues } from '../src/actions/report/now/values.js';
import { warehouseNow } from '../src/actions/report/now/warehouse.js';
import { prometheusClient } from '../src/actions/report/prometheus.js';
import { NEEDS_SOURCE, report } from '../src/commands/report.js';
import { type LoadedConfig, loadConfigText } from '../src/config/load.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { closedPort } from './helpers/fake-prometheus.js';
import { classifierYaml } from './helpers/model-config.js';
import { H, insertAged, type SeededClassifier, seedClassifier } from './helpers/model-tables.js';

// `mlwatch report` without Prometheus (docs/report.md, "Without Prometheus"): the config's checks run once on a
// seeded warehouse, and the review's values are compared with the ones this file computes from the rows it
// seeded. Every section that is not Prometheus's says so, with the reason.
const DAY_MS = 86_400_000;
const log = pino({ level: 'silent' });
const row = (...cells: string[]) => `| ${cells.join(' | ')} |`;
const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

// churn: [age in hours, score, label (undefined: none yet)]. The last two are older than the 7d window: counted,
// they would lower the AUC (a positive scored 0.1, a negative 0.95).
const predictions: [number, number, boolean | undefined][] = [
  [2, 0.9, true],
  [5, 0.8, false],
  [10, 0.7, true],
  [30, 0.7, false],
  [50, 0.6, true],
  [70, 0.4, false],
  [90, 0.35, true],
  [100, 0.2, false],
  [120, 0.55, undefined],
  [140, 0.3, undefined],
  [8 * 24, 0.1, true],
  [8 * 24 + 1, 0.95, false],
];
const churn: SeededClassifier = {
  name: 'churn',
  threshold: 0.5,
  versioned: false,
  preds: predictions.map(([age, score], i) => ({ key: `c${i}`, age: age * H, score, version: null })),
  labels: predictions.flatMap(([age, , label], i) =>
    label === undefined ? [] : [{ key: `c${i}`, age: age * H - 1800, label }],
  ),
};

/** ROC AUC by counting pairs, ties half: scikit-learn's roc_auc_score, written out. */
function aucOf(rows: { score: number; label: boolean }[]): number {
  const pos = rows.filter((r) => r.label);
  const neg = rows.filter((r) => !r.label);
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p.score > n.score ? 1 : p.score === n.score ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}
const inWeek = predictions.filter(([age]) => age < 7 * 24);
const labeled = inWeek.flatMap(([, score, label]) => (label === undefined ? [] : [{ score, label }]));
const AUC = aucOf(labeled);
const COVERAGE = labeled.length / inWeek.length;

// apps: [age in minutes, income, age, approved]. The nulls window is 1d; the older rows are all NULL.
const apps: [number, number | null, number | null, boolean][] = [
  [10, 1000, 30, true],
  [60, null, 41, true],
  [120, 2500, null, false],
  [180, null, 25, true],
  [300, 4000, 52, true],
  [480, 1200, 33, false],
  [720, null, 47, true],
  [1200, 3100, 29, false],
  [2 * 1440, null, null, false],
  [3 * 1440, null, null, false],
  [6 * 1440, null, null, false],
];
const lastDay = apps.filter(([min]) => min < 1440);
const share = (f: (r: (typeof apps)[number]) => boolean) => lastDay.filter(f).length / lastDay.length;

// etl's runs: [started hours ago, status, finished]. 'other' shares the table; the 8-day-old failure is outside 7d.
const runs: [string, number, string, boolean][] = [
  ['etl', 1, 'running', false],
  ['etl', 2, 'success', true],
  ['etl', 10, 'success', true],
  ['etl', 20, 'failed', true],
  ['etl', 30, 'success', true],
  ['etl', 50, 'success', true],
  ['etl', 60, 'failed', true],
  ['etl', 100, 'success', true],
  ['etl', 8 * 24, 'failed', true],
  ['other', 3, 'failed', true],
];
const etlWeek = runs.filter(([job, h, , done]) => job === 'etl' && h < 7 * 24 && done);
const succeeded = etlWeek.filter(([, , s]) => s === 'success').length;
const failed = etlWeek.length - succeeded;

let db: TestDb;
let config: LoadedConfig;

beforeAll(async () => {
  db = await openTestDb();
  const s = db.schema;
  await seedClassifier(db, churn);
  await db.writer.exec(
    `CREATE TABLE ${s}.apps (ingested_at timestamptz, income numeric, age integer, approved boolean);
     CREATE TABLE ${s}.runs (job text, started_at timestamptz, status text, finished_at timestamptz)`,
  );
  await insertAged(
    db,
    `${s}.apps`,
    apps.map(([min, ...rest]) => [min * 60, ...rest]),
    { ageColumn: 0 },
  );
  await insertAged(
    db,
    `${s}.runs`,
    runs.map(([job, h, status]) => [job, h * H, status]),
    { columns: 'job, started_at, status' },
  );
  await db.writer.exec(
    `UPDATE ${s}.runs SET finished_at = started_at + interval '10 minutes' WHERE status <> 'running'`,
  );
  config = loadConfigText(
    `warehouse: { url: '${db.configUrl}', statement_timeout: 20s }
defaults: { interval: 1h }
models:
${classifierYaml(s, [churn])}datasets:
  - name: apps
    table: ${s}.apps
    timestamp: ingested_at
    checks: { freshness: {}, nulls: { columns: [income, age], window: 1d } }
jobs:
  - { name: etl, table: ${s}.runs, job_column: job, status_column: status, started_column: started_at,
      finished_column: finished_at, windows: [1d, 7d] }
kpis:
  - { name: approval, ratio: { table: ${s}.apps, timestamp: ingested_at, numerator: approved }, windows: [1d] }
`,
    'test.yaml',
    {},
    '/',
  );
});
afterAll(async () => {
  await db?.close();
});

const fromWarehouse = () => warehouseNow(config, { log, openWarehouse: () => db.newWarehouse() });
const week = () => periodEnding(new Date(), 7 * DAY_MS, '7d');

describe('the review without Prometheus', () => {
  it('shows the values now from the warehouse, each section saying what needs Prometheus and why', async () => {
    const r = await buildReport({ period: week(), now: fromWarehouse() });
    const md = r.markdown;
    const now = (needs: string) =>
      `_Now, from the warehouse. ${needs} Prometheus's history: ${NO_PROMETHEUS}._`;

    expect(md).toContain(
      `## Model performance\n\n${now('Before, Change and Trend need')}\n\n| Model | Version | Metric | Now |\n| --- | --- | --- | --- |\n${row('churn', '—', 'AUC', AUC.toFixed(3))}\n`,
    );
    expect(md).toContain(
      `## Label coverage\n\n${now('Before and Change need')}\n\n| Model | Version | Now |\n| --- | --- | --- |\n${row('churn', '—', pct(COVERAGE))}\n`,
    );
    expect(md).toContain(
      `## Drifted features\n\n${now('A feature that drifted earlier in the period, and its highest PSI, need')}`,
    );
    expect(md).toContain('_No feature is drifted now._');
    const these = now('How these moved over the period needs');
    expect(md).toContain(
      [
        '## Data quality now',
        '',
        these,
        '',
        '| Dataset | Measure | Column | Window | Now |',
        '| --- | --- | --- | --- | --- |',
        row('apps', 'newest row age', '—', '—', '10 min'),
        row('apps', 'null ratio', 'age', '1d', pct(share(([, , age]) => age === null))),
        row('apps', 'null ratio', 'income', '1d', pct(share(([, income]) => income === null))),
      ].join('\n'),
    );
    expect(md).toContain(
      `## Jobs now\n\n${these}\n\n| Job | Window | Succeeded | Failed | Success ratio |\n| --- | --- | --- | --- | --- |\n${row('etl', '7d', String(succeeded), String(failed), pct(succeeded / (succeeded + failed)))}\n`,
    );
    expect(md).toContain(row('approval', '1d', share(([, , , approved]) => approved).toFixed(3), '—'));
    // The oracle itself, counted by hand: positives 0.9, 0.7, 0.6, 0.35 against negatives 0.8, 0.7, 0.4, 0.2
    // win 4 + 2.5 + 2 + 1 of 16 pairs; 8 of the 10 predictions in the week are labeled.
    expect([AUC, COVERAGE, succeeded, failed]).toEqual([9.5 / 16, 0.8, 5, 2]);
    expect(md).toMatch(
      /\*\*Without Prometheus\*\*: no Prometheus configured .*from the warehouse \(the config's \d+ checks, run once at /,
    );
    expect(r.warnings[0]).toMatch(
      /^no Prometheus configured .*: the model and data sections show the values now, from the warehouse/,
    );
  });

  it('says why when Prometheus cannot be reached, and when the warehouse cannot be read either', async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const r = await buildReport({
      period: week(),
      prometheus: prometheusClient(down, 2000),
      now: fromWarehouse(),
    });
    const why = `cannot reach Prometheus at ${down} (ECONNREFUSED)`;
    expect(r.markdown).toContain(
      `_Now, from the warehouse. Before, Change and Trend need Prometheus's history: ${why}._`,
    );
    expect(r.markdown).toContain(row('churn', '—', 'AUC', AUC.toFixed(3)));

    // Tables that are not there: every check fails, and the sections say both reasons instead of empty tables.
    const missing = loadConfigText(
      `warehouse: { url: '${db.configUrl}' }\ndefaults: { interval: 1h }\nmodels:\n${classifierYaml(`${db.schema}_none`, [churn])}`,
      'missing.yaml',
      {},
      '/',
    );
    const none = await buildReport({
      period: week(),
      now: warehouseNow(missing, { log, openWarehouse: () => db.newWarehouse() }),
    });
    expect(none.markdown).toMatch(
      new RegExp(
        `## Model performance\\n\\n_Not available: ${NO_PROMETHEUS.replace(/[()]/g, '\\$&')}; the values now cannot be read either: every check failed on the warehouse \\(model:churn.*\\)\\._`,
      ),
    );
    expect(none.markdown).not.toContain('## Data quality now');
  });

  it('reads the values now only for the sections Prometheus did not give, and labels each', async () => {
    // A Prometheus that answers the model queries (no series) and refuses the drift query.
    const prom = createServer((req, res) => {
      const refused = decodeURIComponent(req.url ?? '').includes('max_over_time');
      res
        .writeHead(refused ? 400 : 200, { 'content-type': 'application/json' })
        .end(
          JSON.stringify(
            refused
              ? { status: 'error', errorType: 'bad_data', error: 'out of memory' }
              : { status: 'success', data: { resultType: 'vector', result: [] } },
          ),
        );
    });
    await new Promise<void>((resolve) => prom.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(prom.address() as AddressInfo).port}`;
    let reads = 0;
    const values: NowValues = {
      from: 'the test',
      detail: 'fixed samples',
      samples: [
        {
          name: 'mlwatch_feature_psi',
          labels: { dataset: 'apps', feature: 'income', window: '1d' },
          value: 0.31,
        },
      ],
      failed: [],
    };
    const source: NowSource = {
      read: async () => {
        reads++;
        return values;
      },
    };
    try {
      const r = await buildReport({ period: week(), prometheus: prometheusClient(url, 2000), now: source });
      expect(reads).toBe(1);
      expect(r.markdown).toContain(
        `## Model performance\n\n_From Prometheus at ${url}._\n\n_No mlwatch_model_auc`,
      );
      expect(r.markdown).toContain(
        `## Label coverage\n\n_From Prometheus at ${url}._\n\n_No mlwatch_model_label`,
      );
      expect(r.markdown).toMatch(
        /## Drifted features\n\n_Now, from the test\. A feature that drifted earlier in the period, and its highest PSI, need Prometheus's history: Prometheus at .* refused the query .*: out of memory\._/,
      );
      expect(r.markdown).toContain(row('apps', 'income', '1d', '0.310'));

      // Prometheus gives every section: the values now are not read at all.
      prom.removeAllListeners('request');
      prom.on('request', (_req, res) =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } })),
      );
      const all = await buildReport({ period: week(), prometheus: prometheusClient(url, 2000), now: source });
      expect(reads).toBe(1);
      expect(all.markdown).not.toContain('_Now, from');
      expect(all.markdown).not.toContain('## Data quality now');
    } finally {
      prom.closeAllConnections();
      await new Promise<void>((resolve) => prom.close(() => resolve()));
    }
  });

  it('lists as drifted now only the PSI above the threshold, per window', () => {
    const psi = (feature: string, window: string, value: number) => ({
      name: 'mlwatch_feature_psi',
      labels: { dataset: 'apps', feature, window },
      value,
    });
    const m = metricsNow(
      {
        from: 'x',
        detail: 'y',
        failed: [],
        samples: [
          psi('age', '1d', 0.2),
          psi('age', '7d', 0.2001),
          psi('income', '1d', 0.5),
          psi('zip', '1d', Number.NaN),
        ],
      },
      week(),
      { kind: 'now', from: 'x', why: 'y' },
    );
    expect(m.drift).toEqual({
      rows: [
        { dataset: 'apps', feature: 'age', window: '7d', maxPsi: 0.2001 },
        { dataset: 'apps', feature: 'income', window: '1d', maxPsi: 0.5 },
      ],
      source: { kind: 'now', from: 'x', why: 'y' },
    });
  });
});

describe("a running exporter's /metrics", () => {
  it('is read sample by sample, label escapes and special values included; a broken line is named', () => {
    const text = [
      '# HELP mlwatch_model_auc ROC AUC.',
      '# TYPE mlwatch_model_auc gauge',
      'mlwatch_model_auc{model="a \\"b\\" \\\\ c\\nd",window="7d"} 0.75',
      'mlwatch_check_success{check="x"} 0 1700000000000',
      'mlwatch_feature_psi{ dataset = "d" , feature="f", } NaN',
      'up +Inf',
      '',
    ].join('\n');
    expect(parseSamples(text)).toEqual([
      { name: 'mlwatch_model_auc', labels: { model: 'a "b" \\ c\nd', window: '7d' }, value: 0.75 },
      { name: 'mlwatch_check_success', labels: { check: 'x' }, value: 0 },
      { name: 'mlwatch_feature_psi', labels: { dataset: 'd', feature: 'f' }, value: Number.NaN },
      { name: 'up', labels: {}, value: Number.POSITIVE_INFINITY },
    ]);
    expect(() => parseSamples('mlwatch_model_auc{model="a} 1')).toThrow(
      'not a line of the Prometheus text format: mlwatch_model_auc{model="a} 1',
    );
  });
});

describe('mlwatch report flags', () => {
  it('needs a config or an exporter, and refuses values now for a past --at', async () => {
    expect(await report(undefined, { since: '7d' })).toEqual({
      code: 1,
      out: `mlwatch report: ${NEEDS_SOURCE}`,
      warnings: [],
    });
    expect((await report(undefined, { since: '7d', exporter: 'localhost:10027' })).out).toBe(
      "--exporter: 'localhost:10027' is not an http(s) URL, e.g. http://localhost:10027",
    );
    const gone = `http://127.0.0.1:${await closedPort()}`;
    const down = await report(undefined, { since: '7d', exporter: gone });
    expect(down.out).toContain(
      `## Label coverage\n\n_Not available: ${NO_PROMETHEUS}; the values now cannot be read either: cannot reach the exporter at ${gone} (ECONNREFUSED)._`,
    );
    // No state store to open: the exporter's values would be read, but --at asks for another time.
    const past = '2026-11-23T08:00:00Z';
    const r = await report(undefined, { since: '7d', at: past, exporter: 'http://127.0.0.1:1' });
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      `## Model performance\n\n_Not available: ${NO_PROMETHEUS}; the values now cannot be read either: the checks give the values now, not at ${past}: leave out --at, or give --prometheus for a past period._`,
    );
  });
});
