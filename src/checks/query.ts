import { z } from 'zod';
import { LABEL_NAME, METRIC_NAME, uniqueNames } from '../config/types.js';
import { RESERVED_PREFIXES } from '../metrics/family.js';
import type { FamilyDef, Sample } from '../metrics/types.js';
import { scheduleOf, subjectEntry } from './config-fields.js';
import { defineCheck } from './define.js';
import type { BuildContext, Check, CheckResult } from './types.js';
import { toLabelValue, toSampleValue, ValueError } from './values.js';

/**
 * Custom SQL metrics, the sql_exporter use case: the user's statement runs read-only; each row becomes
 * one series per value column, labelled by the label columns. A NULL value skips the series and is
 * counted as skipped, so a half-empty result is visible instead of silently short.
 */

const columnName = z
  .string({ error: 'expected a column name' })
  .min(1, { error: 'a column name cannot be empty' });

const metricSpec = z
  .strictObject({
    name: z
      .string({ error: 'expected a metric name' })
      .regex(METRIC_NAME, {
        error: 'a metric name uses a-z, A-Z, 0-9, _ and :, and does not start with a digit',
      })
      .refine((n) => !RESERVED_PREFIXES.some((p) => n.startsWith(p)), {
        error: `metric names starting with ${RESERVED_PREFIXES.join(', ')} are reserved for built-in metrics; pick another prefix`,
      }),
    help: z.string({ error: 'expected a help text' }).min(1, { error: 'say what the metric measures' }),
    type: z.enum(['gauge', 'counter'], { error: "expected 'gauge' or 'counter'" }).default('gauge'),
    labels: z
      .array(
        columnName.regex(LABEL_NAME, {
          error: 'a label column name must be a valid label name: a-z, 0-9, _',
        }),
        { error: 'expected a list of label column names' },
      )
      .default([]),
    value: columnName.optional(),
    values: z.array(columnName, { error: 'expected a list of value column names' }).min(1).optional(),
    value_label: z
      .string()
      .regex(LABEL_NAME, { error: 'value_label must be a valid label name: a-z, 0-9, _' })
      .optional(),
  })
  .superRefine((m, ctx) => {
    if (m.type === 'counter' && !m.name.endsWith('_total')) {
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: `a counter's name ends in _total: ${m.name}_total`,
      });
    }
    if (m.type === 'gauge' && m.name.endsWith('_total')) {
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: '_total is for counters; drop the suffix or set type: counter',
      });
    }
    if ((m.value === undefined) === (m.values === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'give exactly one of value (one column) or values (several)',
      });
    }
    if (m.values && m.values.length > 1 && !m.value_label) {
      ctx.addIssue({
        code: 'custom',
        path: ['value_label'],
        message: 'several value columns need value_label: the label that tells their series apart',
      });
    }
    const seen = new Set<string>();
    m.labels.forEach((l, i) => {
      if (seen.has(l))
        ctx.addIssue({ code: 'custom', path: ['labels', i], message: `label '${l}' is listed twice` });
      if (l.startsWith('__')) {
        ctx.addIssue({
          code: 'custom',
          path: ['labels', i],
          message: 'label names starting with __ are reserved',
        });
      }
      seen.add(l);
    });
    for (const v of m.values ?? (m.value ? [m.value] : [])) {
      if (seen.has(v))
        ctx.addIssue({ code: 'custom', path: [], message: `column '${v}' is both a label and a value` });
    }
    if (m.value_label && seen.has(m.value_label)) {
      ctx.addIssue({
        code: 'custom',
        path: ['value_label'],
        message: `'${m.value_label}' is already a label column`,
      });
    }
  });

// The read-only transaction is the real guard; this one turns the obvious mistakes into a config error, and
// keeps transaction control (COMMIT, SET TRANSACTION ...) out of a check's statement.
const READS = /^(select|with|values|table)\b/i;

/** Whether a statement starts (after comments) like a read; KPI statements use the same guard. */
export function isReadStatement(sql: string): boolean {
  return READS.test(stripLeadingComments(sql));
}

