import { z } from 'zod';
import { parseDuration } from '../../config/duration.js';
import { uniqueNames, window } from '../../config/types.js';
import {
  columnName,
  scheduleOf,
  subjectEntry,
  tableName,
  uniqueWindows,
  windowList,
} from '../config-fields.js';
import type { BuildContext, Check } from '../types.js';
import { buildServingCheck } from './check.js';

/**
 * The `serving` section: a service's request log, one row per request with its time, its latency (in the unit
 * the table stores; exported in seconds) and optionally a status that tells errors apart.
 */

// Every window the slow-request SLO alerts read (1h/5m and 6h/30m page, 1d/1h makes a ticket) and no more:
// each window adds a sort of its requests for the percentiles.
const DEFAULT_WINDOWS = ['5m', '30m', '1h', '6h', '1d'];

/** Seconds per unit of the latency column. */
export const LATENCY_UNITS = { s: 1, ms: 1_000, us: 1_000_000 } as const;

const latency = z.strictObject(
  {
    column: columnName('latency'),
    unit: z.enum(['s', 'ms', 'us'], { error: "expected the latency column's unit: s, ms or us" }),
  },
  { error: 'expected latency: { column: <name>, unit: s | ms | us }' },
);

const status = z
  .strictObject(
    {
      column: columnName('status'),
      error_min: z
        .number({ error: 'expected a number, e.g. 500 (every status from 500 up is an error)' })
        .optional(),
      error_values: z
        .array(z.union([z.string(), z.number()]), {
          error: 'expected a list of the status values that are errors',
        })
        .min(1, { error: 'list at least one status value that is an error' })
        .optional(),
    },
    {
      error:
        'expected status: { column: <name> } (5xx are errors), optionally with error_min or error_values',
    },
  )
  .superRefine((s, ctx) => {
    if (s.error_min !== undefined && s.error_values !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['error_values'],
        message: 'give error_min or error_values, not both',
      });
  });

const objective = z
  .string({ error: 'expected a latency objective like 250ms or 1s' })
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({
        code: 'custom',
        message: `'${text}' is not a latency objective: write it like 250ms or 1s`,
      });
      return z.NEVER;
    }
    return ms;
  });

export const servingEntry = subjectEntry('service', {
  table: tableName,
  timestamp: columnName('timestamp'),
  latency,
  status: status.optional(),
  objective: objective.default(500),
  windows: z
    .array(window(), { error: 'expected a list of windows like [5m, 1h, 1d]' })
    .min(1, { error: 'list at least one window' })
    .default(windowList(DEFAULT_WINDOWS)),
}).superRefine((s, ctx) => {
  uniqueWindows(s.windows, ctx);
});

export type ServingEntry = z.output<typeof servingEntry>;

export function validateServing(entries: ServingEntry[], ctx: z.RefinementCtx): void {
  uniqueNames(entries, 'serving', 'service', ctx);
}

export function buildServingChecks(entry: ServingEntry, ctx: BuildContext): Check[] {
  return [
    buildServingCheck(
      entry,
      scheduleOf(entry, ctx.defaultIntervalMs),
      entry.timeout ?? ctx.defaultTimeoutMs,
      ctx.dialect,
    ),
  ];
}
