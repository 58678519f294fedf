import { spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type BundleConfig, DEFAULT_BUNDLE_CONFIG } from '../bundle/config.js';
import { writeFiles } from '../bundle/files.js';
import { parseBundleConfig } from '../bundle/load.js';
import { RULES_DIR, RULES_SOURCE_DIR, renderRules, renderRuleText } from '../bundle/rules.js';
import { buildDashboards, dashboardJson } from '../grafana/src/index.js';
import { parseRules } from '../grafana/src/rules.js';
import { bundleProblems } from './helpers/bundle-config.js';
import { ROOT } from './helpers/cli.js';
import { toolOnPath } from './helpers/tools.js';

// The bundle config's thresholds and kept labels (issue 16, docs/bundle.md): a config of one's own moves every
// threshold it names, in the expressions, in the texts that quote them and on the dashboards, and the rules stay
// valid PromQL and Go templates with no kept label, or with one more. The default render is test/bundle.test.ts's.

const promtool = toolOnPath('promtool');
// promtool 3 next to Debian 12's 2.42 when scripts/install-prometheus3.sh has unpacked it (test/prometheus3-bundle
// .test.ts fails under CI without it); its parser and linter are the ones current Prometheus servers run.
const promtool3 = (() => {
  const file = join(ROOT, '.cache', 'prometheus-current', 'sid', 'promtool');
  try {
    accessSync(file, constants.X_OK);
    return file;
  } catch {
    return undefined;
  }
})();
const promtools = [promtool, promtool3].filter((p): p is string => p !== undefined);

const config = (yaml: string): BundleConfig => parseBundleConfig(yaml, 'my-bundle.yaml');

const problems = bundleProblems;

describe('thresholds and keep_labels in the bundle config file', () => {
  it('default to the values the checked-in rules were written with; a key given alone keeps the others', () => {
    expect(DEFAULT_BUNDLE_CONFIG.keep_labels).toEqual(['cluster', 'namespace']);
    expect(DEFAULT_BUNDLE_CONFIG.thresholds).toEqual({
      dataset_freshness_seconds: 900,
      null_ratio: 0.05,
      model_auc: 0.65,
      job_success_ratio: 0.99,
      serving_fast_ratio: 0.99,
      kpi_drop_ratio: 0.1,
    });
    const mine = config('thresholds:\n  model_auc: 0.7\nkeep_labels: []\n');
    expect(mine.thresholds).toEqual({ ...DEFAULT_BUNDLE_CONFIG.thresholds, model_auc: 0.7 });
    expect(mine.keep_labels).toEqual([]);
    expect(config('keep_labels: [cluster, namespace, region]\n').keep_labels).toEqual([
      'cluster',
      'namespace',
      'region',
    ]);
  });

  it('names the file, the line, the key and what to write for a threshold', () => {
    expect(
      problems(
        [
          'job: mlwatch',
          'thresholds:',
          '  model_auc: 1.2',
          '  null_ratio: 5',
          '  dataset_freshness_seconds: 90.5',
          '  job_success_ratio: 0.9',
          '  kpi_drop: 0.1',
          '  serving_fast_ratio: high',
          '',
        ].join('\n'),
      ),
    ).toEqual([
      'my-bundle.yaml:3 thresholds.model_auc: expected an AUC between 0 and 1 (exclusive), such as 0.65 (0.5 is chance)',
      'my-bundle.yaml:4 thresholds.null_ratio: expected a share of NULLs between 0 and 1 (exclusive), such as 0.05 (5 %); if you meant 5 %, write 0.05',
      'my-bundle.yaml:5 thresholds.dataset_freshness_seconds: expected a whole number of seconds above 0, such as 900 (15 minutes)',
      'my-bundle.yaml:6 thresholds.job_success_ratio: must be above 0.9305, such as 0.99: the paging alert fires above 14.4 times the error budget (1 - objective), which a lower objective puts above 100 % of runs, so it could never fire',
      'my-bundle.yaml:7 thresholds.kpi_drop: unknown key; allowed here: dataset_freshness_seconds, null_ratio, model_auc, job_success_ratio, serving_fast_ratio, kpi_drop_ratio',
      'my-bundle.yaml:8 thresholds.serving_fast_ratio: expected the share of requests the objective asks for between 0 and 1 (exclusive), such as 0.99 (99 %)',
    ]);
    expect(problems('thresholds:\n  model_aoc: 0.7\n')).toEqual([
      "my-bundle.yaml:2 thresholds.model_aoc: unknown key; did you mean 'model_auc'?",
    ]);
    expect(problems('thresholds:\n  kpi_drop_ratio: 0\n')).toEqual([
      'my-bundle.yaml:2 thresholds.kpi_drop_ratio: expected a drop as a share of the baseline between 0 and 1 (exclusive), such as 0.1 (10 %)',
    ]);
    expect(problems('thresholds: 0.7\n')).toEqual([
      'my-bundle.yaml:1 thresholds: expected a mapping (key: value), got the number 0.7',
    ]);
  });

  it('accepts only label names for keep_labels that are neither the target nor the exporter’s own', () => {
    expect(
      problems(
        [
          'keep_labels:',
          '  - cluster',
          '  - 9region',
          '  - job',
          '  - model',
          '  - pod',
          '  - __meta_x',
          '  - cluster',
          '',
        ].join('\n'),
      ),
    ).toEqual([
      'my-bundle.yaml:3 keep_labels[1]: "9region" is not a Prometheus label name: write a letter or _, then letters, digits and _ (such as region)',
      'my-bundle.yaml:4 keep_labels[2]: "job" cannot be kept: the rules keep the scrape job already, after the kept labels',
      'my-bundle.yaml:5 keep_labels[3]: "model" cannot be kept: a label of the exporter or of the alerts, which the rules use already',
      'my-bundle.yaml:6 keep_labels[4]: "pod" cannot be kept: it tells an exporter\'s replicas apart, and the rules that merge replicas would stop merging them',
      'my-bundle.yaml:7 keep_labels[5]: "__meta_x" cannot be kept: names starting with __ are reserved for Prometheus',
      'my-bundle.yaml:8 keep_labels[6]: "cluster" is listed twice; list each label once',
    ]);
    for (const label of ['instance', 'dataset', 'version', 'window', 'severity', 'kpi', 'service_name']) {
      expect(problems(`keep_labels: [${label}]\n`)[0], label).toMatch(
        new RegExp(`^my-bundle\\.yaml:1 keep_labels\\[0\\]: "${label}" cannot be kept: `),
      );
    }
    expect(problems('keep_labels: cluster\n')).toEqual([
      'my-bundle.yaml:1 keep_labels: expected a list of label names, such as [cluster, namespace]',
    ]);
  });
});

