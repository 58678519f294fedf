import type { Queryable } from '../warehouse/types.js';
import type { CatalogTable } from './catalog.js';
import { isInteger, isText, isTimestamp, named, tableRef } from './columns.js';
import { type NameSet, subjectName } from './names.js';
import { type Distinct, distinctValues, SAMPLE_DAYS } from './samples.js';
import type { Proposed } from './types.js';

/**
 * Jobs: a runs table, one row per run with a status and a start and an end time. A table several jobs share
 * (a `job` or `pipeline` column) becomes one entry per job seen in the last days; the statuses seen say which
 * mean success.
 */

const STATUS = /^(status|state|result|run_status|job_status|run_state)$/i;
const STARTED = /^(started|start|began|begin)(_at|_time|_ts)?$|^(run_)?start(ed)?_(at|time|ts)$/i;
const FINISHED =
  /^(finished|ended|end|completed|stopped|done)(_at|_time|_ts)?$|^(run_)?(finish(ed)?|end(ed)?|complet(ed)?)_(at|time|ts)$/i;
const JOB = /^(job|job_name|pipeline|pipeline_name|task|task_name|dag_id|dag|flow|flow_name)$/i;
const SUCCESS = /^(success|succeeded|successful|ok|done|complete|completed|passed)$/i;

// More jobs than this in one table is not a list to write out by hand: one entry watches them together.
const MAX_JOBS = 20;

export interface JobTable {
  table: CatalogTable;
  status: string;
  started: string;
  finished: string;
  job: string | undefined;
}

/** The runs tables among `tables`: a status column and a start and an end timestamp. */
export function jobTables(tables: CatalogTable[]): JobTable[] {
  return tables.flatMap((table) => {
    const status = named(table, STATUS, (c) => isText(c) || isInteger(c))[0];
    const started = named(table, STARTED, isTimestamp)[0];
    const finished = named(table, FINISHED, isTimestamp)[0];
    if (!status || !started || !finished) return [];
    const job = named(table, JOB, isText)[0];
    return [{ table, status: status.name, started: started.name, finished: finished.name, job: job?.name }];
  });
}

export interface JobSample {
  jobs: Distinct | undefined;
  statuses: Distinct;
}

/** The job names and statuses of the last days (read-only, in the caller's transaction). */
export async function sampleJobs(q: Queryable, url: string, j: JobTable): Promise<JobSample> {
  const since = { column: j.started };
  return {
    jobs: j.job ? await distinctValues(q, url, j.table, j.job, since, MAX_JOBS) : undefined,
    statuses: await distinctValues(q, url, j.table, j.status, since, 50),
  };
}

export function proposeJobs(found: { shape: JobTable; sample: JobSample }[], names: NameSet): Proposed[] {
  return found.flatMap(({ shape, sample }) => {
    const ref = tableRef(shape.table);
    const success = sample.statuses.values.filter((v) => SUCCESS.test(v));
    const seen = sample.statuses.values.join(', ') || 'none';
    const statusNote =
      success.length > 0
        ? `Statuses seen in the last ${SAMPLE_DAYS} days: ${seen}; success_values lists those that mean success.`
        : `No status seen in the last ${SAMPLE_DAYS} days looks like success (seen: ${seen}): set success_values.`;
    const common = {
      status_column: shape.status,
      success_values: success.length > 0 ? success : ['success'],
      started_column: shape.started,
      finished_column: shape.finished,
    };
    const jobs = sample.jobs;
    if (shape.job === undefined || jobs === undefined || jobs.more || jobs.values.length === 0) {
      const why =
        shape.job === undefined
          ? ''
          : jobs?.more
            ? `More than ${MAX_JOBS} values of ${shape.job}: one entry for all of them; split by job with job_column and job. `
            : `No run in the last ${SAMPLE_DAYS} days to read job names from ${shape.job}: one entry for all runs. `;
      return [
        {
          entry: { name: names.take(subjectName(shape.table.name, 'job')), table: ref, ...common },
          tables: [shape.table],
          note: `The runs of ${ref}: success ratio, last success and duration per window. ${why}${statusNote}`,
        },
      ];
    }
    return jobs.values.map((value, i) => ({
      entry: {
        name: names.take(subjectName(value, 'job')),
        table: ref,
        job_column: shape.job,
        job: value,
        ...common,
      },
      tables: [shape.table],
      note:
        i === 0
          ? `The runs of ${ref}, one entry per ${shape.job} seen in the last ${SAMPLE_DAYS} days: success ratio, last success and duration per window. ${statusNote}`
          : '',
    }));
  });
}
