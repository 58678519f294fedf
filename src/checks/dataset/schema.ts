import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { Sample } from '../../metrics/types.js';
import type { Queryable } from '../../warehouse/types.js';
import type { Check } from '../types.js';
import { requireColumns } from './columns.js';
import { type DatasetContext, datasetCheck } from './context.js';
import { datasetFamilies } from './families.js';
import { LOCK_FILE_NAME, type LockedColumn, lockedDataset, readSchemaLock } from './schema-lock.js';

/**
 * The table's columns from information_schema: `mlwatch_dataset_schema_info{hash}` always, and
 * `mlwatch_dataset_schema_changes{change}` (added, removed, type_changed) when there is an expectation, from
 * the config (`expect`) or a schema lock file (`lock`). Reads catalog metadata only, never rows.
 *
 * Every schema check also remembers its last hash between runs and exports the changes it has seen:
 * `mlwatch_dataset_schema_hash_changes_total` and `mlwatch_dataset_schema_change_info{previous_hash, hash}`
 * (docs/schema-lock.md, "Hash changes"). A reordered table, or one with `schema: {}`, changes no column
 * against an expectation but does change the hash.
 */

const typeName = z
  .string({ error: 'expected a type name as Postgres reports it, e.g. bigint, numeric, text' })
  .min(1, { error: 'expected a type name as Postgres reports it, e.g. bigint, numeric, text' });

export const schemaSpec = z
  .strictObject({
    expect: z
      .record(z.string().min(1), typeName, {
        error: 'expected a mapping of column name to type, e.g. { id: bigint, income: numeric }',
      })
      .refine((m) => Object.keys(m).length > 0, { error: 'list at least one column: name: type' })
      .optional(),
    lock: z
      .union([z.literal(true), z.string().min(1)], {
        error: `expected the path of a schema lock file, or true for ${LOCK_FILE_NAME} next to the config file`,
      })
      .optional(),
  })
  .superRefine((s, ctx) => {
    if (s.expect !== undefined && s.lock !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['lock'],
        message:
          'give expect or lock, not both: expect lists the columns in the config, lock reads them from a schema lock file',
      });
    }
  });

export type SchemaSpec = z.output<typeof schemaSpec>;

export type Column = LockedColumn;

export type SchemaChange = 'added' | 'removed' | 'type_changed';
export const SCHEMA_CHANGES: readonly SchemaChange[] = ['added', 'removed', 'type_changed'];

// Spellings Postgres accepts in DDL, mapped to what information_schema.columns.data_type reports.
const TYPE_ALIASES = new Map<string, string>(
  Object.entries({
    int: 'integer',
    int4: 'integer',
    integer: 'integer',
    serial: 'integer',
    serial4: 'integer',
    int8: 'bigint',
    bigint: 'bigint',
    bigserial: 'bigint',
    serial8: 'bigint',
    int2: 'smallint',
    smallint: 'smallint',
    smallserial: 'smallint',
    serial2: 'smallint',
    float8: 'double precision',
    double: 'double precision',
    'double precision': 'double precision',
    float: 'double precision',
    float4: 'real',
    real: 'real',
    varchar: 'character varying',
    'character varying': 'character varying',
    char: 'character',
    character: 'character',
    bpchar: 'character',
    timestamptz: 'timestamp with time zone',
    'timestamp with time zone': 'timestamp with time zone',
    timestamp: 'timestamp without time zone',
    'timestamp without time zone': 'timestamp without time zone',
    timetz: 'time with time zone',
    'time with time zone': 'time with time zone',
    time: 'time without time zone',
    'time without time zone': 'time without time zone',
    bool: 'boolean',
    boolean: 'boolean',
    decimal: 'numeric',
    numeric: 'numeric',
    text: 'text',
  }),
);

/**
 * A type as written in config or a lock file, in the spelling information_schema reports: `int8` -> bigint,
 * `varchar(20)` -> character varying (modifiers are not compared), `int[]` -> integer[]. Names it does not
 * know (uuid, jsonb, an enum) are kept as written: they are compared exactly.
 */
export function normalizeType(type: string): string {
  const t = type.trim();
  if (t.endsWith('[]')) return `${normalizeType(t.slice(0, -2))}[]`;
  const key = t
    .toLowerCase()
    .replace(/\s*\([^)]*\)/g, '')
    .replace(/\s+/g, ' ');
  return TYPE_ALIASES.get(key) ?? t;
}

/** One row of information_schema.columns as a type name: data_type; udt_name for enums etc.; `elem[]` for arrays. */
export function columnType(dataType: string, udtName: string): string {
  if (dataType === 'USER-DEFINED') return udtName;
  // information_schema says only ARRAY; the element type is the udt name without its leading underscore.
  if (dataType === 'ARRAY') return `${normalizeType(udtName.replace(/^_/, ''))}[]`;
  return dataType;
}

