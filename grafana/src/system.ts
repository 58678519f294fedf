import {
  type Dashboard,
  DashboardBuilder,
  type DynamicConfigValue,
  RowBuilder,
  type Threshold,
} from '@grafana/grafana-foundation-sdk/dashboard';
import * as units from '@grafana/grafana-foundation-sdk/units';
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
import { jobMatcher } from './environment.js';
import { EXPORTER_UID } from './exporter.js';
import { OVERVIEW_UID } from './overview.js';
import { ANY_IS_BAD, stat, table, timeseries } from './panels.js';
import { findAlert, type PromRule, type RuleSet, recordingRuleNames } from './rules.js';
import { ALERT_COLOR, alertSteps, alertThreshold, OK_COLOR } from './thresholds.js';

/**
 * The system layer: batch jobs against their success objective, serving latency against its objective, and
 * the resources of the machines and of the exporter itself. Every line, factor and guard is read from
 * prometheus/rules/system.rules.yml, so the panels turn red where the alerts fire.
 */

export const SYSTEM_UID = 'mlwatch-system';

const JOB = `job_name=~"$job_name",${BY_INSTANCE}`;
const SERVICE = `service_name=~"$service_name",${BY_INSTANCE}`;
const NODE = 'instance=~"$node"';
// The exporters' own process series, by the scrape job of the bundle config.
const exporterSeries = () => `${jobMatcher()},${BY_INSTANCE}`;

/** One long/short window pair of a burn-rate alert: `<ratio>{window="1h"} > (14.4 * 0.01)`. */
export interface BurnPair {
  severity: string;
  long: string;
  short: string;
  factor: number;
  budget: number;
  /** Minimum volume in the long window. */
  guard: number;
}

/** Every pair of every rule named `alert` (one rule per severity), in rule order. */
export function burnPairs(rules: RuleSet, alert: string, ratio: string, volume: string): BurnPair[] {
  findAlert(rules, alert);
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\:]/g, '\\$&');
  const long = new RegExp(`${esc(ratio)}\\{window="(\\w+)"\\} > \\(([\\d.]+) \\* ([\\d.]+)\\)`, 'g');
  const short = new RegExp(`${esc(ratio)}\\{window="(\\w+)"\\} <= \\(`, 'g');
  const guard = new RegExp(`${esc(volume)}\\{window="\\w+"\\} >= (\\d+)`, 'g');
  const pairs: BurnPair[] = [];
  for (const r of rules.rules.filter((x: PromRule) => x.alert === alert)) {
    const longs = [...r.expr.matchAll(long)];
    const shorts = [...r.expr.matchAll(short)];
    const guards = [...r.expr.matchAll(guard)];
    if (longs.length === 0 || longs.length !== shorts.length || longs.length !== guards.length) {
      throw new Error(
        `alert ${alert}: expected pairs of \`${ratio}{window="<long>"} > (<factor> * <budget>) unless ... ` +
          `${ratio}{window="<short>"} <= (...) and ... ${volume}{window="<long>"} >= <N>\` in \`${r.expr}\``,
      );
    }
    longs.forEach((m, i) => {
      pairs.push({
        severity: r.labels?.severity ?? '',
        long: m[1] as string,
        short: shorts[i]?.[1] as string,
        factor: Number(m[2]),
        budget: Number(m[3]),
        guard: Number(guards[i]?.[1]),
      });
    });
  }
  const budgets = new Set(pairs.map((p) => p.budget));
  if (budgets.size !== 1)
    throw new Error(`alert ${alert}: its pairs use different budgets (${[...budgets]})`);
  return pairs;
}

/** The right side of `<lhs> > on (...) group_left () <series>`: a threshold that is one series per subject. */
function thresholdSeriesOf(rules: RuleSet, alert: string): { lhs: string; series: string; for: string } {
  const rule = findAlert(rules, alert);
  const m = /^([\s\S]+?)\s*>\s*on \([^)]*\) group_left \(\)\s*([\w:]+)/.exec(rule.expr);
  const series = m?.[2];
  if (!m || !series) {
    throw new Error(
      `alert ${alert}: expected \`<metric> > on (...) group_left () <series>\` in \`${rule.expr}\``,
    );
  }
  return { lhs: (m[1] as string).trim(), series, for: rule.for ?? '0s' };
}

