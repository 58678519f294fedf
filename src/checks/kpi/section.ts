import { z } from 'zod';
import { duration, scheduleFields, subjectName, uniqueNames, window } from '../../config/types.js';
import { quoteQualified } from '../../sql/identifiers.js';
import type { Queryable } from '../../warehouse/types.js';
import { isReadStatement } from '../query.js';
import { fingerprintOf } from '../result.js';
import type { BuildContext, Check } from '../types.js';
import { type Measure, periodsOf } from './periods.js';
import { ratioStatement, runRatio } from './ratio.js';
import { kpiSamples } from './samples.js';
import { boundsStatement, runSql } from './sql.js';

/**
 * The `kpis` section: a business KPI per entry, as the operator's SQL over a window ($1 start, $2 end) or
 * as the declarative `ratio` shorthand, measured for each window now and one `baseline` period earlier.
 * One check per KPI (id `kpi:<name>`), all of its statements in one read-only transaction.
 */

const DAY = 86_400_000;

// A parameter reference in a ratio expression would bind to the check's own interval parameters.
const PARAM = /\$\d/;

const expression = (what: string, example: string) =>
  z
    .string({ error: `expected the ${what} as a boolean SQL expression, e.g. ${example}` })
    .trim()
    .min(1, { error: `the ${what} cannot be empty; write a boolean SQL expression, e.g. ${example}` })
    .refine((e) => !PARAM.test(e), {
      error: `the ${what} is an expression over the table's columns, e.g. ${example}; it cannot use parameters like $1`,
    });

const ratio = z.strictObject({
  table: z.string({ error: 'expected a table name like schema.table' }).superRefine((t, ctx) => {
    try {
      quoteQualified(t);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  }),
  timestamp: z.string({ error: 'expected the name of the timestamp column' }).min(1),
  numerator: expression('numerator', 'approved'),
  filter: expression('filter', "channel = 'web'").optional(),
});

export const kpiEntry = z
  .strictObject({
    name: subjectName('KPI'),
    sql: z
      .string({ error: 'expected the SQL statement as a string' })
      .min(1, { error: 'the SQL cannot be empty' })
      .refine(isReadStatement, {
        error: 'a KPI statement is one SELECT (or WITH ... SELECT) statement; checks only read',
      })
      .optional(),
    ratio: ratio.optional(),
    windows: z
      .array(window(), { error: 'expected a list of windows like [1d, 1h]' })
      .min(1, { error: 'give at least one window, e.g. [1d]' })
      .default([{ label: '1d', ms: DAY }]),
    baseline: duration('a baseline period').default(7 * DAY),
    dataset: subjectName('dataset').optional(),
    ...scheduleFields,
  })
  .superRefine((k, ctx) => {
    if (k.sql !== undefined && k.ratio !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['ratio'],
        message:
          'give either sql or ratio, not both: ratio is the shorthand for a share of rows, sql for any other KPI',
      });
    }
    if (k.sql === undefined && k.ratio === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message:
          'give sql (one row, the KPI of the window from $1 to $2) or ratio {table, timestamp, numerator}',
      });
    }
    if (k.sql !== undefined) {
      const used = new Set([...k.sql.matchAll(/\$(\d+)/g)].map((m) => m[1]));
      if (!used.has('1') || !used.has('2') || used.size > 2) {
        ctx.addIssue({
          code: 'custom',
          path: ['sql'],
          message:
            'bound the window with $1 (start) and $2 (end), and no other parameter, e.g. WHERE decided_at >= $1 AND decided_at < $2',
        });
      }
    }
    const seen = new Set<string>();
    k.windows.forEach((w, i) => {
      if (seen.has(w.label))
        ctx.addIssue({ code: 'custom', path: ['windows', i], message: `window ${w.label} is listed twice` });
      seen.add(w.label);
      if (w.ms > k.baseline) {
        ctx.addIssue({
          code: 'custom',
          path: ['windows', i],
          message: `window ${w.label} is longer than the baseline period, so the current and baseline periods overlap; make baseline at least ${w.label}`,
        });
      }
    });
    if (k.interval !== undefined && k.cron !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give interval or cron, not both' });
    }
  });

export type KpiEntry = z.output<typeof kpiEntry>;

export function validateKpis(entries: KpiEntry[], ctx: z.RefinementCtx): void {
  uniqueNames(entries, 'kpis', 'KPI', ctx);
}

export function buildKpiCheck(k: KpiEntry, ctx: BuildContext): Check {
  const schedule = k.cron !== undefined ? { cron: k.cron } : { everyMs: k.interval ?? ctx.defaultIntervalMs };
  const timeoutMs = k.timeout ?? ctx.defaultTimeoutMs;
  const spans = periodsOf(k.windows, k.baseline);
  // Statements are built once, here; a run only binds and executes them.
  let measure: (q: Queryable) => Promise<Measure[]>;
  if (k.ratio !== undefined) {
    const st = ratioStatement(k.ratio, spans);
    measure = (q) => runRatio(q, st, spans);
  } else {
    const bounds = boundsStatement(spans);
    const sql = k.sql as string;
    measure = (q) => runSql(q, sql, bounds, spans);
  }
  return {
    id: `kpi:${k.name}`,
    kind: 'kpi',
    schedule,
    timeoutMs,
    families: [],
    fingerprint: fingerprintOf(k, schedule, timeoutMs),
    async run(q) {
      return kpiSamples(k.name, k.dataset, await measure(q));
    },
  };
}