/** First 12 hex characters of sha256 over the `name:type` lines, in column order, joined by newlines. */
export function schemaHash(columns: readonly Column[]): string {
  const text = columns.map((c) => `${c.name}:${c.type}`).join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** The table's columns in order, with their types as the schema hash spells them. */
export async function readTableColumns(q: Queryable, ds: DatasetContext): Promise<Column[]> {
  return (await requireColumns(q, ds)).map((c) => ({
    name: c.name,
    type: columnType(c.dataType, c.udtName),
  }));
}

/** Columns (case-sensitive names) that differ between the table and the expectation. */
export function compareSchema(
  actual: readonly Column[],
  expected: readonly Column[],
): Record<SchemaChange, string[]> {
  const want = new Map(expected.map((c) => [c.name, normalizeType(c.type)]));
  const have = new Set(actual.map((c) => c.name));
  const out: Record<SchemaChange, string[]> = { added: [], removed: [], type_changed: [] };
  for (const c of actual) {
    const type = want.get(c.name);
    if (type === undefined) out.added.push(c.name);
    else if (type !== normalizeType(c.type)) out.type_changed.push(c.name);
  }
  for (const c of expected) if (!have.has(c.name)) out.removed.push(c.name);
  return out;
}

/**
 * `baseDir` resolves a relative `lock` path (the config file's folder; the working directory when absent);
 * `configFile` only words the "run mlwatch schema lock --config ..." hint.
 */
export function buildSchemaCheck(
  ds: DatasetContext,
  spec: SchemaSpec,
  baseDir?: string,
  configFile?: string,
): Check[] {
  const lock = lockTarget(spec, baseDir);
  const expected: Column[] | undefined = spec.expect
    ? Object.entries(spec.expect).map(([name, type]) => ({ name, type: normalizeType(type) }))
    : undefined;
  const dataset = ds.name;
  // The hash of the last successful run and the latest change seen, kept in this check object between runs
  // (and handed to its successor over a reload, adopt below). In memory on purpose: checks never write, and
  // a process that starts has no previous hash, so a restart is not reported as a change. The price: a change
  // made while no exporter ran is not seen as one (an `expect` or lock still reports the columns).
  const memory: HashMemory = { changes: 0 };
  const check = datasetCheck(ds, 'schema', [spec, lock?.path], async (q) => {
    const columns = await readTableColumns(q, ds);
    // The lock file is read on every run, so a new lock takes effect without a reload.
    const against = lock
      ? lockedDataset(await readSchemaLock(lock.path, lock.display, configFile), ds, lock.display, configFile)
          .columns
      : expected;
    const hash = schemaHash(columns);
    if (memory.hash !== undefined && memory.hash !== hash) {
      memory.changes++;
      memory.previous = memory.hash;
    }
    memory.hash = hash;
    const samples: Sample[] = [
      { name: datasetFamilies.datasetSchemaInfo.name, labels: { dataset, hash }, value: 1 },
      // Always exported (0 from the first run), so Prometheus has the counter's start: increase() then sees
      // the first change, and a restart (back to 0) is a counter reset, not an increase.
      { name: datasetFamilies.datasetSchemaHashChanges.name, labels: { dataset }, value: memory.changes },
    ];
    if (memory.previous !== undefined) {
      // Only the latest change: one series per dataset, however often the table changes.
      samples.push({
        name: datasetFamilies.datasetSchemaChangeInfo.name,
        labels: { dataset, previous_hash: memory.previous, hash },
        value: 1,
      });
    }
    if (against) {
      const changes = compareSchema(columns, against);
      for (const change of SCHEMA_CHANGES) {
        samples.push({
          name: datasetFamilies.datasetSchemaChanges.name,
          labels: { dataset, change },
          value: changes[change].length,
        });
      }
    }
    return { samples, skipped: {} };
  });
  const remembering: SchemaCheck = {
    ...check,
    schemaMemory: memory,
    adopt(previous: Check) {
      const before = (previous as Partial<SchemaCheck>).schemaMemory;
      if (before) Object.assign(memory, before);
    },
  };
  return [remembering];
}

/** What a schema check remembers between runs: the last hash, and the hash changes it has seen. */
interface HashMemory {
  hash?: string;
  /** Hash changes seen since the check was built (and by the checks it adopted). */
  changes: number;
  /** The hash before the latest change. */
  previous?: string;
}

interface SchemaCheck extends Check {
  schemaMemory: HashMemory;
}

/** Where a spec's lock file is: `display` as written in config, `path` resolved. */
export function lockTarget(
  spec: SchemaSpec,
  baseDir?: string,
): { path: string; display: string } | undefined {
  if (spec.lock === undefined) return undefined;
  const display = spec.lock === true ? LOCK_FILE_NAME : spec.lock;
  const path = isAbsolute(display) ? display : resolve(baseDir ?? process.cwd(), display);
  return { path, display };
}
