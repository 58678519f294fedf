import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lintAlertCases, type PromtoolTestFile, readPromtoolTests } from '../tools/rule-cases.js';
import { lintRules, type RuleFile, readRuleFiles, testedAlerts } from '../tools/rules-lint.js';
import { ROOT } from './helpers/cli.js';
import { promtoolTestRules, toolOnPath } from './helpers/tools.js';

const hasPromtool = toolOnPath('promtool') !== undefined;
const rulesDir = `${ROOT}prometheus/rules`;
const testsDir = `${ROOT}prometheus/tests`;

describe('alert and recording rules', () => {
  it('pass the rule linter', () => {
    expect(lintRules(readRuleFiles(rulesDir), { root: ROOT, testedAlerts: testedAlerts(testsDir) })).toEqual(
      [],
    );
  });

  it('the linter catches every broken contract', () => {
    const bad: RuleFile = {
      file: 'bad.yml',
      groups: [
        {
          name: 'g',
          rules: [
            { record: 'not_a_level_name', expr: 'sum(mlwatch_check_success)' },
            {
              // Keeps the target but not where it runs; drops a placement label. `group_left (...)`, `by (model)`
              // and an `on` list with both placement labels are fine.
              record: 'job:mlwatch_check_success:count',
              expr:
                'count by (job, instance) (mlwatch_check_success) * on (cluster, namespace, job) group_left (check) ' +
                'sum without (namespace) (mlwatch_check_success) or on (instance, cluster) count by (model) (mlwatch_model_info)',
            },
            {
              alert: 'checkBroken',
              expr: 'sum(rate(mlwatch_no_such_metric[5m])',
              for: '0m',
              labels: { severity: 'critical', layer: 'infra', team: 'platform', check: '{{ $value }}' },
              annotations: { summary: 'value {{ $value }}', runbook_url: 'http://x' },
            },
          ],
        },
      ],
    };
    const problems = lintRules([bad], { root: ROOT, testedAlerts: new Set() }).map((p) =>
      p.replace(/^bad\.yml: \S+: /, ''),
    );
    expect(problems).toEqual([
      'recording rule names follow level:metric:operations',
      '`by (job, instance)` keeps job or instance but not cluster and namespace',
      '`without (namespace)` drops namespace, which rules keep',
      '`on (instance, cluster)` keeps job or instance but not namespace',
      'expr does not parse (at 36): sum(rate(mlwatch_no_such_metric[5m])',
      'expr reads mlwatch_no_such_metric, which is not in src/metrics/catalog.ts',
      'alert names are CamelCase and start with Mlwatch',
      'label layer="infra" is not one of data, model, system, business',
      'label check is templated; a changing label value makes a new alert each evaluation',
      'a critical alert needs a non-zero for: so one bad scrape does not page',
      'missing annotation description',
      'missing annotation dashboard',
      'summary is static; put values in description',
      'runbook_url should be https://github.com/mlwatch/mlwatch/blob/main/docs/runbooks/checkBroken.md',
      'docs/runbooks/checkBroken.md does not exist',
      'no promtool test in prometheus/tests exercises this alert',
    ]);
  });
});

describe('one alert name per severity', () => {
  it('accepts a name once per severity (fast burn pages, slow burn tickets), not twice at one', () => {
    const rule = (severity: string) => ({
      alert: 'MlwatchJobErrorBudgetBurn',
      expr: 'mlwatch_job_success_ratio < 0.99',
      for: '2m',
      labels: { severity, layer: 'system', team: 'platform' },
      annotations: {
        summary: 's',
        description: 'd',
        runbook_url:
          'https://github.com/mlwatch/mlwatch/blob/main/docs/runbooks/MlwatchJobErrorBudgetBurn.md',
        dashboard: 'http://localhost:3000/d/mlwatch-system',
      },
    });
    const lint = (...severities: string[]) =>
      lintRules([{ file: 'f.yml', groups: [{ name: 'g', rules: severities.map(rule) }] }], {
        root: ROOT,
        testedAlerts: new Set(['MlwatchJobErrorBudgetBurn']),
      });
    expect(lint('critical', 'warning')).toEqual([]);
    expect(lint('warning', 'warning')).toEqual([
      'f.yml: MlwatchJobErrorBudgetBurn: alert name defined twice with the same severity',
    ]);
  });
});

