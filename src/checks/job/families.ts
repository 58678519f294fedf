import { type CatalogEntry, family } from '../../metrics/family.js';

/** The system layer for batch jobs: one statement per job table. */
export const jobFamilies = {
  jobRuns: family(
    'system',
    'mlwatch_job_runs',
    'gauge',
    ['job_name', 'window', 'outcome'],
    'Runs of the job that started in the window, by outcome: success, failure (finished, not a success status) or running (not finished).',
  ),
  jobSuccessRatio: family(
    'system',
    'mlwatch_job_success_ratio',
    'gauge',
    ['job_name', 'window'],
    'Successful runs / finished runs that started in the window (0..1). Not exported when no run finished in the window.',
  ),
  jobLastSuccess: family(
    'system',
    'mlwatch_job_last_success_timestamp_seconds',
    'gauge',
    ['job_name'],
    'Unix time the last successful run of the job finished. Absent when the job never succeeded.',
  ),
  jobDuration: family(
    'system',
    'mlwatch_job_duration_seconds',
    'gauge',
    ['job_name', 'stat'],
    'Run duration in seconds: stat="last" is the last finished run, stat="p95" the 95th percentile (percentile_cont) of runs finished in the last day.',
  ),
  jobRunsInProgress: family(
    'system',
    'mlwatch_job_runs_in_progress',
    'gauge',
    ['job_name'],
    'Runs of the job that have started and not finished.',
  ),
} as const satisfies Record<string, CatalogEntry>;
