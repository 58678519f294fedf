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
  countAlerts,
  countedOnce,
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
import { ANY_IS_BAD, type Column, dashed, stat, table, timeseries } from './panels.js';
import { findAlert, type RuleSet } from './rules.js';
import { type AlertThreshold, alertThreshold, OK_COLOR, parseThreshold } from './thresholds.js';

/**
 * The business KPIs mlwatch computes in the warehouse (kpis[] in mlwatch.yaml), each against its baseline: the
 * median of the same window in each of the last weeks. Every line, colour and guard comes from the rules of
 * prometheus/rules/business.rules.yml: MlwatchKpiSuddenDrop (the KPI more than a margin below its baseline and
 * even its upper confidence bound below it) and MlwatchKpiBelowBaseline (the day below its baseline, for KPIs
 * without a standard error).
 */

export const BUSINESS_KPIS_UID = 'mlwatch-business-kpis';

/** The chosen KPIs on the chosen exporters, and the chosen windows. */
const KPI = `kpi=~"$kpi",${BY_INSTANCE}`;
const SEL = `${KPI},window=~"$window"`;

const UPPER_BOUND = 'kpi:mlwatch_kpi_value:upper_bound';

/** MlwatchKpiSuddenDrop as the dashboard draws it: its margin, and the bound's standard errors. */
export interface DropAlert extends AlertThreshold {
  /** kpi:mlwatch_kpi_value:upper_bound = mlwatch_kpi_value + z * mlwatch_kpi_standard_error. */
  z: number;
}

export function dropAlert(rules: RuleSet): DropAlert {
  const bound = rules.rules.find((r) => r.record === UPPER_BOUND);
  const z = /^mlwatch_kpi_value \+ ([0-9.]+) \* mlwatch_kpi_standard_error$/.exec(
    bound?.expr.trim() ?? '',
  )?.[1];
  if (z === undefined) {
    throw new Error(
      `${rules.source}: expected the recording rule ${UPPER_BOUND} to be \`mlwatch_kpi_value + <z> * mlwatch_kpi_standard_error\``,
    );
  }
  const t = alertThreshold(rules, 'MlwatchKpiSuddenDrop');
  if (t.op !== '<' || t.kind !== 'constant' || !findAlert(rules, t.alert).expr.includes(UPPER_BOUND)) {
    throw new Error(
      `alert ${t.alert}: expected \`<value/baseline ratio> < N and ... ${UPPER_BOUND} < ... mlwatch_kpi_baseline\`, got \`${t.expr}\``,
    );
  }
  return { ...t, z: Number(z) };
}

/** MlwatchKpiBelowBaseline: its threshold on the value/baseline ratio, the window it watches, its volume guard. */
interface DayAlert extends AlertThreshold {
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
  if (first === undefined || guards.length !== 2 || guards.some((g) => g !== first)) {
    throw new Error(
      `alert ${alert}: expected \`and mlwatch_kpi_volume{period="current"} >= N and ... {period="baseline"} >= N\` ` +
        `with the same N in \`${expr}\``,
    );
  }
  return first;
}

