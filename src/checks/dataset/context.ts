import type { Schedule } from '../../config/types.js';
import { type Dialect, postgres } from '../../sql/dialect.js';
import { quoteIdent, quoteQualified } from '../../sql/identifiers.js';
import { defineCheck } from '../define.js';
import type { Check } from '../types.js';

/** What every dataset check kind knows about its dataset, with identifiers already quoted for SQL. */
export interface DatasetContext {
  /** The dataset's name: the `dataset` label of its series. */
  name: string;
  /** As written in config, e.g. public.applications. */
  table: string;
  /** Quoted for SQL: "public"."applications". */
  tableSql: string;
  /** Quoted timestamp column. */
  timestampSql: string;
  /** The table's schema (undefined: the search path's current_schema()) and bare name, for information_schema. */
  schemaName: string | undefined;
  tableName: string;
  schedule: Schedule;
  timeoutMs: number;
  /** The warehouse's dialect, handed to every statement builder of the dataset's kinds. */
  dialect: Dialect;
}

export function datasetContext(
  entry: { name: string; table: string; timestamp: string },
  schedule: Schedule,
  timeoutMs: number,
  dialect: Dialect = postgres,
): DatasetContext {
  const tableSql = quoteQualified(entry.table);
  // information_schema wants the parts unquoted; quoteQualified has validated the shape already.
  const parts = tableSql.split('.').map((p) => p.slice(1, -1).replace(/""/g, '"'));
  const tableName = parts[parts.length - 1] as string;
  const schemaName = parts.length >= 2 ? parts[parts.length - 2] : undefined;
  return {
    name: entry.name,
    table: entry.table,
    tableSql,
    timestampSql: quoteIdent(entry.timestamp),
    schemaName,
    tableName,
    schedule,
    timeoutMs,
    dialect,
  };
}

/**
 * The Check every dataset kind builds: id `dataset:<name>:<part>`, the dataset's schedule and timeout, and a
 * fingerprint of the dataset and the kind's spec (a reload keeps cached samples while both are unchanged).
 */
export function datasetCheck(ds: DatasetContext, part: string, spec: unknown, run: Check['run']): Check {
  return defineCheck({
    id: `dataset:${ds.name}:${part}`,
    kind: `dataset_${part}`,
    schedule: ds.schedule,
    timeoutMs: ds.timeoutMs,
    definition: [ds, spec],
    run,
  });
}
