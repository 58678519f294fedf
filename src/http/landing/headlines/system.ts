import { jobFamilies as job } from '../../../checks/job/families.js';
import { kpiFamilies as kpi } from '../../../checks/kpi/families.js';
import { servingFamilies as serving } from '../../../checks/serving/families.js';
import { ago, count, humanDuration, number, percent } from '../format.js';
import type { Headline } from '../key-values.js';
import { narrowest, where, widest } from './pick.js';

/** The system and business layers' key values: jobs, serving logs, KPIs. */
export const SYSTEM_HEADLINES: readonly Headline[] = [
  {
    family: job.jobLastSuccess.name,
    pick: (samples, { ctx }) =>
      samples.map((s) => ({ label: 'last success', value: ago(s.value * 1000, ctx.nowMs) })),
  },
  {
    family: job.jobSuccessRatio.name,
    pick: (samples) =>
      widest(samples).map((s) => ({ label: `successful runs ${s.labels.window}`, value: percent(s.value) })),
  },
  {
    family: job.jobRunsInProgress.name,
    pick: (samples) =>
      samples.filter((s) => s.value > 0).map((s) => ({ label: 'running now', value: count(s.value) })),
  },
  {
    family: job.jobDuration.name,
    pick: (samples) =>
      where(samples, { stat: 'last' }).map((s) => ({
        label: 'last run took',
        value: humanDuration(s.value),
      })),
  },
  {
    // The narrowest window is what users see now; marked above the service's own objective.
    family: serving.servingLatency.name,
    pick: (samples, index) => {
      const objective = index.get(serving.servingLatencyObjective.name)[0]?.value;
      return narrowest(where(samples, { percentile: '95' })).map((s) => ({
        label: `p95 latency ${s.labels.window}`,
        value: humanDuration(s.value),
        ...(objective !== undefined && s.value > objective
          ? { flag: `over the ${humanDuration(objective)} objective` }
          : {}),
      }));
    },
  },
  {
    family: serving.servingRequests.name,
    pick: (samples, index) =>
      narrowest(samples).map((s) => {
        const errors = where(index.get(serving.servingErrors.name), { window: s.labels.window ?? '' })[0];
        return {
          label: `requests ${s.labels.window}`,
          value:
            errors && s.value > 0
              ? `${count(s.value)}, ${percent(errors.value / s.value)} errors`
              : count(s.value),
        };
      }),
  },
  {
    family: kpi.kpiValue.name,
    pick: (samples, index) =>
      samples.map((s) => {
        const base = where(index.get(kpi.kpiBaseline.name), { window: s.labels.window ?? '' })[0];
        return {
          label: `value ${s.labels.window}`,
          value: base ? `${number(s.value)} (baseline ${number(base.value)})` : number(s.value),
        };
      }),
  },
];
