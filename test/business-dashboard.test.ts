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
    expect(json).toContain('0.9 * mlwatch_kpi_baseline{window=\\"1d\\"');
    expect(json).toContain('0.7 * mlwatch_kpi_baseline{window=\\"1h\\"');
    expect(json).toContain(
      'mlwatch_kpi_volume{window=\\"1d\\",kpi=~\\"$kpi\\",instance=~\\"$instance\\",window=~\\"$window\\"} >= bool 500',
    );
    expect(json).toContain('more than 10 % below its baseline');
  });

  it('moves the line, the colours and the guard when a rule changes', () => {
    const json = build(
      RULES.replace('ratio{window="1d"} < 0.9', 'ratio{window="1d"} < 0.85').replaceAll('>= 500', '>= 800'),
    );
    expect(json).toContain('0.85 * mlwatch_kpi_baseline{window=\\"1d\\"');
    expect(json).not.toContain('0.9 * mlwatch_kpi_baseline');
    expect(json).toContain('>= bool 800');
    expect(json).toContain('"value": 0.85');
    expect(json).toContain('more than 15 % below its baseline');
  });

  it('refuses guards that disagree, and an alert without its guard', () => {
    expect(() => build(RULES.replace('{period="baseline"} >= 500', '{period="baseline"} >= 300'))).toThrow(
      /alert MlwatchKpiBelowBaseline: expected `and mlwatch_kpi_volume/,
    );
    expect(() =>
      build(
        RULES.replace(
          /\n {10}and on \(job, instance, kpi, window\) mlwatch_kpi_volume\{period="(current|baseline)"\} >= 200/g,
          '',
        ),
      ),
    ).toThrow(/alert MlwatchKpiSuddenDrop: expected `and mlwatch_kpi_volume/);
  });
});