describe('placeholders of the rule sources', () => {
  const render = (text: string, c: BundleConfig = DEFAULT_BUNDLE_CONFIG) =>
    renderRuleText(text, c, 'prometheus/src/x.yml');

  it('fill in a threshold, and its forms for texts and derived numbers', () => {
    expect(
      render(
        [
          'a: ${thresholds.model_auc}',
          'b: ${thresholds.null_ratio|percent}',
          'c: ${thresholds.dataset_freshness_seconds|duration}',
          'd: ${thresholds.job_success_ratio|complement} ${thresholds.job_success_ratio|complement|percent}',
          'e: ${thresholds.kpi_drop_ratio|half|complement} ${ thresholds.kpi_drop_ratio | half | percent }',
          '',
        ].join('\n'),
      ),
    ).toBe('a: 0.65\nb: 5 %\nc: 15 minutes\nd: 0.01 1 %\ne: 0.95 5 %\n');
    // 1 - 0.995 is 0.0050000000000000044 in floating point: written as people and the dashboards read it.
    const c = config(
      'thresholds: {job_success_ratio: 0.995, dataset_freshness_seconds: 3600, null_ratio: 0.025, kpi_drop_ratio: 0.15}',
    );
    expect(
      render(
        'x: ${thresholds.job_success_ratio|complement} ${thresholds.dataset_freshness_seconds|duration} ${thresholds.null_ratio|percent} ${thresholds.kpi_drop_ratio|half|complement}',
        c,
      ),
    ).toBe('x: 0.005 1 hour 2.5 % 0.925');
    expect(
      render(
        'x: ${thresholds.job_success_ratio|complement}',
        config('thresholds: {job_success_ratio: 0.9999999}'),
      ),
    ).toBe('x: 0.0000001');
    expect(
      render(
        'x: ${thresholds.dataset_freshness_seconds|duration}',
        config('thresholds: {dataset_freshness_seconds: 90}'),
      ),
    ).toBe('x: 90 seconds');
  });

  it('write the kept labels as by-list, printf matchers and printf arguments, and nothing when there are none', () => {
    const source =
      'expr: sum by (${keep_labels|list}job) (x)\n' +
      'text: \'{{ printf "x{${keep_labels|matchers}job=%q}" ${keep_labels|args}$labels.job }}\'\n';
    expect(render(source)).toBe(
      'expr: sum by (cluster, namespace, job) (x)\n' +
        'text: \'{{ printf "x{cluster=%q, namespace=%q, job=%q}" (index $labels "cluster") (index $labels "namespace") $labels.job }}\'\n',
    );
    expect(render(source, config('keep_labels: []'))).toBe(
      'expr: sum by (job) (x)\ntext: \'{{ printf "x{job=%q}" $labels.job }}\'\n',
    );
    expect(render(source, config('keep_labels: [region]'))).toBe(
      'expr: sum by (region, job) (x)\ntext: \'{{ printf "x{region=%q, job=%q}" (index $labels "region") $labels.job }}\'\n',
    );
  });

  it('a placeholder that cannot be filled is an error at its line that says what can', () => {
    expect(() => render('a: 1\nb: ${thresholds.model_acu}\n')).toThrow(
      /^prometheus\/src\/x\.yml:2: unknown placeholder \$\{thresholds\.model_acu\}; the bundle config has .*\$\{thresholds\.model_auc\}/,
    );
    expect(() => render('a: ${thresholds.null_ratio|percentage}\n')).toThrow(
      'prometheus/src/x.yml:1: ${thresholds.null_ratio|percentage}: unknown format |percentage; a number takes |complement, |half, |percent, |duration',
    );
    expect(() => render('a: 1\n\nc: by (${keep_labels}job)\n')).toThrow(
      'prometheus/src/x.yml:3: ${keep_labels}: keep_labels is a list of labels: write ${keep_labels|list}, ${keep_labels|matchers}, ${keep_labels|args}',
    );
    expect(() => render('a: ${keep_labels|percent}\n')).toThrow(
      /keep_labels is a list of labels: write .*, not \|percent$/,
    );
    expect(() => render('a: ${job|percent}\n')).toThrow(
      'prometheus/src/x.yml:1: ${job|percent}: |percent needs a number, and job is text',
    );
    expect(() => render('a: ${thresholds.null_ratio|percent|half}\n')).toThrow(
      /\|half needs a number, and thresholds\.null_ratio with the formats before it is text/,
    );
  });

  it('the rule sources write the thresholds and kept labels by placeholder only', () => {
    const dir = join(ROOT, RULES_SOURCE_DIR);
    for (const f of readdirSync(dir)) {
      const text = readFileSync(join(dir, f), 'utf8');
      const exprs = (parse(text) as { groups: { rules: { expr: string }[] }[] }).groups
        .flatMap((g) => g.rules)
        .map((r) => r.expr);
      for (const expr of exprs) {
        expect(expr, f).not.toMatch(/\b(cluster|namespace)\b/);
        expect(expr, f).not.toMatch(/> 900\b|> 0\.05\b|\b0\.65\b|\* 0\.01\)|< 0\.95?\b/);
      }
      expect(text, f).not.toContain('(index $labels "cluster")');
      expect(text, f).not.toContain('cluster=%q');
    }
  });
});