function stripLeadingComments(sql: string): string {
  let rest = sql.trimStart();
  for (;;) {
    if (rest.startsWith('--'))
      rest = rest.slice(rest.indexOf('\n') === -1 ? rest.length : rest.indexOf('\n')).trimStart();
    else if (rest.startsWith('/*'))
      rest = rest.slice(rest.indexOf('*/') === -1 ? rest.length : rest.indexOf('*/') + 2).trimStart();
    else return rest;
  }
}

export const queryEntry = subjectEntry('query', {
  sql: z
    .string({ error: 'expected the SQL statement as a string' })
    .min(1, { error: 'the SQL cannot be empty' })
    .refine(isReadStatement, {
      error: 'a query is one SELECT (or WITH ... SELECT, VALUES, TABLE) statement; checks only read',
    }),
  metrics: z
    .array(metricSpec, { error: 'expected a list of metrics the query produces' })
    .min(1, { error: 'a query needs at least one metric' }),
});

export type QueryEntry = z.output<typeof queryEntry>;
type MetricSpec = z.output<typeof metricSpec>;

/** Checks across all queries: names are unique, and so are metric names. */
export function validateQueries(entries: QueryEntry[], ctx: z.RefinementCtx): void {
  uniqueNames(entries, 'queries', 'query', ctx);
  const metrics = new Map<string, number>();
  entries.forEach((q, i) => {
    q.metrics.forEach((m, j) => {
      const owner = metrics.get(m.name);
      if (owner !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'metrics', j, 'name'],
          message: `metric '${m.name}' is already produced by queries[${owner}]; one query owns a metric`,
        });
      } else metrics.set(m.name, i);
    });
  });
}

function valueColumns(m: MetricSpec): string[] {
  return m.values ?? [m.value as string];
}

function familyOf(m: MetricSpec): FamilyDef {
  const extra = m.values && m.values.length > 1 && m.value_label ? [m.value_label] : [];
  return { name: m.name, type: m.type, help: m.help, labels: [...m.labels, ...extra] };
}

function rowsToSamples(metrics: MetricSpec[], rows: Record<string, unknown>[]): CheckResult {
  const samples: Sample[] = [];
  let nulls = 0;
  let nans = 0;
  const columns = rows[0] ? Object.keys(rows[0]) : [];
  for (const m of metrics) {
    for (const col of [...m.labels, ...valueColumns(m)]) {
      if (rows.length > 0 && !columns.includes(col)) {
        throw new ValueError(
          `metric ${m.name}: the query returned no column '${col}' (it returned: ${columns.join(', ')})`,
        );
      }
    }
    const seen = new Set<string>();
    for (const row of rows) {
      const base: Record<string, string> = {};
      for (const l of m.labels) base[l] = toLabelValue(row[l]);
      for (const col of valueColumns(m)) {
        const labels =
          m.values && m.values.length > 1 && m.value_label ? { ...base, [m.value_label]: col } : base;
        // Label names are fixed per metric, so the values alone (NUL-separated) identify a series.
        const key = Object.values(labels).join('\u0000');
        if (seen.has(key)) {
          throw new ValueError(
            `metric ${m.name}: two rows have the same labels ${JSON.stringify(labels)}; add a label column or aggregate in SQL`,
          );
        }
        seen.add(key);
        const value = toSampleValue(row[col], col);
        if (value === null) nulls++;
        else if (Number.isNaN(value)) nans++;
        else samples.push({ name: m.name, labels, value });
      }
    }
  }
  const skipped: Record<string, number> = {};
  if (nulls) skipped.null_value = nulls;
  if (nans) skipped.not_a_number = nans;
  return { samples, skipped };
}

export function buildQueryCheck(q: QueryEntry, ctx: BuildContext): Check {
  const schedule = scheduleOf(q, ctx.defaultIntervalMs);
  const timeoutMs = q.timeout ?? ctx.defaultTimeoutMs;
  return defineCheck({
    id: `query:${q.name}`,
    kind: 'query',
    schedule,
    timeoutMs,
    families: q.metrics.map(familyOf),
    definition: q,
    run: async (db) => rowsToSamples(q.metrics, await db.query(q.sql)),
  });
}
