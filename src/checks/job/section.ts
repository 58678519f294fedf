import { z } from 'zod';
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
import { buildJobCheck } from './check.js';

/**
 * The `jobs` section: a batch job's runs in a runs table, one row per run with its status and its start and
 * end times. Several jobs can share one table: `job_column` names the column that tells them apart and `job`
 * the value of this job (by default its name). A run is running while its end time is NULL.
 */

// The windows the SLO burn-rate alerts pair up (1h/5m, 6h/30m, 1d/2h, 3d/6h).
const DEFAULT_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'];

export const jobEntry = subjectEntry('job', {
  table: tableName,
  job_column: columnName('job name').optional(),
  job: z
    .union([z.string().min(1), z.number()], { error: 'expected the value job_column holds for this job' })
    .optional(),
  status_column: columnName('status'),
  success_values: z
    .array(z.union([z.string(), z.number()]), {
      error: 'expected a list of the status values that mean success, e.g. [success, succeeded]',
    })
    .min(1, { error: 'list at least one status value that means success' })
    .default(['success']),
  started_column: columnName('start time'),
  finished_column: columnName('end time'),
  windows: z
    .array(window(), { error: 'expected a list of windows like [1h, 1d, 3d]' })
    .min(1, { error: 'list at least one window' })
    .default(windowList(DEFAULT_WINDOWS)),
}).superRefine((j, ctx) => {
  if (j.job !== undefined && j.job_column === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['job'],
      message: 'job is a value of job_column; name the column that holds job names as job_column',
    });
  }
  if (j.started_column === j.finished_column) {
    ctx.addIssue({
      code: 'custom',
      path: ['finished_column'],
      message: 'started_column and finished_column must be two different columns',
    });
  }
  uniqueWindows(j.windows, ctx);
});

export type JobEntry = z.output<typeof jobEntry>;

export function validateJobs(entries: JobEntry[], ctx: z.RefinementCtx): void {
  uniqueNames(entries, 'jobs', 'job', ctx);
}

export function buildJobChecks(entry: JobEntry, ctx: BuildContext): Check[] {
  return [
    buildJobCheck(
      entry,
      scheduleOf(entry, ctx.defaultIntervalMs),
      entry.timeout ?? ctx.defaultTimeoutMs,
      ctx.dialect,
    ),
  ];
}
