import type { Schedule } from '../../config/types.js';
import type { Dialect } from '../../sql/dialect.js';
import type { Row } from '../../warehouse/types.js';
import { defineCheck } from '../define.js';
import { ResultBuilder } from '../result.js';
import type { Check, CheckResult } from '../types.js';
import { toSampleValue } from '../values.js';
import { jobFamilies } from './families.js';
import type { JobEntry } from './section.js';
import { type JobStatement, jobStatement } from './statement.js';

/**
 * The check of one job (`job:<name>`): one statement, then its single row turned into series. A ratio with
 * no finished run, a job that never succeeded and a job with no finished run export nothing for those
 * series (counted in mlwatch_check_skipped_samples), never NaN or a made-up 0.
 */
export function buildJobCheck(j: JobEntry, schedule: Schedule, timeoutMs: number, dialect: Dialect): Check {
  const st = jobStatement(j, dialect);
  return defineCheck({
    id: `job:${j.name}`,
    kind: 'job',
    schedule,
    timeoutMs,
    definition: [st.text, st.params],
    async run(q) {
      const [row] = await q.query(st.text, st.params);
      return toResult(j.name, st, row ?? {});
    },
  });
}

// The batch job is labelled `job_name`, not `job`: Prometheus sets `job` to the scrape job on every series.
function toResult(jobName: string, st: JobStatement, row: Row): CheckResult {
  const r = new ResultBuilder();
  const num = (col: string) => toSampleValue(row[col], col);
  st.windows.forEach((w, i) => {
    const labels = { job_name: jobName, window: w.label };
    const success = num(`success_${i}`) ?? 0;
    const failure = num(`failure_${i}`) ?? 0;
    r.add(jobFamilies.jobRuns.name, { ...labels, outcome: 'success' }, success);
    r.add(jobFamilies.jobRuns.name, { ...labels, outcome: 'failure' }, failure);
    r.add(jobFamilies.jobRuns.name, { ...labels, outcome: 'running' }, num(`running_${i}`) ?? 0);
    if (success + failure === 0) r.skip('no_finished_runs');
    else r.add(jobFamilies.jobSuccessRatio.name, labels, success / (success + failure));
  });
  const lastSuccess = num('last_success');
  if (lastSuccess === null) r.skip('never_succeeded');
  else r.add(jobFamilies.jobLastSuccess.name, { job_name: jobName }, lastSuccess);
  for (const [stat, col] of [
    ['last', 'last_duration'],
    ['p95', 'p95_duration'],
  ] as const) {
    const v = num(col);
    if (v === null) r.skip('no_finished_runs');
    else r.add(jobFamilies.jobDuration.name, { job_name: jobName, stat }, v);
  }
  r.add(jobFamilies.jobRunsInProgress.name, { job_name: jobName }, num('in_progress') ?? 0);
  return r.result();
}
