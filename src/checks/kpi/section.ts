import { z } from 'zod';
import { subjectName, uniqueNames, type Window, window } from '../../config/types.js';
import type { Queryable } from '../../warehouse/types.js';
import { scheduleOf, subjectEntry, tableName } from '../config-fields.js';
import { defineCheck } from '../define.js';
import { isReadStatement } from '../query.js';
import type { BuildContext, Check } from '../types.js';
import { MAX_BASELINE_WEEKS, windowKpi } from './baseline.js';
import { type Measure, periodsOf, WEEK_MS } from './periods.js';
import { ratioStatement, runRatio } from './ratio.js';
import { kpiSamples } from './samples.js';
import { boundsStatement, runSql } from './sql.js';

/**
 * The `kpis` section: a business KPI per entry, as the operator's SQL over a window ($1 start, $2 end) or
 * as the declarative `ratio` shorthand, measured for each window now and in each of the last `baseline.weeks`
 * weeks (periods.ts, baseline.ts). One check per KPI (id `kpi:<name>`), all of its statements in one
 * read-only transaction.
 */

const MINUTE = 60_000;

/**
 * The default windows: a ladder, so a drop is judged on the window that has just enough rows for it. A step
 * drop d minutes old is seen best by the window about d long (all its rows are after the drop): 30m catches
 * a collapse within half an hour, 1h and 2h a 10 % drop within 2 hours at a few thousand rows an hour, 6h
 * and 1d smaller or slower KPIs (docs/business-layer.md has the detection times). Each window is one more
 * series per metric; the scan reads the widest one, in each baseline week.
 */
export const DEFAULT_WINDOWS: Window[] = [
  { label: '30m', ms: 30 * MINUTE },
  { label: '1h', ms: 60 * MINUTE },
  { label: '2h', ms: 120 * MINUTE },
  { label: '6h', ms: 360 * MINUTE },
  { label: '1d', ms: 1440 * MINUTE },
];

export const DEFAULT_BASELINE_WEEKS = 4;

// `baseline` used to be a duration: the same window one period earlier. One week of history let a
// holiday in that week raise or hide an alert, hence the median of several weeks; the old form is refused
// with the fix rather than read as { weeks: 1 }, which would silently keep the problem.
const OLD_BASELINE =
  'baseline is now the median of the same window in each of the last weeks (a single earlier period let one holiday raise or hide an alert): write baseline: { weeks: 4 } (the default, so you can also leave it out), or { weeks: 1 } to compare with last week only';

const baseline = z.strictObject(
  {
    weeks: z
      .number({
        error: `expected how many earlier weeks the baseline takes the median of, 1 to ${MAX_BASELINE_WEEKS}`,
      })
      .int({ error: `weeks is a whole number of weeks, 1 to ${MAX_BASELINE_WEEKS}` })
      .min(1, { error: `weeks is at least 1 (and at most ${MAX_BASELINE_WEEKS})` })
      // Each week adds a stretch to the scan, and beyond 8 the median gains little (its variance goes as 1/weeks)
      // while two-month-old weeks say less about today.
      .max(MAX_BASELINE_WEEKS, {
        error: `weeks is at most ${MAX_BASELINE_WEEKS}: each week adds a stretch as long as the widest window to every scan, for little more precision`,
      })
      .default(DEFAULT_BASELINE_WEEKS),
  },
  {
    error: (iss) =>
      iss.code === 'invalid_type' && typeof iss.input === 'string'
        ? OLD_BASELINE
        : iss.code === 'invalid_type'
          ? 'expected a mapping like { weeks: 4 }'
          : undefined,
  },
);

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
  table: tableName,
  timestamp: z.string({ error: 'expected the name of the timestamp column' }).min(1),
  numerator: expression('numerator', 'approved'),
  filter: expression('filter', "channel = 'web'").optional(),
});

export const kpiEntry = subjectEntry('KPI', {
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
    .min(1, { error: 'give at least one window, e.g. [1h, 1d]' })
    .default(DEFAULT_WINDOWS),
  baseline: baseline.default({ weeks: DEFAULT_BASELINE_WEEKS }),
  dataset: subjectName('dataset').optional(),
}).superRefine((k, ctx) => {
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
    if (w.ms > WEEK_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['windows', i],
        message: `window ${w.label} is longer than a week, so it overlaps the same window one week earlier (its baseline); use windows of at most 7d`,
      });
    }
  });
});

export type KpiEntry = z.output<typeof kpiEntry>;

export function validateKpis(entries: KpiEntry[], ctx: z.RefinementCtx): void {
  uniqueNames(entries, 'kpis', 'KPI', ctx);
}

export function buildKpiCheck(k: KpiEntry, ctx: BuildContext): Check {
  const schedule = scheduleOf(k, ctx.defaultIntervalMs);
  const timeoutMs = k.timeout ?? ctx.defaultTimeoutMs;
  const spans = periodsOf(k.windows, k.baseline.weeks);
  // Statements are built once, here; a run only binds and executes them.
  let measure: (q: Queryable) => Promise<Measure[]>;
  if (k.ratio !== undefined) {
    const st = ratioStatement(k.ratio, spans, ctx.dialect);
    measure = (q) => runRatio(q, st, spans);
  } else {
    const bounds = boundsStatement(spans, ctx.dialect);
    const sql = k.sql as string;
    measure = (q) => runSql(q, sql, bounds, spans);
  }
  return defineCheck({
    id: `kpi:${k.name}`,
    kind: 'kpi',
    schedule,
    timeoutMs,
    definition: k,
    async run(q) {
      const measures = await measure(q);
      const windows = k.windows.map((w) =>
        windowKpi(
          w,
          measures.filter((m) => m.span.window === w),
        ),
      );
      return kpiSamples(k.name, k.dataset, windows);
    },
  });
}
