import type { RawConfig } from '../config/schema.js';
import { quoteQualified } from '../sql/identifiers.js';

/**
 * The tables a config reads, for `mlwatch doctor`: the role may need SELECT on these and nothing else. Custom
 * queries and KPI `sql` name tables only inside their SQL text, which is not parsed here; doctor says so.
 */

export interface WatchedTable {
  /** As written in config, e.g. public.applications; for messages. */
  written: string;
  /** The schema it names; undefined for a bare name, which the role's search_path resolves. */
  schema: string | undefined;
  table: string;
}

/** Every `table:` of datasets (and their drift references), models, jobs, serving and ratio KPIs. */
export function watchedTables(raw: RawConfig): WatchedTable[] {
  const names = [
    ...raw.datasets.flatMap((d) => [d.table, d.checks.drift?.reference.table]),
    ...raw.models.flatMap((m) => [m.predictions.table, m.labels.table, m.reference?.table]),
    ...raw.jobs.map((j) => j.table),
    ...raw.serving.map((s) => s.table),
    ...raw.kpis.map((k) => k.ratio?.table),
  ].filter((t): t is string => t !== undefined);
  return [...new Set(names)].map(splitTableName);
}

/** How many checks read tables doctor cannot see: custom queries and KPIs with their own `sql`. */
export function opaqueStatements(raw: RawConfig): number {
  return raw.queries.length + raw.kpis.filter((k) => k.sql !== undefined).length;
}

/**
 * `schema.table`, `"My.Schema".t` or `db.schema.table` -> its parts, unquoted. quoteQualified validated the
 * shape when the config loaded; its output is a list of "quoted" parts, which this reads back.
 */
export function splitTableName(written: string): WatchedTable {
  const parts = [...quoteQualified(written).matchAll(/"((?:[^"]|"")*)"/g)].map((m) =>
    (m[1] as string).replace(/""/g, '"'),
  );
  const table = parts[parts.length - 1] as string;
  return { written, schema: parts.length >= 2 ? parts[parts.length - 2] : undefined, table };
}
