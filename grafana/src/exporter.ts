import {
  type Dashboard,
  DashboardBuilder,
  MappingType,
  RowBuilder,
  type Threshold,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import * as units from '@grafana/grafana-foundation-sdk/units';
import {
  BY_INSTANCE,
  dashboardLink,
  datasourceVariable,
  finalize,
  firingAlertsAnnotation,
  instanceVariable,
  labelVariable,
  REPLICA_LABELS,
  runbookLink,
  TAGS,
} from './common.js';
import { jobMatcher } from './environment.js';
import { DATASET_MISMATCH, incrementalChecksTable, MODEL_MISMATCH } from './incremental.js';
import { okMapping, stat, stateTimeline, table, timeseries } from './panels.js';
import { findAlert, type RuleSet } from './rules.js';
import { scope } from './scope.js';
import { ALERT_COLOR, type AlertThreshold, alertSteps, alertThreshold, OK_COLOR } from './thresholds.js';

/** mlwatch's own health: are the checks running, on time and succeeding, and can it reach the warehouse. */

export const EXPORTER_UID = 'mlwatch-exporter';

const BY_CHECK = `check=~"$check",${BY_INSTANCE}`;

// The exporters' own series (up, scrape, process), by the scrape job of the bundle config.
const exporterSeries = () => `${jobMatcher()},${BY_INSTANCE}`;

const runnerMapping: ValueMapping[] = [
  {
    type: MappingType.ValueToText,
    options: {
      '1': { text: 'runs it', color: 'blue', index: 0 },
      '0': { text: "serves the runner's", color: 'text', index: 1 },
    },
  },
];

/**
 * How many replicas run each check over time, counted as MlwatchCheckNotShared counts them: 1 is sharing at
 * work (and what a single exporter always shows), 0 a check nobody runs, more a check the warehouse runs once
 * per replica.
 */
function runnersTimeline(notShared: AlertThreshold) {
  if (notShared.op !== '>' || !Number.isInteger(notShared.value)) {
    throw new Error(`alert ${notShared.alert}: expected \`count (...) > N\`, got \`${notShared.expr}\``);
  }
  const runner = `mlwatch_check_runner{${BY_CHECK}}`;
  const steps: Threshold[] = [
    { value: null, color: ALERT_COLOR },
    { value: 1, color: OK_COLOR },
    { value: notShared.value + 1, color: 'orange' },
  ];
  const mappings: ValueMapping[] = [
    {
      type: MappingType.ValueToText,
      options: {
        '0': { text: 'nobody runs it', color: ALERT_COLOR, index: 0 },
        '1': { text: 'one replica runs it', color: OK_COLOR, index: 1 },
      },
    },
    {
      type: MappingType.RangeToText,
      options: {
        from: notShared.value + 1,
        to: null,
        result: { text: 'not shared', color: 'orange', index: 2 },
      },
    },
  ];
  return stateTimeline({
    title: 'Replicas running each check',
    description:
      'How many replicas run each check (mlwatch_check_runner = 1), as ' +
      `${notShared.alert} counts them. Replicas share their checks through the state store: one runs a check and ` +
      'the others serve its result, so the warehouse sees each check once per interval. Green: one replica runs ' +
      'it (a single exporter always shows this). Orange: several run it, so the warehouse runs it once per ' +
      `replica: they cannot share it (the state store out of reach, its lock refused); ${notShared.alert} warns ` +
      `after ${notShared.for}. Red: nobody runs it, as when its runner has just gone and the other has not taken ` +
      'it over yet (within two check intervals); longer, its values go stale.',
    unit: units.NoUnit,
    w: 24,
    h: 8,
    queries: [
      {
        // The `or`: a check whose every replica serves someone else's result has no runner, 0 rather than a gap.
        expr:
          `count without (${REPLICA_LABELS}) (${runner} == 1) ` +
          `or 0 * count without (${REPLICA_LABELS}) (${runner})`,
        legend: '{{check}}',
      },
    ],
    replicas: 'merged',
    thresholds: steps,
    mappings,
    runbooks: [notShared.alert],
  });
}

export function exporterDashboard(rules: RuleSet): Dashboard {
  const exporterDown = alertThreshold(rules, 'MlwatchExporterDown');
  const warehouse = alertThreshold(rules, 'MlwatchWarehouseUnreachable');
  const failing = alertThreshold(rules, 'MlwatchCheckFailing');
  const stale = alertThreshold(rules, 'MlwatchCheckStale');
  const reload = alertThreshold(rules, 'MlwatchConfigReloadFailed');
  const notShared = alertThreshold(rules, 'MlwatchCheckNotShared');
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
    .link(runbookLink(notShared.alert))
    .link(runbookLink(DATASET_MISMATCH))
    .link(runbookLink(MODEL_MISMATCH))

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
        labels: ['check'],
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
        queries: [{ expr: `mlwatch_check_success{${BY_CHECK}}`, legend: '{{check}}' }],
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
          'Failed runs per second, summed over the replicas (each counts the runs it made itself). Any error ' +
          `means a check result is missing for that round; a steady rate soon becomes ${failing.alert}. The ` +
          'exporter landing page shows the last error.',
        unit: units.OpsPerSecond,
        w: 8,
        h: 8,
        queries: [
          {
            expr: `sum without (${REPLICA_LABELS}) (rate(mlwatch_check_errors_total{${BY_CHECK}}[$__rate_interval]))`,
            legend: '{{check}}',
          },
        ],
        replicas: 'merged',
        min: 0,
        runbooks: [failing.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Check overruns',
        description:
          'Runs skipped per second because the previous run of the check was still queued or running, summed ' +
          'over the replicas. ' +
          'Raise the interval, speed the query up, or raise warehouse.pool if many checks queue together.',
        unit: units.OpsPerSecond,
        w: 8,
        h: 8,
        queries: [
          {
            expr: `sum without (${REPLICA_LABELS}) (rate(mlwatch_check_overruns_total{${BY_CHECK}}[$__rate_interval]))`,
            legend: '{{check}}',
          },
        ],
        replicas: 'merged',
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
            // max, not sum: every replica serves the runner's count, which a sum would multiply.
            expr:
              `max by (check, reason) (mlwatch_check_skipped_samples{${BY_CHECK}}) ` +
              `or on (check) max by (check) (0 * mlwatch_check_success{${BY_CHECK}})`,
            legend: '{{check}} {{reason}}',
          },
        ],
        replicas: 'merged',
        min: 0,
      }),
    )

    .withRow(new RowBuilder('Replicas: which one runs each check'))
    .withPanel(runnersTimeline(notShared))
    .withPanel(
      table({
        title: 'Which replica runs each check',
        description:
          'One row per check and replica: whether that replica runs the check itself ("runs it") or serves the ' +
          'result of the replica that does ("serves the runner\'s"), as its last turn at the check decided ' +
          '(mlwatch_check_runner); the runs it made and the results it took from the runner through the state ' +
          'store since it started. Sharing works when each check has one "runs it" row. To move a check off a ' +
          'replica, restart that replica: the other takes its checks over within two check intervals.',
        unit: units.NoUnit,
        w: 12,
        h: 8,
        labels: ['check', 'instance'],
        replicas: 'each',
        columns: [
          {
            expr: `mlwatch_check_runner{${BY_CHECK}}`,
            name: 'Role',
            unit: units.NoUnit,
            mappings: runnerMapping,
          },
          { expr: `mlwatch_check_runs_total{${BY_CHECK}}`, name: 'Own runs', unit: units.Short },
          {
            expr: `mlwatch_check_peer_results_total{${BY_CHECK}}`,
            name: 'Results from the runner',
            unit: units.Short,
          },
        ],
        runbooks: [notShared.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Own runs and results from the runner, per replica',
        description:
          "Per replica, the checks it ran itself and the results it took from another replica's runs instead " +
          "(through the state store), per second. Shared, the replicas' own runs add up to one per check " +
          'interval, and a replica that runs no check only takes results. Every replica running everything ' +
          `and taking nothing means they cannot share (${notShared.alert}); see its runbook.`,
        unit: units.OpsPerSecond,
        w: 12,
        h: 8,
        queries: [
          {
            expr: `sum without (check) (rate(mlwatch_check_runs_total{${BY_CHECK}}[$__rate_interval]))`,
            legend: '{{instance}} own runs',
          },
          {
            expr: `sum without (check) (rate(mlwatch_check_peer_results_total{${BY_CHECK}}[$__rate_interval]))`,
            legend: '{{instance}} results from the runner',
          },
        ],
        replicas: 'each',
        min: 0,
        runbooks: [notShared.alert],
      }),
    )

    .withRow(new RowBuilder('Incremental checks'))
    .withPanel(incrementalChecksTable(rules, BY_CHECK))

    .withRow(new RowBuilder('Exporter and warehouse'))
    .withPanel(
      stat({
        title: 'Exporter up',
        description: `Whether Prometheus could scrape the exporter (up{${jobMatcher()}}). ${exporterDown.alert} fires after ${exporterDown.for} down: check the container and its logs.`,
        unit: units.NoUnit,
        w: 6,
        h: 4,
        replicas: 'each',
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
        replicas: 'each',
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
        replicas: 'each',
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
        replicas: 'each',
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
        replicas: 'each',
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
        replicas: 'each',
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
        replicas: 'each',
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
        replicas: 'each',
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
