import { TableSortByFieldStateBuilder } from '@grafana/grafana-foundation-sdk/common';
import {
  type Dashboard,
  DashboardBuilder,
  MappingType,
  RowBuilder,
  type Threshold,
} from '@grafana/grafana-foundation-sdk/dashboard';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { parser } from '@prometheus-io/lezer-promql';
import {
  BY_INSTANCE,
  dashboardLink,
  datasourceVariable,
  finalize,
  firingAlertsAnnotation,
  instanceVariable,
  labelVariable,
  runbookLink,
  TAGS,
} from './common.js';
import { DATA_QUALITY_UID } from './data-quality.js';
import { MODEL_PERFORMANCE_UID } from './model-performance.js';
import { OVERVIEW_UID } from './overview.js';
import { ANY_IS_BAD, dashed, stat, table, timeseries } from './panels.js';
import { findAlert, type RuleSet } from './rules.js';
import { type AlertThreshold, alertThreshold, OK_COLOR, parseThreshold } from './thresholds.js';

/**
 * The business KPIs mlwatch computes in the warehouse (kpis[] in mlwatch.yaml), each against its baseline: the
 * same window one baseline period earlier. Every line, colour and guard comes from the rules of
 * prometheus/rules/business.rules.yml.
 */

export const BUSINESS_KPIS_UID = 'mlwatch-business-kpis';

/** The chosen KPIs on the chosen exporters, and the chosen windows. */
const KPI = `kpi=~"$kpi",${BY_INSTANCE}`;
const SEL = `${KPI},window=~"$window"`;

/** A business alert: its threshold on the value/baseline ratio, the window it watches, its volume guard. */
interface KpiAlert extends AlertThreshold {
  window: string;
  guard: number;
}

/** The `window="..."` the alert's left side watches. */
function windowOf(t: AlertThreshold): string {
  const w = /window="([^"]+)"/.exec(t.lhs)?.[1];
  if (!w) throw new Error(`alert ${t.alert}: no window="..." matcher in \`${t.lhs}\``);
  return w;
}

/**
 * The minimum-volume guards on the right of each `and` (`mlwatch_kpi_volume{period="..."} >= N`): one for the
 * current period and one for the baseline. The dashboard draws one guard line, so both must say the same N.
 */
function volumeGuard(rules: RuleSet, alert: string): number {
  const expr = findAlert(rules, alert).expr;
  const guards: number[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.name !== 'BinaryExpr' || !node.node.getChild('And')) return;
      const right = node.node.lastChild;
      if (right)
        guards.push(parseThreshold(`${alert} (volume guard)`, expr.slice(right.from, right.to)).value);
    },
  });
  const first = guards[0];
  if (first === undefined || guards.some((g) => g !== first)) {
    throw new Error(
      `alert ${alert}: expected \`and mlwatch_kpi_volume{period="current"} >= N and ... {period="baseline"} >= N\` ` +
        `with the same N in \`${expr}\``,
    );
  }
  return first;
}

function kpiAlert(rules: RuleSet, name: string): KpiAlert {
  const t = alertThreshold(rules, name);
  if (t.op !== '<' || t.kind !== 'constant') {
    throw new Error(
      `alert ${name}: expected \`<value/baseline ratio> < N\`, got \`${t.lhs} ${t.op} ${t.rhs}\``,
    );
  }
  return { ...t, window: windowOf(t), guard: volumeGuard(rules, name) };
}

const ANY_IS_PENDING: Threshold[] = [
  { value: null, color: 'green' },
  { value: 1, color: 'orange' },
];

function businessAlertCount(state: 'firing' | 'pending') {
  const firing = state === 'firing';
  return stat({
    title: `Business alerts ${state}`,
    description: firing
      ? 'Business-layer alerts firing now for the chosen KPIs. 0 is healthy; otherwise the table next to this ' +
        'lists them, the red annotations on the graphs mark when they started, and each alert links its ' +
        "runbook (also in this dashboard's header). A stale dataset holds back the alerts of the KPIs built on it."
      : 'Business-layer alerts whose condition holds but whose `for` has not passed yet: what will open a ' +
        'ticket or page next if nothing changes.',
    unit: units.Short,
    w: 6,
    h: 8,
    queries: [{ expr: `count(ALERTS{alertstate="${state}",layer="business",${KPI}}) or vector(0)` }],
    thresholds: firing ? ANY_IS_BAD : ANY_IS_PENDING,
  });
}

