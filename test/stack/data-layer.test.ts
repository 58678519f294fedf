import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { type ExpectedAlert, runIncident } from './incident.js';
import { type Stack, startStack } from './stack.js';

// The demo's data incidents injected into a live warehouse: each alert reaches exactly its receivers and
// resolves when the incident ends; a stale dataset silences the alerts computed from its rows.
const timings: Record<string, number> = {};
let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  console.log('data layer: ms from incident to first webhook', JSON.stringify(timings));
  await s?.stop();
});

const incident = (name: 'nulls' | 'schema' | 'drift', alerts: ExpectedAlert[]) =>
  runIncident(s, name, alerts, timings);

describe('the live stack: data layer', () => {
  it('nulls: MlwatchDatasetNullRatioHigh goes to data science and the ticket log', async () => {
    await incident('nulls', [
      {
        labels: { alertname: 'MlwatchDatasetNullRatioHigh', dataset: 'applications', column: 'income' },
        receivers: ['data-science', 'ticketing'],
      },
    ]);
  });

  it('schema: MlwatchDatasetSchemaChanged goes to data science and the ticket log', async () => {
    await incident('schema', [
      {
        labels: { alertname: 'MlwatchDatasetSchemaChanged', dataset: 'applications' },
        receivers: ['data-science', 'ticketing'],
      },
    ]);
  });

  it('drift: the feature alert goes to data science; the dataset alert also asks for retraining', async () => {
    await incident('drift', [
      {
        labels: { alertname: 'MlwatchFeatureDrift', dataset: 'applications', feature: 'income' },
        receivers: ['data-science', 'ticketing'],
      },
      {
        labels: { alertname: 'MlwatchDatasetDrift', dataset: 'applications' },
        receivers: ['data-science', 'retraining', 'ticketing'],
        // A resolution is not a retrain request: the retraining receiver gets firing alerts only.
        resolvedTo: ['data-science', 'ticketing'],
      },
    ]);
    // The recorder forwards `retraining` to the exporter's /api/v1/retrain. MlwatchDatasetDrift is about a
    // dataset and carries no `model` label, so the endpoint records nothing and says why; no model's retrain
    // webhook is called.
    const outcomes = (s.recorder.answers.retraining ?? []).flatMap(
      (text) => (JSON.parse(text) as { alerts: { alertname: string; outcome: string }[] }).alerts,
    );
    const drift = outcomes.filter((o) => o.alertname === 'MlwatchDatasetDrift');
    expect(drift.length).toBeGreaterThan(0);
    expect(new Set(drift.map((o) => o.outcome))).toEqual(new Set(['ignored: alert has no model label']));
    const r = await s.get('/api/v1/retrain/requests?model=credit_default');
    expect(r.status, r.text).toBe(200);
    const requests = (JSON.parse(r.text) as { requests: { reason: string }[] }).requests;
    expect(requests.filter((x) => x.reason === 'alert')).toEqual([]);
    expect(s.retrainSink.calls.filter((c) => c.body.reason === 'alert')).toEqual([]);
  });

  it('stale: MlwatchDatasetStale pages platform on-call and silences the null alert of the same dataset', async () => {
    // The demo's stale incident stops the batches; 15 minutes cannot be waited for here, so the stack also
    // moves the data 30 minutes into the past, which is what a stopped feed looks like 30 minutes later.
    const since = Date.now();
    await s.incidents.set('stale', true);
    await s.writer.exec(
      `UPDATE ${s.schema}.applications SET ingested_at = ingested_at - interval '30 minutes'`,
    );
    await s.incidents.set('nulls', true);
    const stale = { alertname: 'MlwatchDatasetStale', dataset: 'applications' };
    await waitFor(() => s.recorder.receiversOf(stale, 'firing', since).length === 2, 120_000, 'stale page');
    timings['stale:MlwatchDatasetStale'] =
      (s.recorder.firstArrival(stale, 'firing', since) as number) - since;
    expect(s.recorder.receiversOf(stale, 'firing', since)).toEqual(['platform-oncall', 'ticketing']);

    const nulls = await waitFor(
      async () => {
        const a = (await s.am.alerts()).find((x) => x.labels.alertname === 'MlwatchDatasetNullRatioHigh');
        return a?.status.state === 'suppressed' ? a : undefined;
      },
      120_000,
      'null alert suppressed',
    );
    expect(nulls.status.inhibitedBy.length).toBeGreaterThan(0);
    expect(s.recorder.receiversOf({ alertname: 'MlwatchDatasetNullRatioHigh' }, 'firing', since)).toEqual([]);

    const back = Date.now();
    await s.incidents.set('nulls', false);
    await s.writer.exec(
      `UPDATE ${s.schema}.applications SET ingested_at = ingested_at + interval '30 minutes'`,
    );
    await s.incidents.set('stale', false);
    expect(await s.receivers(stale, 'resolved', back)).toEqual(['platform-oncall', 'ticketing']);
  });
});
