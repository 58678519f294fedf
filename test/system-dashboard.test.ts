import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dashboardJson } from '../grafana/src/index.js';
import { parseRules, readRules } from '../grafana/src/rules.js';
import { burnPairs, SYSTEM_UID, systemDashboard } from '../grafana/src/system.js';
import { type DashboardJson, panelsOf } from '../tools/dashboard-lint.js';

// The system dashboard reads its factors, budgets, guards and lines from prometheus/rules/system.rules.yml.
const systemRules = () =>
  readFileSync(new URL('../prometheus/rules/system.rules.yml', import.meta.url), 'utf8');
const JOB_RATIO = 'job_name:mlwatch_job_errors:ratio';
const JOB_VOLUME = 'job_name:mlwatch_job_runs_finished:sum';

describe('the system dashboard follows the system rules', () => {
  it('reads every window pair of the burn-rate alerts, both severities', () => {
    expect(burnPairs(readRules(), 'MlwatchJobErrorBudgetBurn', JOB_RATIO, JOB_VOLUME)).toEqual([
      { severity: 'critical', long: '1h', short: '5m', factor: 14.4, budget: 0.01, guard: 10 },
      { severity: 'critical', long: '6h', short: '30m', factor: 6, budget: 0.01, guard: 10 },
      { severity: 'warning', long: '1d', short: '2h', factor: 3, budget: 0.01, guard: 10 },
      { severity: 'warning', long: '3d', short: '6h', factor: 1, budget: 0.01, guard: 10 },
    ]);
    expect(
      burnPairs(
        readRules(),
        'MlwatchServingSlowRequestsBudgetBurn',
        'mlwatch_serving_slow_ratio',
        'mlwatch_serving_requests',
      ).map((p) => [p.severity, p.long, p.short, p.factor, p.guard]),
    ).toEqual([
      ['critical', '1h', '5m', 14.4, 100],
      ['critical', '6h', '30m', 6, 100],
      ['warning', '1d', '1h', 3, 100],
    ]);
  });

  it('draws the factors, the budget and the guard it read', () => {
    const edited = parseRules(
      [
        systemRules()
          .replace('(14.4 * 0.01)', '(10 * 0.01)')
          .replaceAll('sum{window="1h"} >= 10', 'sum{window="1h"} >= 25'),
      ],
      'edited',
    );
    const d = JSON.parse(dashboardJson(systemDashboard(edited))) as {
      uid: string;
      panels: {
        title?: string;
        fieldConfig?: { defaults?: { thresholds?: { steps: { value: number | null }[] } } };
      }[];
    };
    expect(d.uid).toBe(SYSTEM_UID);
    const burn = d.panels.find((p) => p.title === 'Error budget burn rate');
    expect(burn?.fieldConfig?.defaults?.thresholds?.steps.map((s) => s.value)).toEqual([null, 1, 3, 6, 10]);
    // The guard shown is the smallest of the pairs'.
    const runs = d.panels.find((p) => p.title === 'Finished runs by window');
    expect(runs?.fieldConfig?.defaults?.thresholds?.steps.map((s) => s.value)).toEqual([null, 10]);
  });

  it('refuses a burn-rate rule it cannot read, naming the alert', () => {
    const broken = parseRules(
      [systemRules().replaceAll(`${JOB_RATIO}{window="5m"} <=`, `${JOB_RATIO}{window="5m"} <`)],
      'broken',
    );
    expect(() => systemDashboard(broken)).toThrow(/alert MlwatchJobErrorBudgetBurn: expected pairs of/);
  });

  it('draws per-subject lines from series: the job cadence and the latency objective', () => {
    const d = JSON.parse(dashboardJson(systemDashboard(readRules()))) as DashboardJson;
    const exprs = panelsOf(d).flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs).toContain('job_name:mlwatch_job_cadence_seconds:effective{job_name=~"$job_name"}');
    expect(exprs).toContain(
      'max without (instance, pod) (mlwatch_serving_latency_objective_seconds{service_name=~"$service_name",instance=~"$instance"})',
    );
  });

  it('picks batch jobs by job_name, never by the scrape job `job`', () => {
    const json = dashboardJson(systemDashboard(readRules()));
    expect(json).toContain('label_values(mlwatch_job_runs{instance=~\\"$instance\\"}, job_name)');
    const d = JSON.parse(json) as DashboardJson;
    const jobExprs = panelsOf(d)
      .flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''))
      .filter((e) => /mlwatch_job_/.test(e));
    expect(jobExprs.length).toBeGreaterThan(5);
    for (const e of jobExprs) {
      expect(e).toContain('job_name=~"$job_name"');
      expect(e).not.toMatch(/[{,(]\s*job\s*[=!~,)]/);
    }
  });

  it('picks services by service_name, never by `service`, the target label a ServiceMonitor adds', () => {
    const json = dashboardJson(systemDashboard(readRules()));
    expect(json).toContain(
      'label_values(mlwatch_serving_latency_objective_seconds{instance=~\\"$instance\\"}, service_name)',
    );
    const d = JSON.parse(json) as DashboardJson;
    const serviceExprs = panelsOf(d)
      .flatMap((p) => (p.targets ?? []) as { expr?: string; legendFormat?: string }[])
      .map((t) => `${t.expr ?? ''} ${t.legendFormat ?? ''}`)
      .filter((e) => /mlwatch_serving_/.test(e));
    expect(serviceExprs.length).toBeGreaterThan(3);
    for (const e of serviceExprs) {
      expect(e).toContain('service_name=~"$service_name"');
      expect(e).not.toMatch(/[{,(]\s*service\s*[=!~,)]|\{\{service\}\}/);
    }
  });
});
