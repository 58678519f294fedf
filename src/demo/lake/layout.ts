import { join } from 'node:path';

/**
 * What `mlwatch demo --engine duckdb` writes: each relation of the demo's story as a folder of Parquet files,
 * `<root>/<table>/*.parquet`, split by the table's time column (src/demo/lake/ranges.ts). The folders are flat,
 * not Hive-partitioned: a `day=...` folder would add a `day` column to every view, and the applications
 * dataset's schema check (src/demo/builtin-config.ts) would report it as a column the table does not have.
 * The simulator's own tables (sim_pending_outcomes, the incidents' backups) stay in the simulator.
 */
export const LAKE_TABLES = [
  { name: 'applications', time: 'ingested_at' },
  { name: 'predictions', time: 'predicted_at' },
  { name: 'outcomes', time: 'observed_at' },
  { name: 'decisions', time: 'decided_at' },
  { name: 'requests', time: 'at' },
  { name: 'job_runs', time: 'finished_at' },
  // The risk-tier model's views, written as tables: a check reads files only, and DuckDB cannot hold a view of
  // its own here (the exporter's database takes no CREATE). They are rewritten when a score or label they are
  // computed from changes, like any other row.
  { name: 'risk_tier_predictions', time: 'predicted_at' },
  { name: 'risk_tier_outcomes', time: 'observed_at' },
] as const;

export type LakeTable = (typeof LAKE_TABLES)[number];

/** The schema the exporter's DuckDB puts the views in (src/warehouse/duckdb.ts): the config names files.<table>. */
export const LAKE_SCHEMA = 'files';

export const tableDir = (root: string, t: LakeTable) => join(root, t.name);

/** warehouse.files of the demo's config: one source per table, a glob over its folder. */
export function lakeSources(root: string): Record<string, { parquet: string }> {
  return Object.fromEntries(
    LAKE_TABLES.map((t) => [t.name, { parquet: join(tableDir(root, t), '*.parquet') }]),
  );
}

/**
 * The demo's built-in config (`demoConfig` with schema `files`) made to read the lake: DuckDB in memory over
 * the files, and a state store, which a read-only DuckDB cannot hold (the config requires state.url). The URL
 * says what it is, an embedded PGlite in memory; the demo hands the exporter its own instance, the one the
 * simulator runs in, as the PGlite demo does.
 */
export function lakeConfig(config: Record<string, unknown>, root: string): Record<string, unknown> {
  const warehouse = config.warehouse as Record<string, unknown>;
  const state = config.state as Record<string, unknown>;
  return {
    ...config,
    warehouse: { ...warehouse, url: 'duckdb:memory', files: lakeSources(root) },
    state: { url: 'pglite:memory', ...state },
  };
}
