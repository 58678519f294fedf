import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  countAlerts,
  metricsOf,
  PER_INSTANCE_METRIC,
  PROVISIONED_DATASOURCE_UID,
} from '../grafana/src/common.js';
import { buildDashboards, DASHBOARDS_DIR, dashboardJson } from '../grafana/src/index.js';
import { parseRules, readRules, recordingRuleNames } from '../grafana/src/rules.js';
import { scope } from '../grafana/src/scope.js';
import { alertSteps, alertThreshold, parseThreshold } from '../grafana/src/thresholds.js';
import {
  allPanelQueries,
  concreteQuery,
  type DashboardFile,
  type DashboardJson,
  knownMetrics,
  lintDashboards,
  panelsOf,
  readCommittedDashboards,
} from '../tools/dashboard-lint.js';
import { renderSketch } from '../tools/dashboard-sketch.js';
import { inspectPromql } from '../tools/promql.js';

const REGENERATE = 'run `npm run bundle` (scripts/gen-bundle.ts) and commit the result';
const root = (p: string) => new URL(`../${p}`, import.meta.url);

/** The shape of prometheus/rules/system.rules.yml, small and frozen, for the reader's own tests. */
const FIXTURE = `
groups:
  - name: rec
    rules:
      - record: job:mlwatch_checks_failing:count
        expr: count by (job) (mlwatch_check_success == 0)
  - name: alerts
    rules:
      - alert: MlwatchExporterDown
        expr: up{job="mlwatch"} == 0
        for: 2m
      - alert: MlwatchWarehouseUnreachable
        expr: mlwatch_warehouse_up == 0
      - alert: MlwatchCheckFailing
        expr: mlwatch_check_success == 0
        for: 10m
      - alert: MlwatchCheckStale
        expr: time() - mlwatch_check_last_success_timestamp_seconds > 3 * mlwatch_check_interval_seconds
      - alert: MlwatchConfigReloadFailed
        expr: mlwatch_config_last_reload_successful == 0
`;
const fixture = () => parseRules([FIXTURE], 'fixture');