/** One config's rules in a directory of its own, and its dashboards built from them as `npm run bundle` does. */
function renderInto(dir: string, c: BundleConfig) {
  const rules = renderRules(ROOT, c);
  writeFiles(dir, rules);
  const dashboards = buildDashboards(
    parseRules(
      rules.map((r) => r.text),
      'rendered',
    ),
    c,
  );
  return {
    rulesDir: join(dir, RULES_DIR),
    rule: (file: string) => readFileSync(join(dir, RULES_DIR, file), 'utf8'),
    dashboards: new Map(dashboards.map((d) => [d.file, JSON.parse(dashboardJson(d.dashboard))])),
  };
}

type Rendered = ReturnType<typeof renderInto>;

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rulesOf = (r: Rendered, file: string): AlertRule[] =>
  (parse(r.rule(file)) as { groups: { rules: AlertRule[] }[] }).groups.flatMap((g) => g.rules);

const alerts = (r: Rendered, file: string, name: string) => rulesOf(r, file).filter((x) => x.alert === name);

/** The threshold steps of every panel titled `title` in a dashboard. */
function steps(r: Rendered, dashboard: string, title: string): (number | null)[][] {
  // biome-ignore lint/suspicious/noExplicitAny: dashboard JSON is untyped.
  const panels = (r.dashboards.get(dashboard)?.panels ?? []) as any[];
  const all = panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  return all
    .filter((p) => p.title === title)
    .map((p) =>
      (p.fieldConfig?.defaults?.thresholds?.steps ?? []).map((s: { value: number | null }) => s.value),
    );
}

