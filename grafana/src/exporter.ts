import { type Dashboard, DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import * as units from '@grafana/grafana-foundation-sdk/units';
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
import { jobMatcher } from './environment.js';
import { okMapping, stat, stateTimeline, table, timeseries } from './panels.js';
import { findAlert, type RuleSet } from './rules.js';
import { scope } from './scope.js';
import { ALERT_COLOR, alertSteps, alertThreshold, OK_COLOR } from './thresholds.js';

/** mlwatch's own health: are the checks running, on time and succeeding, and can it reach the warehouse. */

export const EXPORTER_UID = 'mlwatch-exporter';

const BY_CHECK = `check=~"$check",${BY_INSTANCE}`;

// The exporters' own series (up, scrape, process), by the scrape job of the bundle config.
const exporterSeries = () => `${jobMatcher()},${BY_INSTANCE}`;

export function exporterDashboard(rules: RuleSet): Dashboard {
  const exporterDown = alertThreshold(rules, 'MlwatchExporterDown');
  const warehouse = alertThreshold(rules, 'MlwatchWarehouseUnreachable');
  const failing = alertThreshold(rules, 'MlwatchCheckFailing');
  const stale = alertThreshold(rules, 'MlwatchCheckStale');
  const reload = alertThreshold(rules, 'MlwatchConfigReloadFailed');
  // No threshold to draw (absent() has none): only its runbook, next to MlwatchExporterDown's.
  const exporterAbsent = findAlert(rules, 'MlwatchExporterAbsent').alert as string;

  // The stale alert compares the age of the last success with a limit (3 intervals, with a floor); showing
  // age / limit puts the alert at exactly 100 % whatever the check's interval.
  const age = scope(stale.lhs, BY_CHECK);
  const limit = scope(stale.rhs, BY_CHECK);
  const staleShare = `(${age}) / (${limit})`;
  const staleSteps = [
    { value: null, color: OK_COLOR },
    { value: 1, color: ALERT_COLOR },
  ];
  const staleText =
    `${stale.alert} fires when this stays above 100 % (the last success is older than \`${stale.rhs}\`, ` +
    `${stale.value} intervals) for ${stale.for}.`;

  const builder = new DashboardBuilder('mlwatch exporter')
    .uid(EXPORTER_UID)
    .description(
      'The health of the mlwatch exporter itself: its checks, the warehouse connection, the process.',
    )
    .tags(TAGS)
    .time({ from: 'now-6h', to: 'now' })
    .refresh('1m')
    .withVariable(datasourceVariable())
    .withVariable(instanceVariable())
    .withVariable(
      labelVariable(
        'check',
        'Check',
        `mlwatch_check_success{${BY_INSTANCE}}`,
        'The checks the chosen exporters run (mlwatch_check_success{check}).',
      ),
    )
    .annotation(firingAlertsAnnotation('system'))
    .link(dashboardLink('Overview', 'mlwatch-overview'))
    .link(runbookLink(failing.alert))
    .link(runbookLink(stale.alert))
    .link(runbookLink(warehouse.alert))
    .link(runbookLink(exporterDown.alert))
    .link(runbookLink(exporterAbsent))
    .link(runbookLink(reload.alert))

    .withRow(new RowBuilder('Checks'))
    .withPanel(
      table({
        title: 'Checks',
        description:
          'One row per check: did its last run succeed, how long it took, how long ago it last succeeded and ' +
          'how that compares with the limit of the stale alert. A red "Last run" has failed; the landing page ' +
          `of the exporter (/) shows the error. ${staleText} Open the runbooks from the panel menu.`,
        unit: units.NoUnit,
        w: 24,
        h: 8,
        labels: ['check', 'instance'],
        columns: [
          {
            expr: `mlwatch_check_success{${BY_CHECK}}`,
            name: 'Last run',
            unit: units.NoUnit,
            thresholds: alertSteps(failing),
            mappings: okMapping('ok', 'failed'),
          },
          { expr: `mlwatch_check_duration_seconds{${BY_CHECK}}`, name: 'Last duration', unit: units.Seconds },
          { expr: age, name: 'Since last success', unit: units.Seconds },
          { expr: `mlwatch_check_interval_seconds{${BY_CHECK}}`, name: 'Interval', unit: units.Seconds },
          { expr: limit, name: 'Stale after', unit: units.Seconds },
          { expr: staleShare, name: 'Of stale limit', unit: units.PercentUnit, thresholds: staleSteps },
        ],
        runbooks: [failing.alert, stale.alert],
      }),
    )
    .withPanel(
      stateTimeline({
        title: 'Check success',
        description:
          'Each check over time: green while its runs succeed, red while they fail. ' +
          `${failing.alert} fires after ${failing.for} of red. A failing check keeps serving its last good ` +
          'values, so its own metrics look flat: read the error on the exporter landing page, then the runbook.',
        unit: units.NoUnit,
        w: 24,
        h: 8,
        queries: [{ expr: `mlwatch_check_success{${BY_CHECK}}`, legend: '{{check}} {{instance}}' }],
        thresholds: alertSteps(failing),
        mappings: okMapping('ok', 'failed'),
        runbooks: [failing.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Check duration',
        description:
          'How long the last run of each check took. A check growing towards its statement_timeout will ' +
          'start failing; one longer than its interval causes overruns. Look at the query plan or the table size.',
        unit: units.Seconds,
        w: 12,
        h: 8,
        queries: [{ expr: `mlwatch_check_duration_seconds{${BY_CHECK}}`, legend: '{{check}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Time since last success, share of the stale limit',
        description: `Age of the last successful run divided by the limit of the stale alert. ${staleText} The dashed line is that limit. A check stuck near it is failing or not being scheduled.`,
        unit: units.PercentUnit,
        w: 12,
        h: 8,
        queries: [{ expr: staleShare, legend: '{{check}}' }],
        thresholds: staleSteps,
        thresholdLine: true,
        min: 0,
        runbooks: [stale.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Check errors',
        description:
          'Failed runs per second. Any error means a check result is missing for that round; a steady rate ' +
          `soon becomes ${failing.alert}. The exporter landing page shows the last error.`,
        unit: units.OpsPerSecond,
        w: 8,
        h: 8,
        queries: [
          { expr: `rate(mlwatch_check_errors_total{${BY_CHECK}}[$__rate_interval])`, legend: '{{check}}' },
        ],
        min: 0,
        runbooks: [failing.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Check overruns',
        description:
          'Runs skipped per second because the previous run of the check was still queued or running. ' +
          'Raise the interval, speed the query up, or raise warehouse.pool if many checks queue together.',
        unit: units.OpsPerSecond,
        w: 8,
        h: 8,
        queries: [
          { expr: `rate(mlwatch_check_overruns_total{${BY_CHECK}}[$__rate_interval])`, legend: '{{check}}' },
        ],
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Skipped samples',
        description:
          'Series the last run of each check could not export, by reason (null_value, not_a_number); 0 for ' +
          'checks that skipped nothing. Non-zero means the query returned NULLs: fix the SQL (COALESCE, a ' +
          'WHERE clause) or accept the gap.',
        unit: units.Short,
        w: 8,
        h: 8,
        queries: [
          {
            expr:
              `sum by (check, reason) (mlwatch_check_skipped_samples{${BY_CHECK}}) ` +
              `or on (check) sum by (check) (0 * mlwatch_check_success{${BY_CHECK}})`,
            legend: '{{check}} {{reason}}',
          },
        ],
        min: 0,
      }),
    )

    .withRow(new RowBuilder('Exporter and warehouse'))
    .withPanel(
      stat({
        title: 'Exporter up',
        description: `Whether Prometheus could scrape the exporter (up{${jobMatcher()}}). ${exporterDown.alert} fires after ${exporterDown.for} down: check the container and its logs.`,
        unit: units.NoUnit,
        w: 6,
        h: 4,
        queries: [{ expr: `up{${exporterSeries()}}`, legend: '{{instance}}' }],
        thresholds: alertSteps(exporterDown),
        mappings: okMapping('up', 'down'),
        runbooks: [exporterDown.alert],
      }),
    )
    .withPanel(
      stat({
        title: 'Warehouse up',
        description: `Whether the exporter's last attempt to reach the warehouse connected. ${warehouse.alert} fires after ${warehouse.for} down; checks then serve their last values. Check the network path and the credentials.`,
        unit: units.NoUnit,
        w: 6,
        h: 4,
        queries: [{ expr: `mlwatch_warehouse_up{${BY_INSTANCE}}`, legend: '{{instance}}' }],
        thresholds: alertSteps(warehouse),
        mappings: okMapping('up', 'down'),
        runbooks: [warehouse.alert],
      }),
    )
    .withPanel(
      stat({
        title: 'Config reload',
        description: `Whether the last config (re)load succeeded. When it is refused the previous config keeps running; ${reload.alert} fires after ${reload.for}. Run \`mlwatch check-config\` on the file to see why.`,
        unit: units.NoUnit,
        w: 6,
        h: 4,
        queries: [{ expr: `mlwatch_config_last_reload_successful{${BY_INSTANCE}}`, legend: '{{instance}}' }],
        thresholds: alertSteps(reload),
        mappings: okMapping('ok', 'refused'),
        runbooks: [reload.alert],
      }),
    )
    .withPanel(
      stat({
        title: 'Config age',
        description:
          'Time since the config was last loaded successfully. Young after a deploy or a reload; if you just ' +
          'changed the file and this is old, the reload was refused or never sent (POST /-/reload or SIGHUP).',
        unit: units.Seconds,
        w: 6,
        h: 4,
        queries: [
          {
            expr: `time() - mlwatch_config_last_reload_success_timestamp_seconds{${BY_INSTANCE}}`,
            legend: '{{instance}}',
          },
        ],
        thresholds: [{ value: null, color: 'blue' }],
      }),
    )
    .withPanel(
      stateTimeline({
        title: 'Exporter, warehouse and config over time',
        description:
          'When the exporter was scrapeable, the warehouse reachable and the config accepted; red spans are ' +
          'outages, each coloured by the condition of its alert. Line them up with check failures above.',
        unit: units.NoUnit,
        w: 24,
        h: 6,
        queries: [
          { expr: `up{${exporterSeries()}}`, legend: 'exporter {{instance}}' },
          { expr: `mlwatch_warehouse_up{${BY_INSTANCE}}`, legend: 'warehouse {{instance}}' },
          { expr: `mlwatch_config_last_reload_successful{${BY_INSTANCE}}`, legend: 'config {{instance}}' },
        ],
        thresholds: alertSteps(exporterDown),
        overrides: { B: alertSteps(warehouse), C: alertSteps(reload) },
        mappings: okMapping('up', 'down'),
        runbooks: [exporterDown.alert, warehouse.alert, reload.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Scrape duration',
        description:
          "How long Prometheus' scrape of the exporter took. /metrics serves a cache, so this stays in " +
          'milliseconds; growth means many series (a query returning too many rows) or a starved process.',
        unit: units.Seconds,
        w: 8,
        h: 8,
        queries: [{ expr: `scrape_duration_seconds{${exporterSeries()}}`, legend: '{{instance}}' }],
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Memory',
        description:
          'Resident memory of the exporter process. It holds the last samples of every check: steady growth ' +
          'means a check exports ever more series (unbounded labels); fix the query.',
        unit: units.BytesIEC,
        w: 8,
        h: 8,
        queries: [{ expr: `process_resident_memory_bytes{${exporterSeries()}}`, legend: '{{instance}}' }],
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'CPU',
        description:
          'CPU used by the exporter process, as a share of one core. The work happens in the warehouse, so ' +
          'this stays low; a busy exporter points at huge results being converted.',
        unit: units.PercentUnit,
        w: 8,
        h: 8,
        queries: [
          {
            expr: `rate(process_cpu_seconds_total{${exporterSeries()}}[$__rate_interval])`,
            legend: '{{instance}}',
          },
        ],
        min: 0,
      }),
    );
  return finalize(builder.build());
}