function dayAlert(rules: RuleSet): DayAlert {
  const name = 'MlwatchKpiBelowBaseline';
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

function businessAlertCount(rules: RuleSet, state: 'firing' | 'pending') {
  const firing = state === 'firing';
  return stat({
    title: `Business alerts ${state}`,
    description: countedOnce(
      firing
        ? 'Business-layer alerts firing now for the chosen KPIs. 0 is healthy; otherwise the table next to this ' +
            'lists them, the red annotations on the graphs mark when they started, and each alert links its ' +
            "runbook (also in this dashboard's header). A stale dataset holds back the alerts of the KPIs built on it."
        : 'Business-layer alerts whose condition holds but whose `for` has not passed yet: what will open a ' +
            'ticket next if nothing changes.',
    ),
    unit: units.Short,
    w: 6,
    h: 8,
    queries: [{ expr: countAlerts(rules, 'business', state, KPI) }],
    replicas: 'merged',
    thresholds: firing ? ANY_IS_BAD : ANY_IS_PENDING,
  });
}

export function businessKpisDashboard(rules: RuleSet): Dashboard {
  const drop = dropAlert(rules);
  const day = dayAlert(rules);
  const alerts = [drop, day];
  const ratioSeries = /^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+/.exec(drop.lhs)?.[0] ?? drop.lhs;
  const pct = (v: number) => `${Math.round(v * 1000) / 10} %`;
  const below = (a: AlertThreshold) => pct(1 - a.value);
  // The ratio's colours: red under the lower alert line, orange under the other, green above both.
  const [low, high] = day.value < drop.value ? [day, drop] : [drop, day];
  const ratioSteps: Threshold[] = [
    { value: null, color: 'red' },
    { value: low.value, color: 'orange' },
    { value: high.value, color: OK_COLOR },
  ];
  // The bound as a share of the baseline: below 1 the drop is beyond noise (the second half of the drop alert).
  const boundSteps: Threshold[] = [
    { value: null, color: 'red' },
    { value: 1, color: OK_COLOR },
  ];
  const boundShare = `${UPPER_BOUND}{${SEL}} / on (job, instance, kpi, window) (mlwatch_kpi_baseline{${SEL}} > 0)`;

  /**
   * 2 firing, 1 pending, 0 ok for each KPI: ALERTS only holds pending and firing alerts, so the KPIs' own info
   * series supply the 0 (and the table shows every KPI).
   */
  const alertState = (a: AlertThreshold) => {
    const of = (state: string) => `ALERTS{alertname="${a.alert}",alertstate="${state}",${KPI}}`;
    return (
      `(max by (job, instance, kpi) (2 * ${of('firing')} or ${of('pending')}) ` +
      `or 0 * group by (job, instance, kpi) (mlwatch_kpi_info{${KPI}}))`
    );
  };
  const stateColumn = (a: AlertThreshold): Column => ({
    expr: alertState(a),
    name: a.alert.replace(/^MlwatchKpi/, ''),
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
  });

  const builder = new DashboardBuilder('mlwatch business KPIs')
    .uid(BUSINESS_KPIS_UID)
    .description(
      'Business KPIs computed in the warehouse, each against its baseline (the median of the same window in the ' +
        'last weeks), the upper confidence bound that tells a drop from noise, the rows behind them, and the ' +
        'business alerts. Lines and colours follow the business-layer alert rules.',
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
        `The windows the KPIs are computed over (now - window to now), as configured per KPI. ${drop.alert} ` +
          `watches them all; ${day.alert} the ${day.window} of KPIs without a standard error.`,
      ),
    )
    .annotation(firingAlertsAnnotation('business'))
    .link(dashboardLink('Overview', OVERVIEW_UID))
    .link(dashboardLink('Data quality', DATA_QUALITY_UID))
    .link(dashboardLink('Model performance', MODEL_PERFORMANCE_UID));
  for (const a of alerts) builder.link(runbookLink(a.alert));

  builder
    .withRow(new RowBuilder('Alerts'))
    .withPanel(businessAlertCount(rules, 'firing'))
    .withPanel(businessAlertCount(rules, 'pending'))
    .withPanel(
      table({
        title: 'Business alerts by KPI',
        description:
          'Each KPI and the business alerts now: ok, pending (the condition holds, its `for` has not passed) or ' +
          `firing. ${drop.alert}: in some window the KPI is more than ${below(drop)} below its baseline and even ` +
          `its upper bound (the value plus ${drop.z} standard errors) is below it, for ${drop.for}. ` +
          `${day.alert}: the ${day.window} more than ${below(day)} below, for ${day.for}, only for KPIs without ` +
          'a standard error. Both make a ticket for the business analysts; rule out the model, data and jobs ' +
          '(their dashboards are linked above) with them.',
        unit: units.Short,
        w: 12,
        h: 8,
        labels: ['kpi'],
        columns: alerts.map(stateColumn),
        runbooks: alerts.map((a) => a.alert),
      }).sortBy([new TableSortByFieldStateBuilder().displayName(stateColumn(drop).name).desc(true)]),
    )

    .withRow(new RowBuilder('KPIs against their baseline'))
    .withPanel(
      timeseries({
        title: 'KPI, baseline and upper bound',
        description:
          'Each KPI over its window (now - window to now), its baseline (the median of the same window 1, 2, ... ' +
          `weeks earlier: the same hours of the same weekday), its upper bound (the value plus ${drop.z} standard ` +
          `errors: the highest it may really be, given how few rows it has), and ${drop.alert}'s line, ` +
          `${drop.value} x the baseline. The alert fires when the KPI is under that line and its upper bound is ` +
          'under the baseline. A step dates a release or rule change; a slope is the population or the market. ' +
          'Pick one window: each has its own lines.',
        unit: units.Short,
        w: 12,
        h: 9,
        queries: [
          { expr: `mlwatch_kpi_value{${SEL}}`, legend: '{{kpi}} ({{window}})' },
          { expr: `mlwatch_kpi_baseline{${SEL}}`, legend: '{{kpi}} baseline ({{window}})' },
          { expr: `${UPPER_BOUND}{${SEL}}`, legend: '{{kpi}} upper bound ({{window}})' },
          {
            expr: `${drop.value} * mlwatch_kpi_baseline{${SEL}}`,
            legend: `{{kpi}} -${below(drop)} ({{window}})`,
          },
        ],
        runbooks: alerts.map((a) => a.alert),
      })
        .overrideByQuery('C', dashed('orange'))
        .overrideByQuery('D', dashed('red')),
    )
    .withPanel(
      timeseries({
        title: 'Upper bound as a share of the baseline',
        description:
          `The KPI's upper bound (value + ${drop.z} standard errors) divided by its baseline. Below 100 % (red) ` +
          'the KPI is below its baseline beyond noise: the sampling error of its own rows and of the baseline ' +
          `weeks' cannot explain the gap. ${drop.alert} needs this and the KPI more than ${below(drop)} below ` +
          'its baseline. A window of few rows has a wide bound and stays above 100 % whatever its value. No ' +
          'line: the KPI has no standard error (an SQL KPI without volume and stddev columns) or no baseline.',
        unit: units.PercentUnit,
        w: 12,
        h: 9,
        queries: [{ expr: boundShare, legend: '{{kpi}} ({{window}})' }],
        thresholds: boundSteps,
        thresholdLine: true,
        min: 0,
        runbooks: [drop.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'KPI as a share of its baseline',
        description:
          `Each KPI divided by its baseline (${ratioSeries}; 100 % = as usual). Orange below ${pct(high.value)} ` +
          `(${high.alert}), red below ${pct(low.value)} (${low.alert}). On few rows this swings by chance: ` +
          'the upper bound panel says whether a swing is beyond noise. No line: the KPI or its baseline is ' +
          'undefined (no rows) or the baseline is 0.',
        unit: units.PercentUnit,
        w: 24,
        h: 8,
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
          'above), the standard error, the upper bound as a share of the baseline (red: below it beyond noise), ' +
          'and the rows behind the value and, as the median of the baseline weeks, behind the baseline. ' +
          `${drop.alert} fires on a KPI with some window more than ${below(drop)} below and red in the bound ` +
          `column. A KPI without a standard error is ${day.alert}'s: ${day.guard} rows in both periods on ` +
          `${day.window}.`,
        unit: units.Short,
        w: 24,
        h: 8,
        labels: ['kpi', 'window'],
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
          { expr: `mlwatch_kpi_standard_error{${SEL}}`, name: 'Standard error', unit: units.Short },
          {
            expr: boundShare,
            name: 'Upper bound / baseline',
            unit: units.PercentUnit,
            thresholds: boundSteps,
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
        ],
        runbooks: alerts.map((a) => a.alert),
      }).sortBy([new TableSortByFieldStateBuilder().displayName('Upper bound / baseline').desc(false)]),
    )

    .withRow(new RowBuilder('Volume'))
    .withPanel(
      timeseries({
        title: 'Rows behind each KPI',
        description:
          "The rows each KPI was computed from (a ratio's denominator, or the volume column of a SQL KPI), now " +
          'and as the median of the baseline weeks. More rows narrow the upper bound, so a drop is seen sooner; ' +
          `the dashed line is ${day.alert}'s minimum (${day.guard} on ${day.window}), which only KPIs without a ` +
          'standard error need. A volume cliff changes the mix of what is counted: check the dataset volume ' +
          'alert and the data-quality dashboard.',
        unit: units.Short,
        w: 24,
        h: 8,
        queries: [
          { expr: `mlwatch_kpi_volume{${SEL}}`, legend: '{{kpi}} {{period}} ({{window}})' },
          {
            expr: `0 * mlwatch_kpi_volume{period="current",window="${day.window}",${SEL}} + ${day.guard}`,
            legend: `{{kpi}} ${day.alert} minimum ({{window}})`,
          },
        ],
        min: 0,
        runbooks: alerts.map((a) => a.alert),
      }).overrideByQuery('B', dashed('orange')),
    );
  return finalize(builder.build());
}
