import type { FamilyDef } from './types.js';

/**
 * Every built-in metric family: the only place an mlwatch_ name is defined. Rules, dashboards and
 * docs/metrics.md are checked against this list. Custom query metrics are declared in the user's config.
 */

export type Layer = 'self' | 'data' | 'model' | 'system' | 'business';

export interface CatalogEntry extends FamilyDef {
  layer: Layer;
}

function family(
  layer: Layer,
  name: string,
  type: FamilyDef['type'],
  labels: string[],
  help: string,
): CatalogEntry {
  return { layer, name, type, labels, help };
}

export const catalog = {
  checkSuccess: family(
    'self',
    'mlwatch_check_success',
    'gauge',
    ['check'],
    'Whether the last run of the check succeeded (1) or failed (0). A failed check keeps serving its last good samples.',
  ),
  checkDuration: family(
    'self',
    'mlwatch_check_duration_seconds',
    'gauge',
    ['check'],
    'How long the last run of the check took, in seconds, successful or not.',
  ),
  checkLastSuccess: family(
    'self',
    'mlwatch_check_last_success_timestamp_seconds',
    'gauge',
    ['check'],
    'Unix time of the last successful run of the check. Absent until the check first succeeds.',
  ),
  checkInterval: family(
    'self',
    'mlwatch_check_interval_seconds',
    'gauge',
    ['check'],
    'How often the check is meant to run, in seconds (for a cron schedule: the gap between its next two runs).',
  ),
  checkRuns: family(
    'self',
    'mlwatch_check_runs_total',
    'counter',
    ['check'],
    'Runs of the check, successful or not.',
  ),
  checkErrors: family(
    'self',
    'mlwatch_check_errors_total',
    'counter',
    ['check'],
    'Failed runs of the check.',
  ),
  checkOverruns: family(
    'self',
    'mlwatch_check_overruns_total',
    'counter',
    ['check'],
    'Runs skipped because the previous run of the same check was still queued or running.',
  ),
  checkSkippedSamples: family(
    'self',
    'mlwatch_check_skipped_samples',
    'gauge',
    ['check', 'reason'],
    'Series the last successful run could not export, by reason (null_value: the value was NULL; not_a_number: NaN).',
  ),
  warehouseUp: family(
    'self',
    'mlwatch_warehouse_up',
    'gauge',
    [],
    'Whether the last attempt to reach the warehouse (a check or the health ping) connected (1) or not (0).',
  ),
  buildInfo: family(
    'self',
    'mlwatch_build_info',
    'gauge',
    ['version', 'node_version'],
    'Always 1; the labels say which mlwatch build and Node.js runtime is running.',
  ),
  reloadSuccessful: family(
    'self',
    'mlwatch_config_last_reload_successful',
    'gauge',
    [],
    'Whether the last config (re)load succeeded (1) or was refused (0); a refused config leaves the old one running.',
  ),
  reloadSuccessTimestamp: family(
    'self',
    'mlwatch_config_last_reload_success_timestamp_seconds',
    'gauge',
    [],
    'Unix time of the last successful config load.',
  ),

  // Data layer.
  datasetLastUpdate: family(
    'data',
    'mlwatch_dataset_last_update_timestamp_seconds',
    'gauge',
    ['dataset'],
    "Unix time of the newest row's timestamp: max(timestamp). Age = time() - this. Absent while the table is empty.",
  ),
  datasetRows: family(
    'data',
    'mlwatch_dataset_rows',
    'gauge',
    ['dataset', 'window'],
    'Rows whose timestamp is in [now() - window, now()) on the warehouse clock.',
  ),
  datasetRowsBaseline: family(
    'data',
    'mlwatch_dataset_rows_baseline',
    'gauge',
    ['dataset', 'window'],
    'Rows in the same window one period earlier: [now() - 2 x window, now() - window). Lets a volume drop alert on a fresh Prometheus.',
  ),
  datasetNullRatio: family(
    'data',
    'mlwatch_dataset_null_ratio',
    'gauge',
    ['dataset', 'column', 'window'],
    'Share of rows in the window whose column is NULL (0..1). Not exported for an empty window.',
  ),
  datasetInvalidRatio: family(
    'data',
    'mlwatch_dataset_invalid_ratio',
    'gauge',
    ['dataset', 'column', 'window'],
    'Share of non-NULL values in the window outside the configured min/max or allowed set (0..1). Not exported for an empty window.',
  ),
  datasetDuplicateKeys: family(
    'data',
    'mlwatch_dataset_duplicate_keys',
    'gauge',
    ['dataset', 'window'],
    'Key values (of the configured key columns) that occur more than once among the rows in the window.',
  ),
  datasetSchemaInfo: family(
    'data',
    'mlwatch_dataset_schema_info',
    'gauge',
    ['dataset', 'hash'],
    "Always 1; hash identifies the table's ordered column names and types (information_schema). A new hash is a schema change.",
  ),
  datasetSchemaChanges: family(
    'data',
    'mlwatch_dataset_schema_changes',
    'gauge',
    ['dataset', 'change'],
    'Columns that differ from the expected schema (config or schema lock file), by change: added, removed, type_changed.',
  ),
  featurePsi: family(
    'data',
    'mlwatch_feature_psi',
    'gauge',
    ['dataset', 'feature', 'window'],
    'Population stability index of the feature, current window against the reference bins (proportions floored at 1e-4).',
  ),
  featureJsDistance: family(
    'data',
    'mlwatch_feature_js_distance',
    'gauge',
    ['dataset', 'feature', 'window'],
    'Jensen-Shannon distance (base 2, 0..1) between the current and reference bin proportions.',
  ),
  featureKsStatistic: family(
    'data',
    'mlwatch_feature_ks_statistic',
    'gauge',
    ['dataset', 'feature', 'window'],
    'Two-sample Kolmogorov-Smirnov statistic D (0..1) of a numeric feature, current window against the reference values, exact.',
  ),
  featureSampleRows: family(
    'data',
    'mlwatch_feature_sample_rows',
    'gauge',
    ['dataset', 'feature', 'sample'],
    'Non-NULL values a drift statistic was computed from, by sample: current or reference. Use it as a minimum-volume guard.',
  ),
} as const satisfies Record<string, CatalogEntry>;

export const catalogEntries: readonly CatalogEntry[] = Object.values(catalog);

export const catalogByName: ReadonlyMap<string, CatalogEntry> = new Map(
  catalogEntries.map((e) => [e.name, e]),
);

/** Prefixes a custom query metric may not use: the built-ins' and prom-client's process metrics. */
export const RESERVED_PREFIXES = ['mlwatch_', 'process_', 'nodejs_'];

/**
 * Metrics the bundled rules and dashboards read that others define: Prometheus itself and prom-client's
 * process metrics. The rule and dashboard linters accept these names besides the catalog's.
 */
export const externalMetrics: readonly string[] = [
  'up',
  'ALERTS',
  'ALERTS_FOR_STATE',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'process_start_time_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_heap_size_used_bytes',
];
