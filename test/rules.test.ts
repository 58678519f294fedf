import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lintRules, type RuleFile, readRuleFiles, testedAlerts } from '../tools/rules-lint.js';
import { ROOT } from './helpers/cli.js';
import { toolOnPath } from './helpers/tools.js';

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

  it('every rule unit test passes', () => {
    const files = readdirSync(testsDir).map((f) => `prometheus/tests/${f}`);
    const r = promtool('test', 'rules', ...files);
    expect(r.stdout + r.stderr).not.toContain('FAILED');
    expect(r.status).toBe(0);
  });
});
