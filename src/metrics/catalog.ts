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
