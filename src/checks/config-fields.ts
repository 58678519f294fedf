import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { scheduleFields, subjectName, type Window } from '../config/types.js';
import { quoteQualified } from '../sql/identifiers.js';

/** Config fields every section shares: the subject's name and schedule, a table, a column, a list of windows. */

/**
 * A table as config names it. Accepted exactly when the statements can quote it (quoteQualified), so a name the
 * schema lets through never fails later, at build or run time.
 */
export const tableName = z
  .string({ error: 'expected a table name like schema.table' })
  .superRefine((t, ctx) => {
    try {
      quoteQualified(t);
    } catch (e) {
      ctx.addIssue({
        code: 'custom',
        message: `${(e as Error).message} (quote a part with double quotes if it holds a dot)`,
      });
    }
  });

/**
 * One entry of a section: a subject (a dataset, a model, a job...) named in lower_snake_case, with its own
 * `interval` or `cron` (never both) and `timeout`, and the kind's own fields. Refine the result further for rules
 * across the kind's fields.
 */
export function subjectEntry<S extends z.ZodRawShape>(what: string, shape: S) {
  return z.strictObject({ name: subjectName(what), ...shape, ...scheduleFields }).superRefine((entry, ctx) =>
    // The schedule fields are scheduleFields' own: an interval in ms, a cron expression.
    oneSchedule(entry as { interval?: number; cron?: string }, ctx),
  );
}

// A missing key falls through to the global message (`missing; this key is required`), at the key's parent line.
export const columnName = (what: string) =>
  z
    .string({
      error: (iss) => (iss.input === undefined ? undefined : `expected the name of the ${what} column`),
    })
    .min(1, { error: `name the ${what} column` });

/** Windows become the `window` label: the same one listed twice would produce duplicate series. */
export function uniqueWindows(windows: Window[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  windows.forEach((w, i) => {
    if (seen.has(w.label))
      ctx.addIssue({ code: 'custom', path: ['windows', i], message: `window ${w.label} is listed twice` });
    seen.add(w.label);
  });
}

/** Schedule from the entry's own fields, else the config's default interval. */
export function scheduleOf(
  entry: { interval?: number | undefined; cron?: string | undefined },
  defaultIntervalMs: number,
) {
  return entry.cron !== undefined ? { cron: entry.cron } : { everyMs: entry.interval ?? defaultIntervalMs };
}

/** The shared `interval` + `cron` rule: one schedule per check. */
export function oneSchedule(
  entry: { interval?: number | undefined; cron?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (entry.interval !== undefined && entry.cron !== undefined)
    ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give interval or cron, not both' });
}

/** Default windows written as text: `['5m', '1h']` as Window objects. */
export function windowList(labels: string[]): Window[] {
  return labels.map((label) => ({ label, ms: parseDuration(label) as number }));
}
