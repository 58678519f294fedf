import { actionFamilies } from '../actions/families.js';
import { sections } from '../checks/registry.js';
import type { CatalogEntry } from './family.js';
import { selfFamilies } from './self-families.js';

/**
 * Every built-in metric family, assembled from where each is defined: the exporter's own (self-families.ts),
 * each check section's (its `families` in the registry, declared in the kind's folder) and the actions'. The
 * catalog is the one metric contract: rules, dashboards and docs/metrics.md are checked against it. Custom query
 * metrics are declared in the user's config.
 */
export const catalogEntries: readonly CatalogEntry[] = [
  selfFamilies,
  ...sections.map((s) => s.families),
  actionFamilies,
].flatMap((families) => Object.values(families));

export const catalogByName: ReadonlyMap<string, CatalogEntry> = new Map(
  catalogEntries.map((e) => [e.name, e]),
);

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
  // node_exporter (the system layer's resource rules and dashboard).
  'node_cpu_seconds_total',
  'node_memory_MemAvailable_bytes',
  'node_memory_MemTotal_bytes',
  'node_filesystem_avail_bytes',
  'node_filesystem_size_bytes',
  'node_filesystem_readonly',
];
