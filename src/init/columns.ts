import type { CatalogColumn, CatalogTable } from './catalog.js';

/**
 * What a column looks like to `mlwatch init`: its kind from the catalog type, its role from its name. Names
 * decide only between columns of the right type; the type alone never makes a column a score or a label.
 */

const TIMESTAMP_TYPES = new Set(['timestamp with time zone', 'timestamp without time zone']);
const NUMERIC_TYPES = new Set([
  'double precision',
  'real',
  'numeric',
  'decimal',
  'integer',
  'bigint',
  'smallint',
]);
const INTEGER_TYPES = new Set(['integer', 'bigint', 'smallint']);
const TEXT_TYPES = new Set(['text', 'character varying', 'character', 'USER-DEFINED']);

// Checks' windows compare the column with now(): a date has no time of day, so only timestamps qualify.
export const isTimestamp = (c: CatalogColumn) => TIMESTAMP_TYPES.has(c.type);
export const isNumeric = (c: CatalogColumn) => NUMERIC_TYPES.has(c.type);
export const isInteger = (c: CatalogColumn) => INTEGER_TYPES.has(c.type);
export const isBoolean = (c: CatalogColumn) => c.type === 'boolean';
/** Text, or an enum (USER-DEFINED): what a class name or a job name is stored as. */
export const isText = (c: CatalogColumn) => TEXT_TYPES.has(c.type);

/** `id`, `key`, `*_id`, `*_key`: a column that identifies a row or what it is about. */
export const isKeyName = (name: string) => /^(id|key|uuid)$|_(id|key|uuid)$/i.test(name);

export const timestamps = (t: CatalogTable) => t.columns.filter(isTimestamp);

/**
 * The timestamp column a table is watched by: the first of `preferred` it has, else the first that ends like
 * a time (`_at`, `_time`, `_ts`), else its first timestamp column. Undefined without one.
 */
export function pickTimestamp(t: CatalogTable, preferred: readonly string[]): string | undefined {
  const all = timestamps(t).map((c) => c.name);
  const lower = new Map(all.map((n) => [n.toLowerCase(), n]));
  for (const p of preferred) {
    const hit = lower.get(p);
    if (hit !== undefined) return hit;
  }
  return all.find((n) => /(_at|_time|_ts|timestamp)$/i.test(n)) ?? all[0];
}

/** When a row arrived, for a table watched as a dataset: load times before event times. */
export const DATASET_TIMES = [
  'ingested_at',
  'loaded_at',
  'inserted_at',
  'created_at',
  'event_time',
  'event_at',
  'occurred_at',
  'timestamp',
  'ts',
  'at',
  'updated_at',
] as const;

/** The columns of `t` whose name matches `test` (and `filter`, when given). */
export function named(t: CatalogTable, test: RegExp, filter: (c: CatalogColumn) => boolean = () => true) {
  return t.columns.filter((c) => test.test(c.name) && filter(c));
}

/** `schema.table` as mlwatch.yaml names a table: a part holding a dot or a quote is double-quoted. */
export function tableRef(t: { schema: string; name: string }): string {
  const part = (p: string) => (/[."]/.test(p) ? `"${p.replace(/"/g, '""')}"` : p);
  return `${part(t.schema)}.${part(t.name)}`;
}