function checkRules(bin: string, dir: string) {
  const files = readdirSync(dir).map((f) => join(dir, f));
  return spawnSync(bin, ['check', 'rules', '--lint=all', '--lint-fatal', ...files], {
    encoding: 'utf8',
    timeout: 120_000,
  });
}

function testRules(bin: string, dir: string, name: string, unitTest: object) {
  const file = join(dir, `${name}.test.yml`);
  writeFileSync(file, stringify(unitTest, { lineWidth: 0 }));
  return spawnSync(bin, ['test', 'rules', file], { encoding: 'utf8', timeout: 120_000 });
}

const TARGET = { job: 'mlwatch', instance: 'mlwatch:10027' };
const selector = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ')}}`;
const AUC_ALERT_LABELS = {
  alertname: 'MlwatchModelAucLow',
  severity: 'critical',
  layer: 'model',
  team: 'data-science',
  depends_on: 'warehouse',
  action: 'retrain',
};
const links = (alert: string) => ({
  runbook_url: `${DEFAULT_BUNDLE_CONFIG.runbook_base_url}${alert}.md`,
  dashboard: `${DEFAULT_BUNDLE_CONFIG.grafana_url}/d/mlwatch-model-performance`,
});

/** A binary model with `auc` over 14d from `labeled` labeled predictions, on the exporter `target`. */
function binaryModel(
  target: Record<string, string>,
  model: string,
  auc: number,
  stderr: number,
  labeled: number,
) {
  const at = { ...target, model };
  return [
    { series: selector('mlwatch_model_info', { ...at, model_owner: 'data-science' }), values: '1x70' },
    { series: selector('mlwatch_model_auc', { ...at, window: '14d' }), values: `${auc}x70` },
    { series: selector('mlwatch_model_auc_stderr', { ...at, window: '14d' }), values: `${stderr}x70` },
    {
      series: selector('mlwatch_model_labeled_predictions', { ...at, window: '14d' }),
      values: `${labeled}x70`,
    },
  ];
}

const aucAlert = (
  target: Record<string, string>,
  model: string,
  text: { auc: string; stderr: string; labeled: number; threshold: string },
) => ({
  exp_labels: { ...AUC_ALERT_LABELS, ...target, model, window: '14d' },
  exp_annotations: {
    summary: "A classification model's AUC has fallen below its threshold.",
    description: `Model ${model} has an AUC of ${text.auc} ± ${text.stderr} over the last 14d, from ${text.labeled} labeled predictions; below its threshold of ${text.threshold} (the default) for 1 hour. Platform on-call: hand over to data science.`,
    ...links('MlwatchModelAucLow'),
  },
});

/**
 * MlwatchModelAucLow at one hour past the start: `spam` sits at 0.68, between the default 0.65 and the configured
 * 0.7; `ham` at 0.6, below both, shows the rules and the input work whichever config the file was rendered with.
 * The multiclass model `topics` sits at a macro AUC of 0.68 as well.
 */
