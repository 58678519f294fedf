import { type Dashboard, DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import * as units from '@grafana/grafana-foundation-sdk/units';
import {
  acrossReplicas,
  BY_INSTANCE,
  countAlerts,
  countedOnce,
  dashboardLink,
  datasourceVariable,
  finalize,
  firingAlertsAnnotation,
  instanceVariable,
  runbookLink,
  TAGS,
} from './common.js';
import { jobMatcher } from './environment.js';
import { EXPORTER_UID } from './exporter.js';
import { ANY_IS_BAD, okMapping, stat } from './panels.js';
import type { RuleSet } from './rules.js';
import { scope } from './scope.js';
import { alertSteps, alertThreshold } from './thresholds.js';

/** One row per layer: is anything firing or about to, and for the system layer, is the exporter healthy. */

export const OVERVIEW_UID = 'mlwatch-overview';

// Each layer's row links the dashboard that shows its detail. UIDs are literals here: importing them from the
// layer modules would make a cycle, since those link back to the overview.
const LAYERS = [
  {
    layer: 'data',
    title: 'Data layer: datasets (freshness, volume, schema, quality)',
    link: { title: 'Data quality dashboard', url: '/d/mlwatch-data-quality' },
  },
  {
    layer: 'model',
    title: 'Model layer: models (drift, performance against outcomes)',
    link: { title: 'Model performance dashboard', url: '/d/mlwatch-model-performance' },
  },
  {
    layer: 'system',
    title: 'System layer: the exporter, batch jobs, serving latency, resources',
    link: { title: 'System dashboard', url: '/d/mlwatch-system' },
  },
  {
    layer: 'business',
    title: 'Business layer: the KPIs the models serve',
    link: { title: 'Business KPIs dashboard', url: '/d/mlwatch-business-kpis' },
  },
] as const;

const EXPORTER_LINK = { title: 'mlwatch exporter dashboard', url: `/d/${EXPORTER_UID}` };

const ANY_IS_PENDING = [
  { value: null, color: 'green' },
  { value: 1, color: 'orange' },
];

/** Counting stats: alerts of a layer in a state (countAlerts: each once, however many replicas raise it). */
function alertCount(
  rules: RuleSet,
  layer: string,
  state: 'firing' | 'pending',
  w: number,
  link: { title: string; url: string },
) {
  const firing = state === 'firing';
  return stat({
    title: `${layer[0]?.toUpperCase()}${layer.slice(1)} alerts ${state}`,
    description: countedOnce(
      firing
        ? `Alerts of the ${layer} layer firing now. 0 is healthy; otherwise the alert annotations on this ` +
            'dashboard and Alertmanager tell which ones, and each alert links its runbook.'
        : `Alerts of the ${layer} layer whose condition holds but whose \`for\` has not passed yet: what ` +
            'will page next if nothing changes. Usually 0; a count that lingers deserves a look.',
    ),
    unit: units.NoUnit,
    w,
    h: 4,
    queries: [{ expr: countAlerts(rules, layer, state) }],
    replicas: 'merged',
    thresholds: firing ? ANY_IS_BAD : ANY_IS_PENDING,
    links: [link],
  });
}

export function overviewDashboard(rules: RuleSet): Dashboard {
  const exporterDown = alertThreshold(rules, 'MlwatchExporterDown');
  const warehouse = alertThreshold(rules, 'MlwatchWarehouseUnreachable');
  const failing = alertThreshold(rules, 'MlwatchCheckFailing');
  const stale = alertThreshold(rules, 'MlwatchCheckStale');

  const b = new DashboardBuilder('mlwatch overview')
    .uid(OVERVIEW_UID)
    .description(
      'Each layer of the ML system at a glance: what is firing, what is about to, and the exporter.',
    )
    .tags(TAGS)
    .time({ from: 'now-24h', to: 'now' })
    .refresh('1m')
    .withVariable(datasourceVariable())
    .withVariable(instanceVariable())
    .annotation(firingAlertsAnnotation())
    .link(dashboardLink('Exporter', EXPORTER_UID))
    .link(runbookLink(exporterDown.alert))
    .link(runbookLink(warehouse.alert));

  for (const { layer, title, link } of LAYERS) {
    b.withRow(new RowBuilder(title));
    b.link(dashboardLink(link.title.replace(/ dashboard$/, ''), link.url.replace('/d/', '')));
    if (layer !== 'system') {
      b.withPanel(alertCount(rules, layer, 'firing', 12, link)).withPanel(
        alertCount(rules, layer, 'pending', 12, link),
      );
      continue;
    }
    // The system row also shows the conditions of the exporter's alerts, without their `for`: the
    // counts use each rule's own expression, so they agree with what will page.
    b.withPanel(alertCount(rules, layer, 'firing', 4, link))
      .withPanel(alertCount(rules, layer, 'pending', 4, link))
      .withPanel(
        stat({
          title: 'Exporter up',
          description: `Whether Prometheus can scrape each mlwatch exporter. Down means every check is blind; ${exporterDown.alert} fires after ${exporterDown.for}.`,
          unit: units.NoUnit,
          w: 4,
          h: 4,
          queries: [{ expr: `up{${jobMatcher()},${BY_INSTANCE}}`, legend: '{{instance}}' }],
          replicas: 'each',
          thresholds: alertSteps(exporterDown),
          mappings: okMapping('up', 'down'),
          runbooks: [exporterDown.alert],
          links: [EXPORTER_LINK],
        }),
      )
      .withPanel(
        stat({
          title: 'Warehouse up',
          description: `Whether each exporter reaches the warehouse. Down means checks serve old values; ${warehouse.alert} fires after ${warehouse.for}.`,
          unit: units.NoUnit,
          w: 4,
          h: 4,
          queries: [{ expr: `mlwatch_warehouse_up{${BY_INSTANCE}}`, legend: '{{instance}}' }],
          replicas: 'each',
          thresholds: alertSteps(warehouse),
          mappings: okMapping('up', 'down'),
          runbooks: [warehouse.alert],
          links: [EXPORTER_LINK],
        }),
      )
      .withPanel(
        stat({
          title: 'Checks failing',
          description: `Checks whose last run failed (\`${failing.expr}\`). ${failing.alert} fires for a check that stays failed ${failing.for}. The exporter dashboard shows which; its landing page shows why.`,
          unit: units.NoUnit,
          w: 4,
          h: 4,
          // Each failing check once, not once per replica that serves it.
          queries: [{ expr: `count(${acrossReplicas(scope(failing.expr, BY_INSTANCE))}) or vector(0)` }],
          replicas: 'merged',
          thresholds: ANY_IS_BAD,
          runbooks: [failing.alert],
          links: [EXPORTER_LINK],
        }),
      )
      .withPanel(
        stat({
          title: 'Checks stale',
          description: `Checks whose last success is older than ${stale.value} intervals (the condition of ${stale.alert}, which fires after ${stale.for}). Their metrics are old: see the exporter dashboard.`,
          unit: units.NoUnit,
          w: 4,
          h: 4,
          queries: [{ expr: `count(${acrossReplicas(scope(stale.expr, BY_INSTANCE))}) or vector(0)` }],
          replicas: 'merged',
          thresholds: ANY_IS_BAD,
          runbooks: [stale.alert],
          links: [EXPORTER_LINK],
        }),
      );
  }
  return finalize(b.build());
}