describe('dashboards as code', () => {
  const generated = buildDashboards();

  it(`the committed JSON is what grafana/src generates (else ${REGENERATE})`, () => {
    const committed = readCommittedDashboards().map((f) => f.file);
    expect(committed, REGENERATE).toEqual(generated.map((g) => g.file).sort());
    for (const { file, dashboard } of generated) {
      expect(readFileSync(join(DASHBOARDS_DIR, file), 'utf8'), `${file} is stale: ${REGENERATE}`).toBe(
        dashboardJson(dashboard),
      );
    }
  });

  it(`docs/dashboard-sketch.svg is drawn from the current JSON (else ${REGENERATE})`, () => {
    const svg = renderSketch(generated.map((g) => JSON.parse(dashboardJson(g.dashboard)) as DashboardJson));
    expect(readFileSync(root('docs/dashboard-sketch.svg'), 'utf8'), REGENERATE).toBe(svg);
  });

  it('the committed dashboards pass the linter', () => {
    expect(lintDashboards(readCommittedDashboards())).toEqual([]);
  });

  it('keeps its uids, a datasource and subject variables, the alert annotation and runbook links', () => {
    const byUid = new Map(generated.map((g) => [g.dashboard.uid, g.dashboard]));
    expect([...byUid.keys()].sort()).toEqual([
      'mlwatch-business-kpis',
      'mlwatch-data-quality',
      'mlwatch-exporter',
      'mlwatch-model-performance',
      'mlwatch-overview',
      'mlwatch-system',
    ]);
    for (const d of byUid.values()) {
      const vars = d.templating.list ?? [];
      expect(vars.find((v) => v.name === 'datasource')?.type).toBe('datasource');
      for (const v of vars.filter((x) => x.type === 'query')) {
        expect(v, v.name).toMatchObject({ includeAll: true, allValue: '.*', multi: true });
      }
      expect(vars.map((v) => v.name)).toContain('instance');
      expect(d.annotations.list?.[0]?.expr).toMatch(/^ALERTS\{alertstate="firing"/);
      expect(d.links?.some((l) => l.url?.includes('/docs/runbooks/'))).toBe(true);
    }
    expect(byUid.get('mlwatch-exporter')?.templating.list?.map((v) => v.name)).toContain('check');
    expect(byUid.get('mlwatch-data-quality')?.templating.list?.map((v) => v.name)).toContain('dataset');
    expect(byUid.get('mlwatch-business-kpis')?.templating.list?.map((v) => v.name)).toContain('kpi');
  });

  it('the overview has one row per layer, each with its firing-alert count', () => {
    const overview = generated.find((g) => g.dashboard.uid === 'mlwatch-overview')
      ?.dashboard as DashboardJson;
    const rows = panelsOf(overview).filter((p) => p.type === 'row');
    expect(rows.map((r) => r.title?.split(' ')[0])).toEqual(['Data', 'Model', 'System', 'Business']);
    const exprs = panelsOf(overview).flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    for (const layer of ['data', 'model', 'system', 'business']) {
      // Each alert once, not once per replica of the exporter that raises it.
      expect(exprs).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^count\\(group without \\(instance, pod\\) \\(ALERTS\\{alertstate="firing",layer="${layer}"`,
          ),
        ),
      );
    }
  });

  // The cheap half of test/dashboard-replicas.test.ts (which runs every query against two replicas in real
  // Prometheus, and skips without it): a query of check values that keeps `instance` draws each check once per
  // replica of the exporter.
  it('every query of check values aggregates the replicas away; per-instance series stay per instance', () => {
    const keeps: string[] = [];
    for (const q of allPanelQueries(undefined, { optional: true })) {
      if (metricsOf(q.expr).some((m) => PER_INSTANCE_METRIC.test(m))) continue;
      const { groupings } = inspectPromql(q.expr);
      const dropped = groupings.some(
        (g) =>
          (g.modifier === 'without' && g.labels.includes('instance') && g.labels.includes('pod')) ||
          (g.modifier === 'by' && !g.labels.includes('instance')),
      );
      // A selector without instance (a rule's series per job) has nothing to merge.
      if (!dropped && /\binstance=~/.test(q.expr)) keeps.push(`${q.dashboard} / ${q.panel}: ${q.expr}`);
    }
    expect(keeps).toEqual([]);
    const exporter = allPanelQueries().filter((q) => q.dashboard === 'mlwatch exporter');
    const up = exporter.find((q) => q.panel === 'Exporter up');
    expect(up?.expr).toBe('up{job="mlwatch",instance=~".*"}');
    const runner = exporter.filter((q) => q.panel === 'Which replica runs each check').map((q) => q.expr);
    expect(runner[0]).toBe('mlwatch_check_runner{check=~".*",instance=~".*"}');
  });

  it('counts an alert on a check once, and an alert on a replica or a machine once per instance', () => {
    const rules = parseRules(
      [
        `groups: [{name: g, rules: [
          {alert: CheckFailing, expr: mlwatch_check_success == 0, labels: {layer: system}},
          {alert: Down, expr: 'up{job="mlwatch"} == 0', labels: {layer: system}},
          {alert: DiskFull, expr: node_filesystem_avail_bytes < 1, labels: {layer: system}},
          {alert: Stale, expr: mlwatch_dataset_newest_row_age_seconds > 900, labels: {layer: data}}]}]`,
      ],
      'fixture',
    );
    expect(countAlerts(rules, 'data', 'firing', 'dataset=~"$dataset"')).toBe(
      'count(group without (instance, pod) (ALERTS{alertstate="firing",layer="data",dataset=~"$dataset"})) or vector(0)',
    );
    expect(countAlerts(rules, 'system', 'pending')).toBe(
      'count(group without (instance, pod) (ALERTS{alertstate="pending",layer="system",alertname!~"DiskFull|Down"}) ' +
        'or ALERTS{alertstate="pending",layer="system",alertname=~"DiskFull|Down"}) or vector(0)',
    );
  });

  it('every panel query runs as-is against Prometheus once variables are replaced', () => {
    const queries = allPanelQueries(undefined, { optional: true });
    expect(queries.length).toBeGreaterThan(20);
    // node_exporter panels are left out of the live stack's "every query returns data", and only those.
    const live = allPanelQueries();
    const left = queries.filter((q) => !live.some((l) => l.panel === q.panel && l.expr === q.expr));
    expect(left.length).toBeGreaterThan(0);
    for (const q of left) expect(q.expr, `${q.dashboard} / ${q.panel}`).toMatch(/\bnode_/);
    for (const q of live) expect(q.expr, `${q.dashboard} / ${q.panel}`).not.toMatch(/\bnode_\w+/);
    for (const q of queries) {
      expect(q.expr, `${q.dashboard} / ${q.panel}`).not.toContain('$');
      expect(inspectPromql(q.expr).errors, `${q.dashboard} / ${q.panel}: ${q.expr}`).toEqual([]);
    }
    expect(concreteQuery('rate(x{check=~"$check",i=~"${instance}"}[$__rate_interval])')).toBe(
      'rate(x{check=~".*",i=~".*"}[1m])',
    );
  });

  it('provisions the datasource the dashboards select and the folder they are written to', () => {
    const ds = parse(readFileSync(root('grafana/provisioning/datasources/prometheus.yml'), 'utf8'));
    expect(ds.datasources[0]).toMatchObject({
      uid: PROVISIONED_DATASOURCE_UID,
      type: 'prometheus',
      url: 'http://prometheus:9090',
      isDefault: true,
    });
    const dash = parse(readFileSync(root('grafana/provisioning/dashboards/mlwatch.yml'), 'utf8'));
    expect(dash.providers[0]).toMatchObject({
      type: 'file',
      options: { path: '/var/lib/grafana/dashboards', foldersFromFilesStructure: true },
    });
  });
});

describe('thresholds from the alert rules', () => {
  it('reads the number after the comparison, or the factor of the right side', () => {
    const rules = fixture();
    expect(alertThreshold(rules, 'MlwatchExporterDown')).toMatchObject({
      op: '==',
      value: 0,
      kind: 'constant',
      for: '2m',
      lhs: 'up{job="mlwatch"}',
    });
    expect(alertThreshold(rules, 'MlwatchCheckStale')).toMatchObject({
      op: '>',
      value: 3,
      kind: 'factor',
      rhs: '3 * mlwatch_check_interval_seconds',
    });
    expect(
      parseThreshold('S', 'time() - a > clamp_min(3 * mlwatch_check_interval_seconds, 300)'),
    ).toMatchObject({ value: 3, kind: 'factor', rhs: 'clamp_min(3 * mlwatch_check_interval_seconds, 300)' });
    expect(parseThreshold('R', 'x * 2 < 0.25 and on() y')).toMatchObject({ op: '<', value: 0.25 });
    expect(parseThreshold('N', 'x >= (-1)')).toMatchObject({ op: '>=', value: -1 });
    expect(parseThreshold('M', 'x > -2')).toMatchObject({ value: -2 });
    expect(() => parseThreshold('Q', 'absent(up)')).toThrow(/alert Q: no comparison/);
    expect(() => parseThreshold('Q', 'a > b')).toThrow(/neither a number/);
  });

  it('turns a threshold into Grafana steps that are red exactly where the alert fires', () => {
    expect(alertSteps(parseThreshold('A', 'x == 0'))).toEqual([
      { value: null, color: 'red' },
      { value: 1, color: 'green' },
    ]);
    expect(alertSteps(parseThreshold('B', 'x > 0.5'))).toEqual([
      { value: null, color: 'green' },
      { value: 0.5, color: 'red' },
    ]);
    expect(() => alertSteps(parseThreshold('C', 'x != 1'))).toThrow(/cannot draw/);
  });

  it('names a missing alert and where it looked', () => {
    const rules = parseRules(
      ['groups: [{name: g, rules: [{alert: Other, expr: up == 0}]}]'],
      'prometheus/rules',
    );
    expect(() => alertThreshold(rules, 'MlwatchCheckStale')).toThrow(
      /alert MlwatchCheckStale is not defined in prometheus\/rules/,
    );
    expect(() => buildDashboards(rules)).toThrow(/is not defined/);
    expect(() => readRules('/nonexistent/rules')).toThrow(/no Prometheus rules directory/);
  });

  it('follows the rules: another factor in the stale rule changes the panels', () => {
    const rules = parseRules(
      [
        FIXTURE.replace('> 3 *', '> 5 *'),
        readFileSync(root('prometheus/rules/data.rules.yml'), 'utf8'),
        readFileSync(root('prometheus/rules/model.rules.yml'), 'utf8'),
        readFileSync(root('prometheus/rules/business.rules.yml'), 'utf8'),
        // The system dashboard's rules (the fixture's MlwatchCheckStale comes first and wins).
        readFileSync(root('prometheus/rules/system.rules.yml'), 'utf8'),
      ],
      'fixture',
    );
    const json = buildDashboards(rules)
      .map((g) => dashboardJson(g.dashboard))
      .join('');
    expect(json).toContain('5 * mlwatch_check_interval_seconds{check=~');
    expect(json).not.toContain('3 * mlwatch_check_interval_seconds');
    expect(json).toContain('5 intervals');
  });

  it('follows the rules: the estimated-accuracy panel draws the margin and windows of its alert', () => {
    const rulesWith = (model: string) =>
      parseRules(
        ['data', 'model', 'business', 'system'].map((l) =>
          l === 'model' ? model : readFileSync(root(`prometheus/rules/${l}.rules.yml`), 'utf8'),
        ),
        'fixture',
      );
    const original = readFileSync(root('prometheus/rules/model.rules.yml'), 'utf8');
    const edited = original
      .replace(
        '(mlwatch_model_accuracy{window="14d"} - 0.05)',
        '(mlwatch_model_accuracy{window="7d"} - 0.08)',
      )
      .replace(
        'mlwatch_model_estimated_accuracy{window="1d"}',
        'mlwatch_model_estimated_accuracy{window="2d"}',
      );
    expect(edited).not.toBe(original);
    const panel = (rules: ReturnType<typeof parseRules>) =>
      JSON.stringify(
        JSON.parse(
          dashboardJson(
            buildDashboards(rules).find((g) => g.file === 'model-performance.json')?.dashboard as never,
          ),
        ).panels.find((p: { title?: string }) => p.title === 'Realized and estimated accuracy'),
      );
    expect(panel(rulesWith(original))).toContain(
      'mlwatch_model_accuracy{window=\\"14d\\",model=~\\"$model\\"',
    );
    const moved = panel(rulesWith(edited));
    expect(moved).toContain(' - 0.08');
    expect(moved).toContain('mlwatch_model_estimated_accuracy{window=\\"2d\\"');
    expect(moved).toContain('mlwatch_model_accuracy{window=\\"7d\\"');
    expect(() =>
      buildDashboards(rulesWith(original.replace('{window="14d"} - 0.05)', '{window="14d"} * 0.95)'))),
    ).toThrow(
      /MlwatchModelEstimatedAccuracyDrop: expected estimated\{window\} < \(accuracy\{window\} - margin\)/,
    );
  });

  it('lists recording rules, which panels may query', () => {
    expect(recordingRuleNames(fixture())).toEqual(['job:mlwatch_checks_failing:count']);
    expect(knownMetrics().has('mlwatch_check_success')).toBe(true);
  });

  it('scopes a rule expression to the dashboard variables', () => {
    expect(scope('time() - a > clamp_min(3 * b, 300)', 'i=~"$i"')).toBe(
      'time() - a{i=~"$i"} > clamp_min(3 * b{i=~"$i"}, 300)',
    );
    expect(scope('up{job="x"} == 0 or c{} or rate(d[5m])', 'i=~"$i"')).toBe(
      'up{job="x",i=~"$i"} == 0 or c{i=~"$i"} or rate(d{i=~"$i"}[5m])',
    );
  });
});

describe('the dashboard linter', () => {
  const ds = { type: 'prometheus', uid: '${datasource}' };
  const good = (): DashboardJson => ({
    uid: 'u1',
    title: 'T',
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus' }] },
    panels: [
      {
        id: 1,
        type: 'timeseries',
        title: 'ok',
        description: 'fine',
        datasource: ds,
        fieldConfig: { defaults: { unit: 's' } },
        targets: [
          { expr: 'rate(mlwatch_check_runs_total{check=~"$check"}[$__rate_interval])', datasource: ds },
        ],
      },
    ],
  });
  const lint = (...ds: DashboardJson[]) =>
    lintDashboards(ds.map((dashboard, i): DashboardFile => ({ file: `d${i}.json`, dashboard })));

  it('accepts a dashboard that follows the rules', () => {
    expect(lint(good())).toEqual([]);
  });

  it('flags bad PromQL, unknown metrics, a missing unit, description or title, and fixed rate ranges', () => {
    const d = good();
    const p = (d.panels ?? [])[0] as NonNullable<DashboardJson['panels']>[number];
    p.targets = [
      { expr: 'sum(rate(mlwatch_check_runs_total[5m])', datasource: ds },
      { expr: 'nope_metric_total', datasource: ds },
      {
        expr: 'rate(mlwatch_check_runs_total[5m]) + increase(mlwatch_check_errors_total[$__interval])',
        datasource: ds,
      },
      { expr: 'mlwatch_check_success{check="$check"}', datasource: ds },
    ];
    p.fieldConfig = { defaults: {} };
    p.description = '';
    p.title = '';
    const problems = lint(d).join('\n');
    expect(problems).toMatch(/PromQL does not parse: sum\(rate/);
    expect(problems).toMatch(/reads nope_metric_total, not in the catalog/);
    expect(problems).toMatch(/no unit/);
    expect(problems).toMatch(/no description/);
    expect(problems).toMatch(/no title/);
    expect(problems).toMatch(/rate\(\.\.\.\[5m\]\) must use \[\$__rate_interval\]/);
    expect(problems).toMatch(/increase\(\.\.\.\[5m\]\) must use/);
    expect(problems).toMatch(/label check matches a variable with =; use =~/);
  });

  it('flags hard-coded datasources, a missing datasource variable, duplicate ids and uids, dead runbooks', () => {
    const d = good();
    const p = (d.panels ?? [])[0] as NonNullable<DashboardJson['panels']>[number];
    p.datasource = { type: 'prometheus', uid: 'mlwatch-prometheus' };
    (p.targets ?? [])[0] = { expr: 'up', datasource: { uid: 'abc' } };
    p.links = [{ url: 'https://github.com/mlwatch/mlwatch/blob/main/docs/runbooks/NoSuchAlert.md' }];
    d.panels?.push({ ...p, title: 'twin' });
    d.templating = { list: [] };
    const problems = lint(d, good()).join('\n');
    expect(problems).toMatch(/d0.json: panel 1 "ok": datasource must be \$\{datasource\}/);
    expect(problems).toMatch(/a target's datasource must be/);
    expect(problems).toMatch(/needs a `datasource` variable/);
    expect(problems).toMatch(/panel 1 "twin": duplicate panel id/);
    expect(problems).toMatch(/d1.json: uid u1 is also the uid of d0.json/);
    expect(problems).toMatch(/NoSuchAlert.md has no docs\/runbooks file/);
  });
});
