import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { exporterDashboard } from '../grafana/src/exporter.js';
import { dashboardJson } from '../grafana/src/index.js';
import { parseRules, RULES_DIR, readRules } from '../grafana/src/rules.js';
import { concreteQuery, type DashboardJson, panelsOf } from '../tools/dashboard-lint.js';
import { toolOnPath } from './helpers/tools.js';

// The exporter dashboard's table of incremental checks, evaluated by promtool on known stamps next to the two
// mismatch alerts of the bundle's rules: a row reads "disagreed" exactly while its alert fires.

const promtool = toolOnPath('promtool');
const TITLE = 'Incremental checks: kept counts against the full recomputation';

function columns(rules = readRules()): Record<string, string> {
  const d = JSON.parse(dashboardJson(exporterDashboard(rules))) as DashboardJson;
  const panel = panelsOf(d).find((p) => p.title === TITLE);
  if (panel === undefined) throw new Error(`no panel "${TITLE}" on the exporter dashboard`);
  const names = ['status', 'recomputed', 'agreed', 'kept'];
  return Object.fromEntries((panel.targets ?? []).map((t, i) => [names[i], concreteQuery(t.expr ?? '')]));
}

// Eight scrapes a minute apart; the stamps are seconds since the epoch, evaluated at 5m (300 s).
const series = (name: string, labels: string, value: number) => ({
  series: `${name}{job="mlwatch",${labels}}`,
  values: `${value}x8`,
});
const DS = 'mlwatch_dataset_%_timestamp_seconds';
const MODEL = 'mlwatch_model_%_timestamp_seconds';
const input = [
  // Agreed, served by two replicas: one row, not two.
  ...['a', 'b'].flatMap((instance) => [
    series(DS.replace('%', 'recomputed'), `instance="${instance}",dataset="d",check="dataset:d:scan"`, 100),
    series(DS.replace('%', 'reconciled'), `instance="${instance}",dataset="d",check="dataset:d:scan"`, 100),
  ]),
  // Replicas apart for a scrape: one holds the runner's newer, disagreeing count, the other the last agreement.
  series(DS.replace('%', 'recomputed'), 'instance="a",dataset="d",check="dataset:d:nulls"', 300),
  series(DS.replace('%', 'reconciled'), 'instance="a",dataset="d",check="dataset:d:nulls"', 120),
  series(DS.replace('%', 'recomputed'), 'instance="b",dataset="d",check="dataset:d:nulls"', 120),
  series(DS.replace('%', 'reconciled'), 'instance="b",dataset="d",check="dataset:d:nulls"', 120),
  // The last full count disagreed: the agreement before it stays.
  series(DS.replace('%', 'recomputed'), 'instance="a",dataset="d",check="dataset:d:drift"', 250),
  series(DS.replace('%', 'reconciled'), 'instance="a",dataset="d",check="dataset:d:drift"', 40),
  // Never agreed: no reconciled stamp at all.
  series(MODEL.replace('%', 'recomputed'), 'instance="a",model="m",check="model:m:performance"', 200),
  series(MODEL.replace('%', 'recomputed'), 'instance="a",model="m",check="model:m:labels"', 150),
  series(MODEL.replace('%', 'reconciled'), 'instance="a",model="m",check="model:m:labels"', 150),
  // Buckets kept: 24 on both replicas; 336 on one and none on the other (it just dropped them); none at all
  // (a segments check over its cap).
  ...['a', 'b'].map((instance) =>
    series('mlwatch_dataset_kept_buckets', `instance="${instance}",dataset="d",check="dataset:d:scan"`, 24),
  ),
  series('mlwatch_model_kept_buckets', 'instance="a",model="m",check="model:m:labels"', 336),
  series('mlwatch_model_kept_buckets', 'instance="b",model="m",check="model:m:labels"', 0),
  series('mlwatch_model_kept_buckets', 'instance="a",model="m",check="model:m:segments"', 0),
];
const row = (check: string, value: number) => {
  const [kind, name] = check.split(':') as [string, string];
  return {
    labels: `{check="${check}",${kind === 'dataset' ? 'dataset' : 'model'}="${name}",job="mlwatch"}`,
    value,
  };
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!promtool)('the incremental checks table on the exporter dashboard', () => {
  it("is red on exactly the rows whose mismatch alert fires, with each stamp's age", () => {
    const c = columns();
    const at = '5m';
    const expr = (e: string, samples: { labels: string; value: number }[]) => ({
      expr: e,
      eval_time: at,
      exp_samples: samples,
    });
    const tests = {
      rule_files: [join(RULES_DIR, 'data.rules.yml'), join(RULES_DIR, 'model.rules.yml')],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: input,
          promql_expr_test: [
            expr(`sort_desc(${c.status})`, [
              row('dataset:d:scan', 1),
              row('model:m:labels', 1),
              row('dataset:d:drift', 0),
              // Red while one replica's alert fires, though the other still serves the agreement.
              row('dataset:d:nulls', 0),
              row('model:m:performance', 0),
            ]),
            expr(`sort_desc(${c.recomputed})`, [
              row('dataset:d:scan', 200),
              // The older of the replicas' ages, as every check value merges (grafana/src/common.ts).
              row('dataset:d:nulls', 180),
              row('model:m:labels', 150),
              row('model:m:performance', 100),
              row('dataset:d:drift', 50),
            ]),
            // "never" is NaN, which equals nothing: the rows that are NaN, then the others' ages.
            expr(`group by (check) ((${c.agreed}) != (${c.agreed}))`, [
              { labels: '{check="model:m:performance"}', value: 1 },
            ]),
            expr(`sort_desc(${c.agreed} == ${c.agreed})`, [
              row('dataset:d:drift', 260),
              row('dataset:d:scan', 200),
              row('dataset:d:nulls', 180),
              row('model:m:labels', 150),
            ]),
            expr(c.kept as string, [
              row('dataset:d:scan', 24),
              row('model:m:labels', 0),
              row('model:m:segments', 0),
            ]),
            // The alerts themselves (no `for`: firing from the first evaluation), on the same stamps.
            expr(
              'group by (alertname, check) (ALERTS{alertname=~".+IncrementalMismatch",alertstate="firing"})',
              [
                {
                  labels: '{alertname="MlwatchDatasetIncrementalMismatch",check="dataset:d:drift"}',
                  value: 1,
                },
                {
                  labels: '{alertname="MlwatchDatasetIncrementalMismatch",check="dataset:d:nulls"}',
                  value: 1,
                },
                {
                  labels: '{alertname="MlwatchModelIncrementalMismatch",check="model:m:performance"}',
                  value: 1,
                },
              ],
            ),
          ],
        },
      ],
    };
    const dir = mkdtempSync(join(tmpdir(), 'mlwatch-incremental-dashboard-'));
    dirs.push(dir);
    const file = join(dir, 'incremental.test.yml');
    writeFileSync(file, stringify(tests));
    const r = spawnSync(promtool as string, ['test', 'rules', file], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('refuses to build when an alert stops comparing the two stamps', () => {
    const rules = readRules();
    const edited = parseRules(
      [
        stringify({
          groups: [
            {
              name: 'x',
              rules: rules.rules.map((r) =>
                r.alert === 'MlwatchModelIncrementalMismatch'
                  ? { ...r, expr: 'mlwatch_model_recomputed_timestamp_seconds > time()' }
                  : r,
              ),
            },
          ],
        }),
      ],
      'edited',
    );
    expect(() => columns(edited)).toThrow(
      /MlwatchModelIncrementalMismatch no longer compares mlwatch_model_recomputed_timestamp_seconds with mlwatch_model_reconciled_timestamp_seconds/,
    );
  });

  it('is where both alerts send the reader, with their runbooks', () => {
    for (const name of ['MlwatchDatasetIncrementalMismatch', 'MlwatchModelIncrementalMismatch']) {
      const rule = readRules().rules.find((r) => r.alert === name);
      expect(rule?.annotations?.dashboard, name).toMatch(/\/d\/mlwatch-exporter$/);
    }
    const d = JSON.parse(dashboardJson(exporterDashboard(readRules()))) as DashboardJson;
    const links = (panelsOf(d).find((p) => p.title === TITLE)?.links ?? []).map((l) => l.url);
    expect(links).toEqual([
      expect.stringMatching(/runbooks\/MlwatchDatasetIncrementalMismatch\.md$/),
      expect.stringMatching(/runbooks\/MlwatchModelIncrementalMismatch\.md$/),
    ]);
  });
});