describe('promtool cases per alert and severity (issue 13)', () => {
  it('every alert, at every severity it carries, has a case where it fires and one where it does not', () => {
    expect(lintAlertCases(readRuleFiles(rulesDir), readPromtoolTests(testsDir), ROOT)).toEqual([]);
  });

  it('counts only cases that could catch a wrong threshold, and names the file to add one to', () => {
    const rule = (severity: string, forDuration: string) => ({
      alert: 'MlwatchJobErrorBudgetBurn',
      expr: 'mlwatch_job_success_ratio < 0.99',
      for: forDuration,
      labels: { severity },
    });
    const rules: RuleFile[] = [
      {
        file: `${rulesDir}/system.rules.yml`,
        groups: [{ name: 'g', rules: [rule('critical', '2m'), rule('warning', '1h')] }],
      },
    ];
    const fires = (severity: string) => ({ exp_labels: { severity } });
    const series = [{ series: 'mlwatch_job_success_ratio', values: '1x100' }];
    const testFile = (file: string, extra: Partial<PromtoolTestFile> = {}): PromtoolTestFile => ({
      file: `${testsDir}/${file}`,
      generated: false,
      doc: { rule_files: ['../rules/system.rules.yml'], tests: [] },
      ...extra,
    });
    const lint = (...cases: { eval_time: string; exp_alerts: { exp_labels: Record<string, string> }[] }[]) =>
      lintAlertCases(
        rules,
        [
          testFile('system.test.yml', {
            doc: {
              rule_files: ['../rules/system.rules.yml'],
              tests: [
                {
                  input_series: series,
                  alert_rule_test: cases.map((c) => ({ alertname: 'MlwatchJobErrorBudgetBurn', ...c })),
                },
              ],
            },
          }),
        ],
        ROOT,
      ).map((p) => p.replace(/^prometheus\/rules\/system\.rules\.yml: MlwatchJobErrorBudgetBurn /, ''));

    // Both severities fire somewhere, and at 1h only the warning fires: a not-firing case for the page.
    expect(
      lint(
        { eval_time: '1h', exp_alerts: [fires('warning')] },
        { eval_time: '5m', exp_alerts: [fires('critical')] },
      ),
    ).toEqual([
      'severity=warning: no promtool case asserts it does not fire; add an alert_rule_test for MlwatchJobErrorBudgetBurn whose exp_alerts has no severity=warning alert at an eval_time of at least its for: (1h), on a value just on the good side of its threshold or one that has not lasted its for: yet, to prometheus/tests/system.test.yml',
    ]);
    // `exp_alerts: []` asserts neither fires, but at 59m it is before the warning's `for`: that says nothing.
    expect(
      lint(
        { eval_time: '59m', exp_alerts: [] },
        { eval_time: '1h', exp_alerts: [fires('warning')] },
        { eval_time: '5m', exp_alerts: [fires('critical')] },
      ),
    ).toEqual([
      expect.stringMatching(
        /^severity=warning: no promtool case asserts it does not fire; .* at least its for: \(1h\)/,
      ),
    ]);
    expect(
      lint(
        { eval_time: '1h', exp_alerts: [] },
        { eval_time: '2h', exp_alerts: [fires('warning')] },
        { eval_time: '5m', exp_alerts: [fires('critical')] },
      ),
    ).toEqual([]);
    // Never fired at a severity: that is reported too.
    expect(
      lint({ eval_time: '1h', exp_alerts: [] }, { eval_time: '2h', exp_alerts: [fires('warning')] }),
    ).toEqual([
      'severity=critical: no promtool case fires it; add an alert_rule_test where it fires with severity critical to prometheus/tests/system.test.yml',
    ]);

    // A file that does not load the rule proves nothing (the alert does not exist there); nor does one without
    // input series. With no hand-written file testing the alert, the suggestion follows the rule file's name.
    const elsewhere = lintAlertCases(
      rules,
      [
        testFile('other.test.yml', {
          doc: {
            rule_files: ['../rules/model.rules.yml'],
            tests: [
              {
                input_series: series,
                alert_rule_test: [
                  { eval_time: '2h', alertname: 'MlwatchJobErrorBudgetBurn', exp_alerts: [] },
                ],
              },
            ],
          },
        }),
        testFile('generated.test.yml', {
          generated: true,
          doc: {
            rule_files: ['../rules/system.rules.yml'],
            tests: [
              {
                alert_rule_test: [
                  { eval_time: '2h', alertname: 'MlwatchJobErrorBudgetBurn', exp_alerts: [] },
                ],
              },
            ],
          },
        }),
      ],
      ROOT,
    );
    expect(elsewhere).toHaveLength(4);
    for (const p of elsewhere) expect(p).toMatch(/ to prometheus\/tests\/system\.test\.yml$/);
  });
});

describe.skipIf(!hasPromtool)('promtool (install: scripts/install-stack-deps.sh)', () => {
  const promtool = (...args: string[]) => spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8' });

  it('check config passes', () => {
    const r = promtool('check', 'config', 'prometheus/prometheus.yml');
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('check rules --lint=all --lint-fatal passes', () => {
    const files = readdirSync(rulesDir).map((f) => `prometheus/rules/${f}`);
    const r = promtool('check', 'rules', '--lint=all', '--lint-fatal', ...files);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('every rule unit test passes', async () => {
    const files = readdirSync(testsDir).map((f) => `prometheus/tests/${f}`);
    for (const r of await promtoolTestRules('promtool', files, ROOT)) {
      expect(r.output, r.file).not.toContain('FAILED');
      expect(r.code, `${r.file}: ${r.output}`).toBe(0);
    }
  });
});