export function businessKpisDashboard(rules: RuleSet): Dashboard {
  const below = kpiAlert(rules, 'MlwatchKpiBelowBaseline');
  const sudden = kpiAlert(rules, 'MlwatchKpiSuddenDrop');
  const alerts = [below, sudden];
  const ratioSeries = /^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+/.exec(below.lhs)?.[0] ?? below.lhs;
  const pct = (v: number) => `${Math.round(v * 1000) / 10} %`;
  const drop = (a: KpiAlert) => pct(1 - a.value);
  // The ratio's colours: red under the steeper alert's line, orange under the other's, green above both.
  const [low, high] = below.value < sudden.value ? [below, sudden] : [sudden, below];
  const ratioSteps: Threshold[] = [
    { value: null, color: 'red' },
    { value: low.value, color: 'orange' },
    { value: high.value, color: OK_COLOR },
  ];
  /** `N * baseline` on the window an alert watches: the line the KPI must stay above. */
  const alertLine = (a: KpiAlert) => `${a.value} * mlwatch_kpi_baseline{window="${a.window}",${SEL}}`;
  /** Whether both periods of a window have the rows the alert on that window needs (1) or not (0). */
  const guardMet = (a: KpiAlert) =>
    `min by (job, instance, kpi, window) (mlwatch_kpi_volume{window="${a.window}",${SEL}} >= bool ${a.guard})`;

  /**
   * 2 firing, 1 pending, 0 ok for each KPI with the alert's window: ALERTS only holds pending and firing
   * alerts, so the KPIs' own series supply the 0 (and the panel shows every KPI the alert watches).
   */
  const alertState = (a: KpiAlert) => {
    const of = (state: string) => `ALERTS{alertname="${a.alert}",alertstate="${state}",${SEL}}`;
    return (
      `(max by (job, instance, kpi, window) (2 * ${of('firing')} or ${of('pending')}) ` +
      `or 0 * group by (job, instance, kpi, window) (mlwatch_kpi_volume{window="${a.window}",${SEL}}))`
    );
  };

  const builder = new DashboardBuilder('mlwatch business KPIs')
    .uid(BUSINESS_KPIS_UID)
    .description(
      'Business KPIs computed in the warehouse, each against its baseline (the same window one baseline period ' +
        'earlier), the rows behind them, and the business alerts. Lines and colours follow the business-layer ' +
        'alert rules.',
    )
    .tags(TAGS)
    .time({ from: 'now-7d', to: 'now' })
    .refresh('5m')
    .withVariable(datasourceVariable())
    .withVariable(instanceVariable())
    .withVariable(
      labelVariable(
        'kpi',
        'KPI',
        `mlwatch_kpi_info{${BY_INSTANCE}}`,
        'The KPIs configured on the chosen exporters (mlwatch_kpi_info{kpi}).',
      ),
    )
    .withVariable(
      labelVariable(
        'window',
        'Window',
        `mlwatch_kpi_volume{${KPI}}`,
        `The windows the KPIs are computed over (now - window to now), as configured per KPI. ${below.alert} ` +
          `watches ${below.window}, ${sudden.alert} ${sudden.window}.`,
      ),
    )
    .annotation(firingAlertsAnnotation('business'))
    .link(dashboardLink('Overview', OVERVIEW_UID))
    .link(dashboardLink('Data quality', DATA_QUALITY_UID))
    .link(dashboardLink('Model performance', MODEL_PERFORMANCE_UID));
  for (const a of alerts) builder.link(runbookLink(a.alert));

  builder
    .withRow(new RowBuilder('Alerts'))
    .withPanel(businessAlertCount('firing'))
    .withPanel(businessAlertCount('pending'))
    .withPanel(
      table({
        title: 'Business alerts by KPI',
        description:
          'Each KPI and window an alert watches, and that alert now: ok, pending (its condition holds, its `for` ' +
          `has not passed) or firing. ${below.alert} watches ${below.window} (a ticket when the KPI is more than ` +
          `${drop(below)} below its baseline); ${sudden.alert} watches ${sudden.window} (a page when it fell ` +
          `more than ${drop(sudden)} below). Rule out the model, data and jobs first (their dashboards are ` +
          'linked above), then hand over to the business analysts (runbooks).',
        unit: units.Short,
        w: 12,
        h: 8,
        labels: ['kpi', 'window', 'instance'],
        columns: [
          {
            expr: `${alertState(below)} or ${alertState(sudden)}`,
            name: 'Alert state',
            unit: units.Short,
            thresholds: [
              { value: null, color: OK_COLOR },
              { value: 1, color: 'orange' },
              { value: 2, color: 'red' },
            ],
            mappings: [
              {
                type: MappingType.ValueToText,
                options: {
                  '0': { text: 'ok', index: 0 },
                  '1': { text: 'pending', index: 1 },
                  '2': { text: 'firing', index: 2 },
                },
              },
            ],
          },
        ],
        runbooks: alerts.map((a) => a.alert),
      }).sortBy([new TableSortByFieldStateBuilder().displayName('Alert state').desc(true)]),
    )

    .withRow(new RowBuilder('KPIs against their baseline'))
    .withPanel(
      timeseries({
        title: 'KPI and baseline',
        description:
          'Each KPI over its window (now - window to now), its baseline (the same window one baseline period ' +
          `earlier, 7 days by default), and the alert lines: ${below.value} x the baseline on ${below.window} ` +
          `(${below.alert}: a ticket after ${below.for} below it) and ${sudden.value} x the baseline on ` +
          `${sudden.window} (${sudden.alert}: a page after ${sudden.for}). A step dates a release or rule change; ` +
          'a slope is the population or the market. The alerts assume higher is better.',
        unit: units.Short,
        w: 12,
        h: 9,
        queries: [
          { expr: `mlwatch_kpi_value{${SEL}}`, legend: '{{kpi}} ({{window}})' },
          { expr: `mlwatch_kpi_baseline{${SEL}}`, legend: '{{kpi}} baseline ({{window}})' },
          { expr: alertLine(below), legend: `{{kpi}} -${drop(below)} ({{window}})` },
          { expr: alertLine(sudden), legend: `{{kpi}} -${drop(sudden)} ({{window}})` },
        ],
        runbooks: alerts.map((a) => a.alert),
      })
        .overrideByQuery('C', dashed('red'))
        .overrideByQuery('D', dashed('red')),
    )
    .withPanel(
      timeseries({
        title: 'KPI as a share of its baseline',
        description:
          `Each KPI divided by its baseline (${ratioSeries}; 100 % = as usual). Orange below ` +
          `${pct(high.value)} (${high.alert} on ${high.window}), red below ${pct(low.value)} (${low.alert} on ` +
          `${low.window}); each alert watches only its own window, and only with enough rows (the volume row ` +
          'below). No line: the KPI or its baseline is undefined (no rows) or the baseline is 0.',
        unit: units.PercentUnit,
        w: 12,
        h: 9,
        queries: [{ expr: `${ratioSeries}{${SEL}}`, legend: '{{kpi}} ({{window}})' }],
        thresholds: ratioSteps,
        thresholdLine: true,
        min: 0,
        runbooks: alerts.map((a) => a.alert),
      }),
    )
    .withPanel(
      table({
        title: 'KPIs now',
        description:
          'Each KPI and window now: the value, its baseline, the share of the baseline (coloured as the graph ' +
          'above), the rows behind both periods, and whether the alert watching that window has enough of them ' +
          `(${below.guard} rows in both periods on ${below.window}, ${sudden.guard} on ${sudden.window}). ` +
          '"too few rows": the alert stays silent, whatever the value. A KPI given as SQL without a volume column ' +
          'has no rows to show and is never alerted on.',
        unit: units.Short,
        w: 24,
        h: 8,
        labels: ['kpi', 'window', 'instance'],
        columns: [
          { expr: `mlwatch_kpi_value{${SEL}}`, name: 'Value', unit: units.Short },
          { expr: `mlwatch_kpi_baseline{${SEL}}`, name: 'Baseline', unit: units.Short },
          {
            // Without `dataset` (on the ratio only), so the columns merge into one row per KPI and window.
            expr: `sum without (dataset) (${ratioSeries}{${SEL}})`,
            name: 'Share of baseline',
            unit: units.PercentUnit,
            thresholds: ratioSteps,
          },
          {
            expr: `sum without (period) (mlwatch_kpi_volume{period="current",${SEL}})`,
            name: 'Rows now',
            unit: units.Short,
          },
          {
            expr: `sum without (period) (mlwatch_kpi_volume{period="baseline",${SEL}})`,
            name: 'Rows at baseline',
            unit: units.Short,
          },
          {
            expr: `${guardMet(below)} or ${guardMet(sudden)}`,
            name: 'Volume guard',
            unit: units.Short,
            mappings: [
              {
                type: MappingType.ValueToText,
                options: {
                  '1': { text: 'met', color: OK_COLOR, index: 0 },
                  '0': { text: 'too few rows', color: 'orange', index: 1 },
                },
              },
            ],
          },
        ],
        runbooks: alerts.map((a) => a.alert),
      }).sortBy([new TableSortByFieldStateBuilder().displayName('Share of baseline').desc(false)]),
    )

    .withRow(new RowBuilder('Volume'))
    .withPanel(
      timeseries({
        title: 'Rows behind each KPI',
        description:
          "The rows each KPI was computed from (a ratio's denominator, or the volume column of a SQL KPI), now " +
          "and at baseline, and each alert's minimum (dashed: " +
          `${below.guard} on ${below.window}, ${sudden.guard} on ${sudden.window}). Below it the alert stays ` +
          'silent: the KPI moves by chance. A volume cliff changes the mix of what is counted: check the ' +
          "dataset's volume alert and the data-quality dashboard.",
        unit: units.Short,
        w: 24,
        h: 8,
        queries: [
          { expr: `mlwatch_kpi_volume{${SEL}}`, legend: '{{kpi}} {{period}} ({{window}})' },
          ...alerts.map((a) => ({
            expr: `0 * mlwatch_kpi_volume{period="current",window="${a.window}",${SEL}} + ${a.guard}`,
            legend: `{{kpi}} ${a.alert} minimum ({{window}})`,
          })),
        ],
        min: 0,
        runbooks: alerts.map((a) => a.alert),
      })
        .overrideByQuery('B', dashed('orange'))
        .overrideByQuery('C', dashed('orange')),
    );
  return finalize(builder.build());
}