/** A number a rule's expression compares with after `label`, e.g. the 0.15 of `... / size_bytes < 0.15`. */
function numberAfter(rules: RuleSet, alert: string, pattern: RegExp): number {
  const expr = findAlert(rules, alert).expr;
  const v = Number(pattern.exec(expr)?.[1]);
  if (Number.isNaN(v)) throw new Error(`alert ${alert}: no ${pattern} in \`${expr}\``);
  return v;
}

/** One query's series drawn as a dashed red line: a threshold that differs per job or service. */
function dashedRed(): DynamicConfigValue[] {
  return [
    { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
    { id: 'custom.fillOpacity', value: 0 },
    { id: 'color', value: { mode: 'fixed', fixedColor: ALERT_COLOR } },
  ];
}

/** Burn-rate colours: below 1 the budget lasts; each pair's factor is a step, red for those that page. */
function burnSteps(pairs: BurnPair[]): Threshold[] {
  const steps: Threshold[] = [{ value: null, color: OK_COLOR }];
  for (const p of [...pairs].sort((a, b) => a.factor - b.factor)) {
    steps.push({ value: p.factor, color: p.severity === 'critical' ? ALERT_COLOR : 'orange' });
  }
  return steps;
}

const describePairs = (pairs: BurnPair[]) =>
  pairs.map((p) => `${p.factor}x over ${p.long} and ${p.short} (${p.severity})`).join(', ');

/** The machines node_exporter reports on: their `instance` label, as the variable `node`. */
function nodeVariable() {
  const definition = 'label_values(node_cpu_seconds_total, instance)';
  return labelVariable(
    'node',
    'Machine',
    'node_cpu_seconds_total',
    'The machines node_exporter reports on (empty without node_exporter).',
  )
    .query({ qryType: 1, query: definition, refId: 'PrometheusVariableQueryEditor-VariableQuery' })
    .definition(definition);
}

function systemAlertCount(rules: RuleSet, state: 'firing' | 'pending') {
  const firing = state === 'firing';
  return stat({
    title: `System alerts ${state}`,
    description: countedOnce(
      firing
        ? 'System-layer alerts firing now: the exporter, batch jobs, serving and resources. 0 is healthy; ' +
            'otherwise the red annotations on the graphs mark when they started, and each alert links its ' +
            "runbook (also in this dashboard's header)."
        : 'System-layer alerts whose condition holds but whose `for` has not passed yet: what will page or open ' +
            'a ticket next if nothing changes.',
    ),
    unit: units.Short,
    w: 4,
    h: 6,
    queries: [{ expr: countAlerts(rules, 'system', state) }],
    replicas: 'merged',
    thresholds: firing
      ? ANY_IS_BAD
      : [
          { value: null, color: 'green' },
          { value: 1, color: 'orange' },
        ],
  });
}

export function systemDashboard(rules: RuleSet): Dashboard {
  const jobBurn = 'MlwatchJobErrorBudgetBurn';
  const jobPairs = burnPairs(
    rules,
    jobBurn,
    'job_name:mlwatch_job_errors:ratio',
    'job_name:mlwatch_job_runs_finished:sum',
  );
  const jobBudget = (jobPairs[0] as BurnPair).budget;
  const jobGuard = Math.min(...jobPairs.map((p) => p.guard));
  const noSuccess = thresholdSeriesOf(rules, 'MlwatchJobNoRecentSuccess');
  const latency = thresholdSeriesOf(rules, 'MlwatchServingLatencyHigh');
  const latencyWindow = /window="(\w+)"/.exec(latency.lhs)?.[1] ?? '5m';
  const slowBurn = 'MlwatchServingSlowRequestsBudgetBurn';
  const slowPairs = burnPairs(rules, slowBurn, 'mlwatch_serving_slow_ratio', 'mlwatch_serving_requests');
  const slowBudget = (slowPairs[0] as BurnPair).budget;
  const cpu = alertThreshold(rules, 'MlwatchNodeCpuSaturated');
  const memory = alertThreshold(rules, 'MlwatchNodeMemoryNearlyFull');
  const diskFree = numberAfter(rules, 'MlwatchNodeDiskFillingUp', /size_bytes < ([\d.]+)/);
  const exporterMemory = alertThreshold(rules, 'MlwatchExporterMemoryGrowing');
  const lag = alertThreshold(rules, 'MlwatchExporterEventLoopLagHigh');
  if (!recordingRuleNames(rules).includes(noSuccess.series)) {
    throw new Error(`MlwatchJobNoRecentSuccess: ${noSuccess.series} is not a recording rule`);
  }
  const alerts = [
    jobBurn,
    'MlwatchJobNoRecentSuccess',
    'MlwatchServingLatencyHigh',
    slowBurn,
    cpu.alert,
    memory.alert,
    'MlwatchNodeDiskFillingUp',
    exporterMemory.alert,
    lag.alert,
  ];
  const pct = (v: number) => `${Math.round(v * 1000) / 10} %`;
  const slo = pct(1 - jobBudget);
  // Filesystems the disk alert watches (the same selector as the rule, narrowed to the chosen machines).
  const fsSelector = /node_filesystem_avail_bytes\{([^}]*)\}/.exec(
    findAlert(rules, 'MlwatchNodeDiskFillingUp').expr,
  )?.[1];
  if (!fsSelector) throw new Error('MlwatchNodeDiskFillingUp: no node_filesystem_avail_bytes{...} selector');
  const FS = `${fsSelector},${NODE}`;

  const builder = new DashboardBuilder('mlwatch system')
    .uid(SYSTEM_UID)
    .description(
      'Batch jobs against their success objective, serving latency against its objective, and the resources ' +
        'of the machines (node_exporter) and of the mlwatch exporter. Lines and colours follow the system-layer ' +
        'alert rules.',
    )
    .tags(TAGS)
    .time({ from: 'now-1d', to: 'now' })
    .refresh('1m')
    .withVariable(datasourceVariable())
    .withVariable(instanceVariable())
    .withVariable(
      labelVariable(
        'job_name',
        'Job',
        `mlwatch_job_runs{${BY_INSTANCE}}`,
        'The batch jobs the chosen exporters watch (config `jobs[]`).',
      ),
    )
    .withVariable(
      labelVariable(
        'service_name',
        'Service',
        `mlwatch_serving_latency_objective_seconds{${BY_INSTANCE}}`,
        'The services whose request logs the chosen exporters read (config `serving[]`).',
      ),
    )
    .withVariable(nodeVariable())
    .annotation(firingAlertsAnnotation('system'))
    .link(dashboardLink('Overview', OVERVIEW_UID))
    .link(dashboardLink('Exporter', EXPORTER_UID));
  for (const a of alerts) builder.link(runbookLink(a));

  builder
    .withRow(new RowBuilder('Batch jobs'))
    .withPanel(systemAlertCount(rules, 'firing'))
    .withPanel(systemAlertCount(rules, 'pending'))
    .withPanel(
      table({
        title: 'Jobs',
        description:
          `Each batch job now: the share of finished runs that succeeded over the last day and 3 days (the ` +
          `objective is ${slo}), the error budget left over 3 days (1 - failed share / ${jobBudget}; below 0 ` +
          'the objective is missed), time since the last success against its cadence line ' +
          `(MlwatchJobNoRecentSuccess), runs in progress, and run durations. A job needs ${jobGuard} finished ` +
          'runs in a window for the burn-rate alerts to judge it; rarer jobs are watched by their cadence only.',
        unit: units.NoUnit,
        w: 16,
        h: 6,
        labels: ['job_name'],
        columns: [
          {
            expr: `1 - job_name:mlwatch_job_errors:ratio{window="1d",${JOB}}`,
            name: 'Success 1d',
            unit: units.PercentUnit,
          },
          {
            expr: `1 - job_name:mlwatch_job_errors:ratio{window="3d",${JOB}}`,
            name: 'Success 3d',
            unit: units.PercentUnit,
          },
          {
            expr: `1 - job_name:mlwatch_job_errors:ratio{window="3d",${JOB}} / ${jobBudget}`,
            name: 'Budget left 3d',
            unit: units.PercentUnit,
            thresholds: [
              { value: null, color: ALERT_COLOR },
              { value: 0, color: 'orange' },
              { value: 0.5, color: OK_COLOR },
            ],
          },
          {
            expr: `time() - mlwatch_job_last_success_timestamp_seconds{${JOB}}`,
            name: 'Since last success',
            unit: units.Seconds,
          },
          {
            // Per instance like the other columns, so the table merges them into one row per job.
            expr:
              `0 * mlwatch_job_last_success_timestamp_seconds{${JOB}} ` +
              `+ on (job_name) group_left () ${noSuccess.series}`,
            name: 'Cadence',
            unit: units.Seconds,
          },
          { expr: `mlwatch_job_runs_in_progress{${JOB}}`, name: 'Running', unit: units.Short },
          {
            expr: `mlwatch_job_duration_seconds{stat="last",${JOB}}`,
            name: 'Last duration',
            unit: units.Seconds,
          },
        ],
        runbooks: [jobBurn, 'MlwatchJobNoRecentSuccess'],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Success ratio by window',
        description:
          `Share of each job's finished runs that succeeded, per window. The dashed line is the objective ` +
          `(${slo}). A dip in short windows only is a bad hour; in long windows too, the budget is going.`,
        unit: units.PercentUnit,
        w: 12,
        h: 8,
        queries: [
          { expr: `1 - job_name:mlwatch_job_errors:ratio{${JOB}}`, legend: '{{job_name}} ({{window}})' },
        ],
        thresholds: [
          { value: null, color: ALERT_COLOR },
          { value: 1 - jobBudget, color: OK_COLOR },
        ],
        thresholdLine: true,
        max: 1,
        runbooks: [jobBurn],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Error budget burn rate',
        description:
          `How many times faster than the objective allows each job spends its error budget (failed share / ` +
          `${jobBudget}) in each long window. 1 spends exactly the budget. ${jobBurn} fires on ` +
          `${describePairs(jobPairs)}, when the short window agrees (or has no finished run) and the long ` +
          `window has at least ${jobGuard} finished runs; the steps are those factors (red pages).`,
        unit: units.NoUnit,
        w: 12,
        h: 8,
        queries: [
          {
            expr: `job_name:mlwatch_job_errors:ratio{window=~"${jobPairs.map((p) => p.long).join('|')}",${JOB}} / ${jobBudget}`,
            legend: '{{job_name}} ({{window}})',
          },
        ],
        thresholds: burnSteps(jobPairs),
        thresholdLine: true,
        min: 0,
        runbooks: [jobBurn],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Finished runs by window',
        description:
          `Finished runs (successes and failures) that started in each window. Below the dashed line ` +
          `(${jobGuard}) a window is too small for ${jobBurn} to judge: one failure would already be 10 % or ` +
          'more. A drop to 0 means the job stopped running: see the time since the last success.',
        unit: units.Short,
        w: 8,
        h: 8,
        queries: [
          { expr: `job_name:mlwatch_job_runs_finished:sum{${JOB}}`, legend: '{{job_name}} ({{window}})' },
        ],
        thresholds: [
          { value: null, color: 'orange' },
          { value: jobGuard, color: OK_COLOR },
        ],
        thresholdLine: true,
        min: 0,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Time since the last success',
        description:
          "Time since each job's last successful run finished; the red dashed lines are each job's cadence " +
          `(\`${noSuccess.series}\`: its line in prometheus/rules/system.rules.yml, or the default). ` +
          `MlwatchJobNoRecentSuccess opens a ticket after ${noSuccess.for} above it. A sawtooth is healthy.`,
        unit: units.Seconds,
        w: 8,
        h: 8,
        queries: [
          { expr: `time() - mlwatch_job_last_success_timestamp_seconds{${JOB}}`, legend: '{{job_name}}' },
          // One series per job already: the rule keeps job_name only, whichever exporter watches the job.
          {
            expr: `${noSuccess.series}{job_name=~"$job_name"}`,
            legend: '{{job_name}}: cadence',
            replicas: 'merged',
          },
        ],
        min: 0,
        runbooks: ['MlwatchJobNoRecentSuccess'],
      }).overrideByQuery('B', dashedRed()),
    )
    .withPanel(
      timeseries({
        title: 'Run duration and runs in progress',
        description:
          'Duration of the last finished run and the 95th percentile of the runs of the last day, and runs ' +
          'started but not finished (right axis). Growing durations come before timeouts and missed ' +
          'schedules; runs in progress that never drop back are hung runs.',
        unit: units.Seconds,
        w: 8,
        h: 8,
        queries: [
          { expr: `mlwatch_job_duration_seconds{${JOB}}`, legend: '{{job_name}} {{stat}}' },
          { expr: `mlwatch_job_runs_in_progress{${JOB}}`, legend: '{{job_name}} in progress' },
        ],
        min: 0,
      }).overrideByQuery('B', [
        { id: 'unit', value: units.Short },
        { id: 'custom.axisPlacement', value: 'right' },
      ]),
    )

    .withRow(new RowBuilder('Serving'))
    .withPanel(
      timeseries({
        title: 'Latency percentiles against the objective',
        description:
          `p50, p95 and p99 latency of each service's requests of the last ${latencyWindow}; the red dashed ` +
          "line is the service's latency objective (config `serving[].objective`, 500 ms by default). " +
          `MlwatchServingLatencyHigh opens a ticket after ${latency.for} of the p95 above it. All percentiles ` +
          'up: the service or its host is slow; only the high ones: some requests are.',
        unit: units.Seconds,
        w: 12,
        h: 8,
        queries: [
          {
            expr: `mlwatch_serving_latency_seconds{window="${latencyWindow}",${SERVICE}}`,
            legend: '{{service_name}} p{{percentile}}',
          },
          { expr: `${latency.series}{${SERVICE}}`, legend: '{{service_name}}: objective' },
        ],
        min: 0,
        runbooks: ['MlwatchServingLatencyHigh'],
      }).overrideByQuery('B', dashedRed()),
    )
    .withPanel(
      timeseries({
        title: 'Slow-request budget burn rate',
        description:
          `Share of requests slower than the objective divided by the budget (${slowBudget}: the objective is ` +
          `that ${pct(1 - slowBudget)} are fast), per long window. ${slowBurn} fires on ` +
          `${describePairs(slowPairs)}, with at least ${Math.min(...slowPairs.map((p) => p.guard))} requests ` +
          'in the long window; the steps are those factors (red pages).',
        unit: units.NoUnit,
        w: 12,
        h: 8,
        queries: [
          {
            expr: `mlwatch_serving_slow_ratio{window=~"${[...new Set(slowPairs.map((p) => p.long))].join('|')}",${SERVICE}} / ${slowBudget}`,
            legend: '{{service_name}} ({{window}})',
          },
        ],
        thresholds: burnSteps(slowPairs),
        thresholdLine: true,
        min: 0,
        runbooks: [slowBurn],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Requests and errors',
        description:
          `Requests logged in the last ${latencyWindow} and those whose status counts as an error (by default ` +
          '5xx). A drop in requests is a traffic or logging problem; errors are not part of the latency ' +
          'objective, so read them here.',
        unit: units.Short,
        w: 24,
        h: 7,
        queries: [
          {
            expr: `mlwatch_serving_requests{window="${latencyWindow}",${SERVICE}}`,
            legend: '{{service_name}} requests',
          },
          {
            expr: `mlwatch_serving_errors{window="${latencyWindow}",${SERVICE}}`,
            legend: '{{service_name}} errors',
          },
        ],
        min: 0,
      }),
    )

    .withRow(new RowBuilder('Resources (node_exporter)'))
    .withPanel(
      timeseries({
        title: 'CPU busy',
        description:
          `Share of all CPUs of each machine not idle over the rate interval. ${cpu.alert} opens a ticket ` +
          `after ${cpu.for} above the dashed line (${pct(cpu.value)}, over 5 minutes). Empty without ` +
          'node_exporter.',
        unit: units.PercentUnit,
        w: 8,
        h: 8,
        replicas: 'each',
        queries: [
          {
            expr: `1 - avg without (cpu, mode) (rate(node_cpu_seconds_total{mode="idle",${NODE}}[$__rate_interval]))`,
            legend: '{{instance}}',
          },
        ],
        thresholds: alertSteps(cpu),
        thresholdLine: true,
        min: 0,
        max: 1,
        runbooks: [cpu.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Memory available',
        description:
          `Share of each machine's memory that can be allocated without swapping. ${memory.alert} opens a ` +
          `ticket after ${memory.for} below the dashed line (${pct(memory.value)}). Empty without node_exporter.`,
        unit: units.PercentUnit,
        w: 8,
        h: 8,
        replicas: 'each',
        queries: [
          {
            expr: `node_memory_MemAvailable_bytes{${NODE}} / node_memory_MemTotal_bytes{${NODE}}`,
            legend: '{{instance}}',
          },
        ],
        thresholds: alertSteps(memory),
        thresholdLine: true,
        min: 0,
        max: 1,
        runbooks: [memory.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Disk free, now and in 4 hours',
        description:
          'Free share of each writable filesystem, and where the trend of the last 6 hours takes it in 4 hours ' +
          `(dotted). MlwatchNodeDiskFillingUp pages when the trend reaches 0 within 4 hours with less than ` +
          `${pct(diskFree)} free (dashed line), for 1 hour. Empty without node_exporter.`,
        unit: units.PercentUnit,
        w: 8,
        h: 8,
        replicas: 'each',
        queries: [
          {
            expr: `node_filesystem_avail_bytes{${FS}} / node_filesystem_size_bytes{${FS}}`,
            legend: '{{instance}} {{mountpoint}}',
          },
          {
            expr: `predict_linear(node_filesystem_avail_bytes{${FS}}[6h], 4 * 3600) / node_filesystem_size_bytes{${FS}}`,
            legend: '{{instance}} {{mountpoint}} in 4h',
          },
        ],
        thresholds: [
          { value: null, color: ALERT_COLOR },
          { value: diskFree, color: OK_COLOR },
        ],
        thresholdLine: true,
        max: 1,
        runbooks: ['MlwatchNodeDiskFillingUp'],
      }).overrideByQuery('B', [
        { id: 'custom.lineStyle', value: { fill: 'dot', dash: [0, 10] } },
        { id: 'custom.fillOpacity', value: 0 },
      ]),
    )

    .withRow(new RowBuilder('Exporter process'))
    .withPanel(
      timeseries({
        title: 'Exporter memory and its 4-hour trend',
        description:
          'Resident memory of each mlwatch exporter, and where the trend of the last hour takes it in 4 hours ' +
          `(dotted). ${exporterMemory.alert} opens a ticket after ${exporterMemory.for} of the trend above the ` +
          'dashed line (1 GiB). It should stay flat at a few hundred MiB: growth is a leak or a query with ' +
          'too many series.',
        unit: units.BytesIEC,
        w: 12,
        h: 8,
        replicas: 'each',
        queries: [
          { expr: `process_resident_memory_bytes{${exporterSeries()}}`, legend: '{{instance}}' },
          {
            expr: `predict_linear(process_resident_memory_bytes{${exporterSeries()}}[1h], 4 * 3600)`,
            legend: '{{instance}} in 4h',
          },
        ],
        thresholds: alertSteps(exporterMemory),
        thresholdLine: true,
        min: 0,
        runbooks: [exporterMemory.alert],
      }).overrideByQuery('B', [
        { id: 'custom.lineStyle', value: { fill: 'dot', dash: [0, 10] } },
        { id: 'custom.fillOpacity', value: 0 },
      ]),
    )
    .withPanel(
      timeseries({
        title: 'Exporter event loop lag (p99)',
        description:
          "99th percentile of the delay of the exporter's event loop. Scrapes and webhooks wait that long. " +
          `${lag.alert} opens a ticket after ${lag.for} above the dashed line (${lag.value * 1000} ms).`,
        unit: units.Seconds,
        w: 12,
        h: 8,
        replicas: 'each',
        queries: [{ expr: `nodejs_eventloop_lag_p99_seconds{${exporterSeries()}}`, legend: '{{instance}}' }],
        thresholds: alertSteps(lag),
        thresholdLine: true,
        min: 0,
        runbooks: [lag.alert],
      }),
    );
  return finalize(builder.build());
}
