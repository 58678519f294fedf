import cron from 'node-cron';
import { z } from 'zod';
import { parseDuration } from './duration.js';

/** Building blocks shared by the config schema and by every check kind's spec schema. */

export const duration = (what = 'a duration') =>
  z.string({ error: `expected ${what} like 30s, 5m, 1h or 7d` }).transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: `'${text}' is not ${what}: write it like 30s, 5m, 1h or 7d` });
      return z.NEVER;
    }
    return ms;
  });

export const cronExpression = z
  .string({ error: "expected a cron expression like '*/5 * * * *'" })
  .refine((text) => cron.validate(text), {
    error: (iss) =>
      `'${String(iss.input)}' is not a valid cron expression (5 or 6 fields, e.g. '*/5 * * * *')`,
  });

/** Names the user picks for checks and subjects: they become label values, so keep them tame. */
export const subjectName = (what: string) =>
  z
    .string({ error: `expected a ${what} name` })
    .regex(/^[a-z][a-z0-9_]*$/, { error: `a ${what} name uses lower_snake_case: a-z, 0-9 and _` });

export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** `interval` or `cron`, never both; absent means the default interval. */
export const scheduleFields = {
  interval: duration('an interval').optional(),
  cron: cronExpression.optional(),
  timeout: duration('a timeout').optional(),
};

export type Schedule = { everyMs: number } | { cron: string };

/** A window relative to the warehouse clock: rows with timestamp in [now() - w, now()). */
export interface Window {
  /** As written in config; becomes the `window` label ("1h", "14d"). */
  label: string;
  ms: number;
}

export const window = (what = 'a window') =>
  z.string({ error: `expected ${what} like 1h, 1d or 14d` }).transform((text, ctx): Window => {
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: `'${text}' is not ${what}: write it like 15m, 1h, 1d or 14d` });
      return z.NEVER;
    }
    return { label: text, ms };
  });

/** Postgres interval text for a bound parameter: `$1::interval` with '3600 seconds'. */
export function intervalParam(ms: number): string {
  return `${ms / 1000} seconds`;
}

/** Names must be unique within a section: the second use of a name is reported at its own line. */
export function uniqueNames(
  entries: { name: string }[],
  section: string,
  what: string,
  ctx: z.RefinementCtx,
): void {
  const seen = new Map<string, number>();
  entries.forEach((e, i) => {
    const first = seen.get(e.name);
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'name'],
        message: `${what} name '${e.name}' is already used by ${section}[${first}]`,
      });
    } else seen.set(e.name, i);
  });
}

/**
 * Bearer-token hashes must be unique within a section: two entries with one token would be one caller under two
 * names (an approver approving twice). The second use is reported at its own line.
 */
export function uniqueTokenHashes(
  entries: { token_sha256?: string | undefined }[],
  section: string,
  what: string,
  ctx: z.RefinementCtx,
): void {
  const seen = new Map<string, number>();
  entries.forEach((e, i) => {
    if (e.token_sha256 === undefined) return;
    const first = seen.get(e.token_sha256);
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'token_sha256'],
        message: `the same token hash as ${section}[${first}]; every ${what} needs a token of their own`,
      });
    } else seen.set(e.token_sha256, i);
  });
}
