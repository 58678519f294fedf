import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { businessKpisDashboard } from '../grafana/src/business-kpis.js';
import { dashboardJson } from '../grafana/src/index.js';
import { parseRules } from '../grafana/src/rules.js';

// The business dashboard draws its lines, colours and guards from prometheus/rules/business.rules.yml.
const RULES = readFileSync(new URL('../prometheus/rules/business.rules.yml', import.meta.url), 'utf8');
const build = (text: string) => dashboardJson(businessKpisDashboard(parseRules([text], 'fixture')));

describe('the business KPIs dashboard follows the business rules', () => {
  it('draws the rules as they are', () => {
    const json = build(RULES);
    // The drop alert's line under the baseline, the recorded upper bound and its share of the baseline.
    expect(json).toContain(
      '0.95 * mlwatch_kpi_baseline{kpi=~\\"$kpi\\",instance=~\\"$instance\\",window=~\\"$window\\"}',
    );
    expect(json).toContain(
      'kpi:mlwatch_kpi_value:upper_bound{kpi=~\\"$kpi\\",instance=~\\"$instance\\",window=~\\"$window\\"} / on (job, instance, kpi, window) (mlwatch_kpi_baseline',
    );
    expect(json).toContain('the value plus 5 standard errors');
    expect(json).toContain('more than 5 % below its baseline');
    // The day alert's guard, for KPIs without a standard error.
    expect(json).toContain('MlwatchKpiBelowBaseline: the 1d more than 10 % below, for 1h');
    expect(json).toContain(
      'window=\\"1d\\",kpi=~\\"$kpi\\",instance=~\\"$instance\\",window=~\\"$window\\"} + 500',
    );
    // The share of the baseline: red under the lower line (0.9), orange under the other (0.95).
    expect(json).toMatch(
      /"value": null,\s*"color": "red"\s*},\s*{\s*"value": 0.9,\s*"color": "orange"\s*},\s*{\s*"value": 0.95,\s*"color": "green"/,
    );
  });

  it('moves the lines, the colours and the guard when a rule changes', () => {
    const json = build(
      RULES.replace('ratio < 0.95', 'ratio < 0.97')
        .replace(
          'mlwatch_kpi_value + 5 * mlwatch_kpi_standard_error',
          'mlwatch_kpi_value + 4 * mlwatch_kpi_standard_error',
        )
        .replace('ratio{window="1d"} < 0.9', 'ratio{window="1d"} < 0.85')
        .replaceAll('>= 500', '>= 800'),
    );
    expect(json).toContain('0.97 * mlwatch_kpi_baseline');
    expect(json).not.toContain('0.95 * mlwatch_kpi_baseline');
    expect(json).toContain('the value plus 4 standard errors');
    expect(json).toContain('more than 3 % below its baseline');
    expect(json).toContain('+ 800');
    expect(json).toContain('"value": 0.85');
    expect(json).toContain('the 1d more than 15 % below');
  });

  it('refuses rules it cannot draw: guards that disagree, a bound of another shape, a drop alert without it', () => {
    expect(() => build(RULES.replace('{period="baseline"} >= 500', '{period="baseline"} >= 300'))).toThrow(
      /alert MlwatchKpiBelowBaseline: expected `and mlwatch_kpi_volume/,
    );
    expect(() =>
      build(RULES.replace('mlwatch_kpi_value + 5 * mlwatch_kpi_standard_error', 'mlwatch_kpi_value * 1.1')),
    ).toThrow(/expected the recording rule kpi:mlwatch_kpi_value:upper_bound to be/);
    expect(() =>
      build(
        RULES.replace(
          '(kpi:mlwatch_kpi_value:upper_bound < on (cluster, namespace, job, instance, kpi, window) mlwatch_kpi_baseline)',
          'mlwatch_kpi_standard_error',
        ),
      ),
    ).toThrow(/alert MlwatchKpiSuddenDrop: expected/);
  });
});