function aucUnitTest(rulesDir: string, threshold: number) {
  const fires = threshold > 0.68;
  const text = threshold.toFixed(2);
  const multiclass = { ...TARGET, model: 'topics' };
  return {
    rule_files: [join(rulesDir, 'model.rules.yml')],
    evaluation_interval: '1m',
    group_eval_order: ['mlwatch-model.thresholds', 'mlwatch-model.recording', 'mlwatch-model.alerts'],
    tests: [
      {
        interval: '1m',
        input_series: [
          ...binaryModel(TARGET, 'spam', 0.68, 0.01, 6000),
          ...binaryModel(TARGET, 'ham', 0.6, 0.01, 6000),
          {
            series: selector('mlwatch_model_info', { ...multiclass, model_owner: 'data-science' }),
            values: '1x70',
          },
          {
            series: selector('mlwatch_model_multiclass_auc', {
              ...multiclass,
              average: 'macro',
              window: '14d',
            }),
            values: '0.68x70',
          },
          ...['a', 'b'].flatMap((cls, i) => [
            {
              series: selector('mlwatch_model_class_support', { ...multiclass, class: cls, window: '14d' }),
              values: '300x70',
            },
            {
              series: selector('mlwatch_model_class_auc', { ...multiclass, class: cls, window: '14d' }),
              values: `${i === 0 ? 0.62 : 0.74}x70`,
            },
          ]),
        ],
        alert_rule_test: [
          {
            eval_time: '61m',
            alertname: 'MlwatchModelAucLow',
            exp_alerts: [
              aucAlert(TARGET, 'ham', { auc: '0.600', stderr: '0.010', labeled: 6000, threshold: text }),
              ...(fires
                ? [
                    aucAlert(TARGET, 'spam', {
                      auc: '0.680',
                      stderr: '0.010',
                      labeled: 6000,
                      threshold: text,
                    }),
                  ]
                : []),
            ],
          },
          {
            eval_time: '61m',
            alertname: 'MlwatchModelMulticlassAucLow',
            exp_alerts: fires
              ? [
                  {
                    exp_labels: {
                      ...AUC_ALERT_LABELS,
                      alertname: 'MlwatchModelMulticlassAucLow',
                      ...multiclass,
                      average: 'macro',
                      window: '14d',
                    },
                    exp_annotations: {
                      summary: `A multiclass model's macro one-vs-rest AUC has fallen below ${threshold}.`,
                      description: `Model topics has a macro one-vs-rest AUC of 0.680 over the last 14d, from 600 labeled predictions; below ${threshold} for 1 hour. Its weakest class is a (AUC 0.620). Platform on-call: hand over to data science.`,
                      ...links('MlwatchModelMulticlassAucLow'),
                    },
                  },
                ]
              : [],
          },
        ],
      },
    ],
  };
}

