import { TableSortByFieldStateBuilder } from '@grafana/grafana-foundation-sdk/common';
import {
  type Dashboard,
  DashboardBuilder,
  MappingType,
  RowBuilder,
  SpecialValueMatch,
  type Threshold,
  type ValueMapping,
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
import { EXPORTER_UID } from './exporter.js';
import { OVERVIEW_UID } from './overview.js';
import { ANY_IS_BAD, stat, table, timeseries } from './panels.js';
import { findAlert, type RuleSet } from './rules.js';
import { scope } from './scope.js';
import {
  ALERT_COLOR,
  type AlertThreshold,
  alertSteps,
  alertThreshold,
  OK_COLOR,
  parseThreshold,
} from './thresholds.js';

/**
 * The datasets mlwatch checks: freshness, volume, NULLs, invalid values, duplicate keys, schema and feature
 * drift, per dataset. Every line and colour comes from the rules of prometheus/rules/data.rules.yml.
 */

export const DATA_QUALITY_UID = 'mlwatch-data-quality';

const SEL = `dataset=~"$dataset",${BY_INSTANCE}`;

/**
 * The datasets of the dashboard, one series each (value 1): those with a volume check, like the variable.
 * Multiplied by NaN it stands in for a check a dataset does not run, which the tables show as "not checked":
 * a 0 there would claim "no duplicates" or "no schema change" about something nobody measured.
 */
const DATASETS = `group by (job, instance, dataset) (mlwatch_dataset_rows{${SEL}})`;
const notCheckedDataset = (expr: string) => `${expr} or on (job, instance, dataset) (${DATASETS} * NaN)`;

const notChecked = (text: string): ValueMapping[] => [
  {
    type: MappingType.SpecialValue,
    options: { match: SpecialValueMatch.NotANumber, result: { text, color: 'transparent', index: 0 } },
  },
];

/** Steps for `> N` on a count: N itself is healthy, N + 1 fires (alertSteps would colour N red). */
function countSteps(t: AlertThreshold): Threshold[] {
  if (t.op !== '>' || !Number.isInteger(t.value)) return alertSteps(t);
  return [
    { value: null, color: OK_COLOR },
    { value: t.value + 1, color: ALERT_COLOR },
  ];
}

/** The minimum-volume guard on the right of `and` in MlwatchFeatureDrift: `<selector> >= N`. */
function volumeGuard(rules: RuleSet, alert: string): AlertThreshold {
  const expr = findAlert(rules, alert).expr;
  let guard: string | undefined;
  parser.parse(expr).iterate({
    enter(node) {
      if (guard !== undefined || node.name !== 'BinaryExpr' || !node.node.getChild('And')) return;
      const right = node.node.lastChild;
      if (right) guard = expr.slice(right.from, right.to);
      return false;
    },
  });
  if (guard === undefined) {
    throw new Error(`alert ${alert}: no \`and <sample rows> >= N\` minimum-volume guard in \`${expr}\``);
  }
  return parseThreshold(`${alert} (volume guard)`, guard);
}

const ANY_IS_PENDING: Threshold[] = [
  { value: null, color: 'green' },
  { value: 1, color: 'orange' },
];

function dataAlertCount(rules: RuleSet, state: 'firing' | 'pending') {
  const firing = state === 'firing';
  return stat({
    title: `Data alerts ${state}`,
    description: countedOnce(
      firing
        ? 'Data-layer alerts firing now for the chosen datasets. 0 is healthy; otherwise the red annotations on ' +
            'the graphs mark when they started, Alertmanager lists them, and each alert links its runbook (also ' +
            "in this dashboard's header). A stale dataset holds back its other data alerts: fix freshness first."
        : 'Data-layer alerts whose condition holds but whose `for` has not passed yet: what will open a ticket ' +
            'or page next if nothing changes. A count that lingers deserves a look at the panels below.',
    ),
    unit: units.Short,
    w: 6,
    h: 4,
    queries: [{ expr: countAlerts(rules, 'data', state, SEL) }],
    replicas: 'merged',
    thresholds: firing ? ANY_IS_BAD : ANY_IS_PENDING,
  });
}

export function dataQualityDashboard(rules: RuleSet): Dashboard {
  const stale = alertThreshold(rules, 'MlwatchDatasetStale');
  const volume = alertThreshold(rules, 'MlwatchDatasetVolumeLow');
  const nulls = alertThreshold(rules, 'MlwatchDatasetNullRatioHigh');
  const schema = alertThreshold(rules, 'MlwatchDatasetSchemaChanged');
  const schemaHash = alertThreshold(rules, 'MlwatchDatasetSchemaHashChanged');
  const featureDrift = alertThreshold(rules, 'MlwatchFeatureDrift');
  const datasetDrift = alertThreshold(rules, 'MlwatchDatasetDrift');
  const duplicates = alertThreshold(rules, 'MlwatchDatasetDuplicateKeys');
  const invalid = alertThreshold(rules, 'MlwatchDatasetInvalidValues');
  const guard = volumeGuard(rules, featureDrift.alert);
  const alerts = [stale, volume, nulls, invalid, duplicates, schema, schemaHash, featureDrift, datasetDrift];

  const age = scope(stale.lhs, SEL);
  const pct = (v: number) => `${Math.round(v * 1000) / 10} %`;
  const schemaChange = (change: string) =>
    notCheckedDataset(`sum without (change) (mlwatch_dataset_schema_changes{change="${change}",${SEL}})`);
  const perFeature = (expr: string) =>
    `0 * mlwatch_feature_psi{${SEL}} + on (job, instance, dataset, feature) group_left () ${expr}`;
  const guardSteps: Threshold[] = [
    { value: null, color: 'orange' },
    { value: guard.value, color: OK_COLOR },
  ];

  const builder = new DashboardBuilder('mlwatch data quality')
    .uid(DATA_QUALITY_UID)
    .description(
      'The datasets mlwatch checks in the warehouse: freshness, volume, NULLs, invalid values, duplicate keys, ' +
        'schema and feature drift. Lines and colours follow the data-layer alert rules.',
    )
    .tags(TAGS)
    .time({ from: 'now-24h', to: 'now' })
    .refresh('1m')
    .withVariable(datasourceVariable())
    .withVariable(instanceVariable())
    .withVariable(
      labelVariable(
        'dataset',
        'Dataset',
        `mlwatch_dataset_rows{${BY_INSTANCE}}`,
        'The datasets with a volume check on the chosen exporters (mlwatch_dataset_rows{dataset}).',
      ),
    )
    .annotation(firingAlertsAnnotation('data'))
    .link(dashboardLink('Overview', OVERVIEW_UID))
    .link(dashboardLink('Exporter', EXPORTER_UID));
  for (const a of alerts) builder.link(runbookLink(a.alert));

  builder
    .withRow(new RowBuilder('Alerts and freshness'))
    .withPanel(dataAlertCount(rules, 'firing'))
    .withPanel(dataAlertCount(rules, 'pending'))
    .withPanel(
      stat({
        title: 'Age of the newest row',
        description:
          `How old the newest row of each dataset is now (\`${stale.lhs}\`). Red from ${stale.value} s: ` +
          `${stale.alert} pages after ${stale.for} there. Look at the loading job first; while it fires, the ` +
          "dataset's other data alerts are held back.",
        unit: units.Seconds,
        w: 12,
        h: 4,
        queries: [{ expr: age, legend: '{{dataset}}' }],
        thresholds: alertSteps(stale),
        runbooks: [stale.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Freshness: age of the newest row',
        description:
          "Seconds since the newest row of each dataset, on the warehouse's clock (now() - max of its timestamp " +
          "column at the check's last run, plus the time since that run). A saw-tooth is healthy " +
          `(each batch resets it); a line that keeps climbing is a stuck load. The dashed line is ${stale.alert}'s ` +
          `threshold (${stale.value} s); it pages after ${stale.for} above it. Check the loading job and the ` +
          'warehouse (runbook in the panel menu).',
        unit: units.Seconds,
        w: 12,
        h: 8,
        queries: [{ expr: age, legend: '{{dataset}}' }],
        thresholds: alertSteps(stale),
        thresholdLine: true,
        min: 0,
        runbooks: [stale.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Volume: rows against the baseline',
        description:
          'Rows in the volume window of each dataset (the window label), the same window one period earlier ' +
          `(baseline), and ${volume.value} x the baseline: ${volume.alert} opens a ticket when rows stay below ` +
          `that line, or at zero, for ${volume.for}. A cliff is a lost source or partition, a slope a real ` +
          'change in traffic; break the window down by source in the warehouse (runbook).',
        unit: units.Short,
        w: 12,
        h: 8,
        queries: [
          { expr: scope(volume.lhs, SEL), legend: '{{dataset}} rows ({{window}})' },
          { expr: `mlwatch_dataset_rows_baseline{${SEL}}`, legend: '{{dataset}} baseline ({{window}})' },
          { expr: scope(volume.rhs, SEL), legend: '{{dataset}} alert below' },
        ],
        min: 0,
        runbooks: [volume.alert],
      }),
    )

    .withRow(new RowBuilder('Completeness and validity'))
    .withPanel(
      table({
        title: 'NULL ratio by column',
        description:
          'Share of the rows in the window whose column is NULL, worst first. Red from ' +
          `${pct(nulls.value)}: ${nulls.alert} opens a ticket after ${nulls.for}. Several columns at once ` +
          'point at a broken join or source, one column at its producer. Not shown for an empty window.',
        unit: units.PercentUnit,
        w: 12,
        h: 8,
        labels: ['dataset', 'column', 'window'],
        columns: [
          {
            expr: scope(nulls.lhs, SEL),
            name: 'NULL ratio',
            unit: units.PercentUnit,
            thresholds: alertSteps(nulls),
          },
        ],
        runbooks: [nulls.alert],
      }).sortBy([new TableSortByFieldStateBuilder().displayName('NULL ratio').desc(true)]),
    )
    .withPanel(
      timeseries({
        title: 'NULL ratio over time',
        description:
          `The NULL ratio of each checked column over time; the dashed line is ${nulls.alert}'s threshold ` +
          `(${pct(nulls.value)}). A step up dates the release or load that broke the column: look there first.`,
        unit: units.PercentUnit,
        w: 12,
        h: 8,
        queries: [{ expr: scope(nulls.lhs, SEL), legend: '{{dataset}}.{{column}}' }],
        thresholds: alertSteps(nulls),
        thresholdLine: true,
        min: 0,
        runbooks: [nulls.alert],
      }),
    )
    .withPanel(
      table({
        title: 'Invalid values by column',
        description:
          'Share of the non-NULL values in the window outside the range or set configured under ' +
          `checks.validity, worst first. Red from ${pct(invalid.value)}: ${invalid.alert} opens a ticket after ` +
          `${invalid.for}. Query the offending values (runbook): sentinels, a unit change or a new category. ` +
          '"not checked": the dataset has no validity check.',
        unit: units.PercentUnit,
        w: 12,
        h: 8,
        labels: ['dataset', 'column', 'window'],
        columns: [
          {
            expr: notCheckedDataset(scope(invalid.lhs, SEL)),
            name: 'Invalid',
            unit: units.PercentUnit,
            thresholds: alertSteps(invalid),
            mappings: notChecked('not checked'),
          },
        ],
        runbooks: [invalid.alert],
      }).sortBy([new TableSortByFieldStateBuilder().displayName('Invalid').desc(true)]),
    )
    .withPanel(
      table({
        title: 'Duplicate keys',
        description:
          'Key values (checks.duplicates.key) that occur more than once among the rows of the window. Red ' +
          `from ${duplicates.value + 1}: ${duplicates.alert} opens a ticket after ${duplicates.for}. A load ` +
          'that ran twice shows as a jump in volume too; make the load idempotent (runbook). "not checked": ' +
          'the dataset has no duplicates check.',
        unit: units.Short,
        w: 12,
        h: 8,
        labels: ['dataset', 'window'],
        columns: [
          {
            expr: notCheckedDataset(scope(duplicates.lhs, SEL)),
            name: 'Duplicate keys',
            unit: units.Short,
            thresholds: countSteps(duplicates),
            mappings: notChecked('not checked'),
          },
        ],
        runbooks: [duplicates.alert],
      }),
    )

    .withRow(new RowBuilder('Schema'))
    .withPanel(
      table({
        title: 'Schema hash',
        description:
          "The hash of each table's ordered column names and types (information_schema), as mlwatch read it " +
          `last. A new hash means the table changed (${schemaHash.alert} names the old and new hash for a day); ` +
          'compare its columns with the expected schema (runbook). "not checked": the dataset has no schema check.',
        unit: units.Short,
        w: 12,
        h: 6,
        labels: ['dataset', 'hash'],
        columns: [
          {
            expr: notCheckedDataset(`mlwatch_dataset_schema_info{${SEL}}`),
            name: 'Schema check',
            unit: units.Short,
            mappings: [
              {
                type: MappingType.ValueToText,
                options: { '1': { text: 'checked', index: 0 } },
              },
              ...notChecked('not checked'),
            ],
          },
        ],
        runbooks: [schemaHash.alert, schema.alert],
      }),
    )
    .withPanel(
      table({
        title: 'Schema changes',
        description:
          'Columns that differ from the expected schema (config or lock file), by kind, and how many schema ' +
          `hashes the time range saw (more than 1: the table changed in it). ${schema.alert} opens a ticket ` +
          `after ${schema.for} with any change, and keeps firing until the table or the expected schema is ` +
          'fixed. "not checked": the dataset has no schema check.',
        unit: units.Short,
        w: 12,
        h: 6,
        labels: ['dataset'],
        columns: [
          {
            expr: notCheckedDataset(scope(schema.lhs, SEL)),
            name: 'Columns changed',
            unit: units.Short,
            thresholds: countSteps(schema),
            mappings: notChecked('not checked'),
          },
          { expr: schemaChange('added'), name: 'Added', unit: units.Short, mappings: notChecked('-') },
          { expr: schemaChange('removed'), name: 'Removed', unit: units.Short, mappings: notChecked('-') },
          {
            expr: schemaChange('type_changed'),
            name: 'Type changed',
            unit: units.Short,
            mappings: notChecked('-'),
          },
          {
            expr: notCheckedDataset(
              `count by (job, instance, dataset) (count_over_time(mlwatch_dataset_schema_info{${SEL}}[$__range]))`,
            ),
            name: 'Hashes in range',
            unit: units.Short,
            thresholds: [
              { value: null, color: OK_COLOR },
              { value: 2, color: 'orange' },
            ],
            mappings: notChecked('-'),
          },
        ],
        runbooks: [schema.alert],
      }),
    )

    .withRow(new RowBuilder('Drift'))
    .withPanel(
      timeseries({
        title: 'PSI by feature',
        description:
          'Population stability index of each feature, current window against its reference. Below 0.1 is ' +
          `stable; the dashed line (${featureDrift.value}) is ${featureDrift.alert}'s threshold: it opens a ` +
          `ticket after ${featureDrift.for} above it, when the current window has at least ${guard.value} ` +
          'values (table below). Rule out a data bug (NULLs, invalid values, schema) before a real shift.',
        unit: units.Short,
        w: 12,
        h: 8,
        queries: [{ expr: `mlwatch_feature_psi{${SEL}}`, legend: '{{dataset}}.{{feature}} ({{window}})' }],
        thresholds: alertSteps(featureDrift),
        thresholdLine: true,
        min: 0,
        runbooks: [featureDrift.alert],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Share of features drifting',
        description:
          `Share of each dataset's features with a PSI above ${featureDrift.value} (counting only features ` +
          `with at least ${guard.value} current values). The dashed line is ${datasetDrift.alert}'s threshold ` +
          `(${pct(datasetDrift.value)}): after ${datasetDrift.for} above it, it asks for a retrain. Many ` +
          'features at once is more often a broken load than a changed population: check volume and NULLs.',
        unit: units.PercentUnit,
        w: 12,
        h: 8,
        queries: [{ expr: scope(datasetDrift.lhs, SEL), legend: '{{dataset}}' }],
        thresholds: alertSteps(datasetDrift),
        thresholdLine: true,
        min: 0,
        max: 1,
        runbooks: [datasetDrift.alert],
      }),
    )
    .withPanel(
      table({
        title: 'Drift by feature',
        description:
          'Each feature now, worst PSI first: PSI (red from the alert threshold), Jensen-Shannon distance (0 ' +
          'same, 1 disjoint), Kolmogorov-Smirnov D (numeric features only; "n/a" for categorical ones), and the ' +
          `values each was computed from. An orange current count is below the ${guard.value}-value guard of ` +
          `${featureDrift.alert}: such a feature never alerts, its statistics are noise. A high KS with a low ` +
          'PSI is a shift inside the bins.',
        unit: units.Short,
        w: 24,
        h: 8,
        labels: ['dataset', 'feature', 'window'],
        columns: [
          {
            expr: `mlwatch_feature_psi{${SEL}}`,
            name: 'PSI',
            unit: units.Short,
            thresholds: alertSteps(featureDrift),
          },
          { expr: `mlwatch_feature_js_distance{${SEL}}`, name: 'JS distance', unit: units.Short },
          {
            expr:
              `mlwatch_feature_ks_statistic{${SEL}} ` +
              `or on (job, instance, dataset, feature, window) (mlwatch_feature_psi{${SEL}} * NaN)`,
            name: 'KS statistic',
            unit: units.Short,
            mappings: notChecked('n/a'),
          },
          {
            expr: perFeature(scope(guard.lhs, SEL)),
            name: 'Current values',
            unit: units.Short,
            thresholds: guardSteps,
          },
          {
            expr: perFeature(`mlwatch_feature_sample_rows{sample="reference",${SEL}}`),
            name: 'Reference values',
            unit: units.Short,
          },
        ],
        runbooks: [featureDrift.alert, datasetDrift.alert],
      }).sortBy([new TableSortByFieldStateBuilder().displayName('PSI').desc(true)]),
    );
  return finalize(builder.build());
}
