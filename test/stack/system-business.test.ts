import { afterAll, beforeAll, describe, it } from 'vitest';
import { runIncident } from './incident.js';
import { type Stack, startStack } from './stack.js';

// The demo's system and business incidents injected into a live warehouse: failing batch jobs and slow
// requests page platform on-call (and their slow-burn siblings make tickets); an approval rate 30 % below its
// baseline (the day's, beyond noise at the demo's 30 decisions an hour) goes to the business analysts and the
// ticket log, without a page. MlwatchKpiSuddenDrop holds for 5m, 12.5 s here.
const timings: Record<string, number> = {};
let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  console.log('system and business layers: ms from incident to first webhook', JSON.stringify(timings));
  await s?.stop();
});

describe('the live stack: system and business layers', () => {
  it('jobs: MlwatchJobErrorBudgetBurn pages platform on-call and makes a ticket', async () => {
    await runIncident(
      s,
      'jobs',
      [
        {
          labels: {
            alertname: 'MlwatchJobErrorBudgetBurn',
            severity: 'critical',
            job_name: 'feature_pipeline',
          },
          receivers: ['platform-oncall', 'ticketing'],
        },
      ],
      timings,
    );
  });

  it('latency: the slow-request budget burn pages; p95 above the objective makes a ticket', async () => {
    await runIncident(
      s,
      'latency',
      [
        {
          labels: {
            alertname: 'MlwatchServingSlowRequestsBudgetBurn',
            severity: 'critical',
            service_name: 'scoring_api',
          },
          receivers: ['platform-oncall', 'ticketing'],
        },
        {
          labels: { alertname: 'MlwatchServingLatencyHigh', service_name: 'scoring_api' },
          receivers: ['ticketing'],
        },
      ],
      timings,
    );
  });

  it('kpi: MlwatchKpiSuddenDrop goes to the business analysts and the ticket log', async () => {
    await runIncident(
      s,
      'kpi',
      [
        {
          labels: { alertname: 'MlwatchKpiSuddenDrop', kpi: 'approval_rate', dataset: 'applications' },
          receivers: ['business-analysts', 'ticketing'],
        },
      ],
      timings,
      300_000,
    );
  }, 600_000);
});