describe('a render with thresholds and kept labels of your own', () => {
  const mine = config(
    [
      'keep_labels: []',
      'thresholds:',
      '  dataset_freshness_seconds: 1800',
      '  null_ratio: 0.1',
      '  model_auc: 0.7',
      '  job_success_ratio: 0.995',
      '  serving_fast_ratio: 0.999',
      '  kpi_drop_ratio: 0.2',
      '',
    ].join('\n'),
  );
  const region = config('keep_labels: [cluster, namespace, region]\n');
  let tmp = '';
  let r: Rendered;
  let withRegion: Rendered;
  let defaults: Rendered;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'mlwatch-bundle-thresholds-'));
    r = renderInto(join(tmp, 'mine'), mine);
    withRegion = renderInto(join(tmp, 'region'), region);
    defaults = renderInto(join(tmp, 'defaults'), DEFAULT_BUNDLE_CONFIG);
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('puts each threshold into its expressions', () => {
    const expr = (file: string, name: string) => alerts(r, file, name).map((a) => a.expr);
    expect(expr('data.rules.yml', 'MlwatchDatasetStale')).toEqual([
      'mlwatch_dataset_newest_row_age_seconds > 1800',
    ]);
    expect(expr('data.rules.yml', 'MlwatchDatasetNullRatioHigh')).toEqual([
      'mlwatch_dataset_null_ratio > 0.1',
    ]);
    expect(expr('model.rules.yml', 'MlwatchModelMulticlassAucLow')[0]).toContain(
      'mlwatch_model_multiclass_auc{average="macro", window="14d"} < 0.7\n',
    );
    const auc = rulesOf(r, 'model.rules.yml').find(
      (x) => x.record === 'model:mlwatch_model_auc:effective_threshold',
    );
    expect(auc?.expr).toContain(
      'or on (job, instance, model)\n0.7 * group by (job, instance, model) (mlwatch_model_auc)',
    );
    const jobBurn = expr('system.rules.yml', 'MlwatchJobErrorBudgetBurn').join('\n');
    expect(jobBurn.match(/\(\d+(\.\d+)? \* [\d.]+\)/g)).toEqual([
      ...['(14.4 * 0.005)', '(14.4 * 0.005)', '(6 * 0.005)', '(6 * 0.005)'],
      ...['(3 * 0.005)', '(3 * 0.005)', '(1 * 0.005)', '(1 * 0.005)'],
    ]);
    const slowBurn = expr('system.rules.yml', 'MlwatchServingSlowRequestsBudgetBurn').join('\n');
    expect(slowBurn.match(/\(\d+(\.\d+)? \* [\d.]+\)/g)).toEqual([
      ...['(14.4 * 0.001)', '(14.4 * 0.001)', '(6 * 0.001)', '(6 * 0.001)', '(3 * 0.001)', '(3 * 0.001)'],
    ]);
    expect(expr('business.rules.yml', 'MlwatchKpiSuddenDrop')[0]).toContain(
      'kpi:mlwatch_kpi_value_to_baseline:ratio < 0.9\n',
    );
    expect(expr('business.rules.yml', 'MlwatchKpiBelowBaseline')[0]).toMatch(
      /^kpi:mlwatch_kpi_value_to_baseline:ratio\{window="1d"\} < 0\.8\n/,
    );
  });

  it('says the configured values in the alerts’ texts, and no longer the defaults', () => {
    const text = (file: string, name: string) =>
      alerts(r, file, name)
        .map((a) => `${a.annotations?.summary} ${a.annotations?.description}`)
        .join('\n');
    expect(text('data.rules.yml', 'MlwatchDatasetStale')).toContain(
      "old on the warehouse's clock, more than 30 minutes;",
    );
    expect(text('data.rules.yml', 'MlwatchDatasetNullRatioHigh')).toContain(
      ', more than 10 %, for 10 minutes.',
    );
    const multiclass = text('model.rules.yml', 'MlwatchModelMulticlassAucLow');
    expect(multiclass).toContain('AUC has fallen below 0.7.');
    expect(multiclass).toContain('; below 0.7 for 1 hour');
    const jobBurn = text('system.rules.yml', 'MlwatchJobErrorBudgetBurn');
    expect(jobBurn.split('0.5 % error budget of its 99.5 % success objective').length - 1).toBe(2);
    const slowBurn = text('system.rules.yml', 'MlwatchServingSlowRequestsBudgetBurn');
    expect(slowBurn.split('0.1 % budget of its objective that 99.9 % of requests are fast').length - 1).toBe(
      2,
    );
    expect(text('business.rules.yml', 'MlwatchKpiBelowBaseline')).toContain(
      'A KPI is more than 20 % below its baseline.',
    );
    expect(text('business.rules.yml', 'MlwatchKpiBelowBaseline')).toContain(
      'more than 20 % below for 1 hour.',
    );
    const all = ['data.rules.yml', 'model.rules.yml', 'system.rules.yml', 'business.rules.yml']
      .flatMap((f) => rulesOf(r, f))
      .map((x) => JSON.stringify(x.annotations ?? {}))
      .join('\n');
    for (const stale of [
      'more than 15 minutes',
      'more than 5 %',
      'below 0.65',
      'the 1 % error budget',
      '99 % success',
      'the 1 % budget',
    ]) {
      expect(all).not.toContain(stale);
    }
  });

  it('keeps no label beyond job and instance with keep_labels: [], and one more with region', () => {
    const exprs = (x: Rendered) =>
      readdirSync(x.rulesDir)
        .flatMap((f) => rulesOf(x, f))
        .map((y) => `${y.expr}\n${JSON.stringify(y.annotations ?? {})}`)
        .join('\n');
    const none = exprs(r);
    expect(none).not.toMatch(/\b(cluster|namespace)\b/);
    expect(none).not.toMatch(/\((, |,)|\{, /);
    const more = exprs(withRegion);
    const byLists = more.match(/\b(?:by|on) \(([^)]*)\)/g) ?? [];
    expect(byLists.length).toBeGreaterThan(100);
    // Every list that keeps the target keeps region with it, right after cluster and namespace.
    for (const list of byLists.filter((l) => /\b(job|instance)\b/.test(l))) {
      expect(list).toMatch(/\((cluster, namespace, region, )/);
    }
    expect(more.split('region=%q').length - 1).toBe(more.split('(index $labels \\"region\\")').length - 1);
    expect(more.split('region=%q').length - 1).toBe(exprs(defaults).split('cluster=%q').length - 1);
  });

  it('draws the configured thresholds on the dashboards', () => {
    expect(steps(r, 'data-quality.json', 'Age of the newest row')).toEqual([[null, 1800]]);
    expect(steps(defaults, 'data-quality.json', 'Age of the newest row')).toEqual([[null, 900]]);
    expect(steps(r, 'data-quality.json', 'NULL ratio over time')).toEqual([[null, 0.1]]);
    expect(steps(defaults, 'data-quality.json', 'NULL ratio over time')).toEqual([[null, 0.05]]);
    expect(steps(r, 'model-performance.json', 'AUC by window')).toEqual([[null, 0.7]]);
    expect(steps(r, 'model-performance.json', 'Macro one-vs-rest AUC')).toEqual([[null, 0.7]]);
    expect(steps(r, 'business-kpis.json', 'KPI as a share of its baseline')).toEqual([[null, 0.8, 0.9]]);
    expect(steps(defaults, 'business-kpis.json', 'KPI as a share of its baseline')).toEqual([
      [null, 0.9, 0.95],
    ]);
    expect(steps(r, 'system.json', 'Success ratio by window')).toEqual([[null, 0.995]]);
  });

  it.skipIf(!promtool)('promtool check rules --lint=all --lint-fatal accepts both renders', () => {
    for (const bin of promtools) {
      for (const x of [r, withRegion]) {
        const result = checkRules(bin, x.rulesDir);
        expect(result.stderr, `${bin} ${x.rulesDir}`).toBe('');
        expect(result.status, `${bin} ${x.rulesDir}: ${result.stdout}`).toBe(0);
      }
    }
  });

  it.skipIf(!promtool)('MlwatchModelAucLow fires at the configured AUC and not at the default', () => {
    for (const bin of promtools) {
      const mineRun = testRules(bin, tmp, 'auc-mine', aucUnitTest(r.rulesDir, 0.7));
      expect(mineRun.status, `${bin}: ${mineRun.stdout}${mineRun.stderr}`).toBe(0);
      const defaultRun = testRules(bin, tmp, 'auc-default', aucUnitTest(defaults.rulesDir, 0.65));
      expect(defaultRun.status, `${bin}: ${defaultRun.stdout}${defaultRun.stderr}`).toBe(0);
      // The expectations differ: each render fails the other's, so neither passes by accident.
      const crossed = testRules(bin, tmp, 'auc-crossed', aucUnitTest(defaults.rulesDir, 0.7));
      // 1 and the alert named: an expectation that failed, not a promtool that crashed or timed out (null).
      expect(crossed.status, `${bin}: ${crossed.stdout}`).toBe(1);
      expect(`${crossed.stdout}${crossed.stderr}`).toMatch(/alertname:\s*MlwatchModelAucLow/);
    }
  });

  it.skipIf(!promtool)(
    'with region kept, two regions of one exporter alert apart, each with its own numbers',
    () => {
      const at = (region: string) => ({ cluster: 'c1', namespace: 'ml', region, ...TARGET });
      const unit = (rulesDir: string) => ({
        rule_files: [join(rulesDir, 'model.rules.yml')],
        evaluation_interval: '1m',
        group_eval_order: ['mlwatch-model.thresholds', 'mlwatch-model.recording', 'mlwatch-model.alerts'],
        tests: [
          {
            interval: '1m',
            input_series: [
              ...binaryModel(at('eu'), 'spam', 0.6, 0.01, 6000),
              ...binaryModel(at('us'), 'spam', 0.6, 0.02, 3000),
            ],
            alert_rule_test: [
              {
                eval_time: '61m',
                alertname: 'MlwatchModelAucLow',
                exp_alerts: [
                  aucAlert(at('eu'), 'spam', {
                    auc: '0.600',
                    stderr: '0.010',
                    labeled: 6000,
                    threshold: '0.65',
                  }),
                  aucAlert(at('us'), 'spam', {
                    auc: '0.600',
                    stderr: '0.020',
                    labeled: 3000,
                    threshold: '0.65',
                  }),
                ],
              },
            ],
          },
        ],
      });
      for (const bin of promtools) {
        const run = testRules(bin, tmp, 'region', unit(withRegion.rulesDir));
        expect(run.status, `${bin}: ${run.stdout}${run.stderr}`).toBe(0);
        // The defaults do not keep region: the descriptions' queries find both regions' series and quote one.
        const without = testRules(bin, tmp, 'region-defaults', unit(defaults.rulesDir));
        expect(without.status, `${bin}: ${without.stdout}`).toBe(1);
        expect(`${without.stdout}${without.stderr}`).toMatch(/FAILED/);
      }
    },
  );
});
