import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetrainRequest } from '../../src/actions/retrain/retrain.js';
import { waitFor } from '../helpers/wait.js';
import { type ExpectedAlert, runIncident } from './incident.js';
import { dispatchedAlertRequests } from './retrain-requests.js';
import { type Stack, startStack } from './stack.js';

// The demo's data incidents injected into a live warehouse: each alert reaches exactly its receivers and
// resolves when the incident ends; drift reaches the retraining service of the model that reads the dataset; a
// stale dataset silences the alerts computed from its rows.
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

  it('schema: MlwatchDatasetSchemaChanged and MlwatchDatasetSchemaHashChanged, naming both hashes, go to data science and the ticket log', async () => {
    // The hashes the demo's applications table has as created, and with age retyped to bigint (the incident):
    // the `name:type` lines in column order, as docs/schema-lock.md defines them, computed here.
    const [before, after] = await Promise.all(
      ['integer', 'bigint'].map(async (ageType) => {
        const rows = await s.writer.query(
          `SELECT column_name::text AS name, data_type::text AS type FROM information_schema.columns
            WHERE table_schema = $1 AND table_name = 'applications' ORDER BY ordinal_position`,
          [s.schema],
        );
        const lines = rows.map((r) => `${r.name}:${r.name === 'age' ? ageType : r.type}`);
        return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 12);
      }),
    );
    await incident('schema', [
      {
        labels: { alertname: 'MlwatchDatasetSchemaChanged', dataset: 'applications' },
        receivers: ['data-science', 'ticketing'],
      },
      {
        // Resolves when the incident ends: the hash changes back, which is the next change (its own alert).
        labels: {
          alertname: 'MlwatchDatasetSchemaHashChanged',
          dataset: 'applications',
          previous_hash: before as string,
          hash: after as string,
        },
        receivers: ['data-science', 'ticketing'],
      },
    ]);
    const back = {
      alertname: 'MlwatchDatasetSchemaHashChanged',
      dataset: 'applications',
      previous_hash: after as string,
      hash: before as string,
    };
    expect(await s.receivers(back, 'firing', 0)).toEqual(['data-science', 'ticketing']);
  });

  it('drift: both drift alerts ask for retraining, and credit_default, which reads applications, gets one request', async () => {
    const since = Date.now();
    await incident('drift', [
      {
        labels: { alertname: 'MlwatchFeatureDrift', dataset: 'applications', feature: 'income' },
        receivers: ['data-science', 'retraining', 'ticketing'],
        // A resolution is not a retrain request: the retraining receiver gets firing alerts only.
        resolvedTo: ['data-science', 'ticketing'],
      },
      {
        labels: { alertname: 'MlwatchDatasetDrift', dataset: 'applications' },
        receivers: ['data-science', 'retraining', 'ticketing'],
        resolvedTo: ['data-science', 'ticketing'],
      },
    ]);
    // The recorder forwards `retraining` to the exporter's /api/v1/retrain. The drift alerts name the dataset,
    // not a model: the endpoint asks every model whose config names that dataset, which in the demo is
    // credit_default alone, and each delivery's summary says so.
    const outcomes = (s.recorder.answers.retraining ?? []).flatMap(
      (text) =>
        (
          JSON.parse(text) as {
            alerts: { alertname: string; dataset?: string; model?: string; outcome: string }[];
          }
        ).alerts,
    );
    const drift = outcomes.filter((o) => /^Mlwatch(Feature|Dataset)Drift$/.test(o.alertname));
    expect(new Set(drift.map((o) => o.alertname))).toEqual(
      new Set(['MlwatchFeatureDrift', 'MlwatchDatasetDrift']),
    );
    expect(new Set(drift.map((o) => `${o.dataset}/${o.model}`))).toEqual(
      new Set(['applications/credit_default']),
    );
    // The first asks, the rest fall within credit_default's 24 h cooldown (or are Alertmanager's repeats).
    expect(drift.filter((o) => o.outcome === 'requested')).toHaveLength(1);
    for (const o of drift) expect(['requested', 'deduplicated', 'duplicate']).toContain(o.outcome);

    // Recorded once, with the drift alert as its reason, and dispatched once to the demo's retraining service.
    const requests = await dispatchedAlertRequests(s, 'credit_default');
    expect(requests).toHaveLength(1);
    const [request] = requests as [RetrainRequest];
    expect(request).toMatchObject({ model: 'credit_default', state: 'dispatched', failures: 0 });
    expect(request.detail).toMatchObject({ labels: { dataset: 'applications', action: 'retrain' } });
    expect(['MlwatchFeatureDrift', 'MlwatchDatasetDrift']).toContain(request.detail.alertname);
    expect(Date.parse(request.requestedAt)).toBeGreaterThanOrEqual(since);
    const calls = s.retrainSink.calls.filter((c) => c.body.reason === 'alert');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.path).toBe('/retrain/credit_default');
    expect(calls[0]?.headers['idempotency-key']).toBe(`mlwatch-retrain-${request.id}`);
    expect(calls[0]?.body).toMatchObject({
      id: request.id,
      model: 'credit_default',
      reason: 'alert',
      detail: { alertname: request.detail.alertname, labels: { dataset: 'applications' } },
    });
    timings['drift:retrain-sink'] = (calls[0]?.at as number) - since;
  });

  it('stale: MlwatchDatasetStale pages platform on-call and silences the null alert of the same dataset', async () => {
    // The demo's stale incident stops the batches and holds back the applications of the last 20 minutes, as if
    // the feed had stopped then: the newest row is past the 15-minute line at once, so the page comes within
    // about a minute (the next freshness run, a scrape, an evaluation, for: 15s, group_wait), well inside the wait.
    const since = Date.now();
    await s.incidents.set('stale', true);
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
    // The feed catches up: the held rows and the batches missed meanwhile arrive, and the alert resolves.
    await s.incidents.set('stale', false);
    expect(await s.receivers(stale, 'resolved', back, 2)).toEqual(['platform-oncall', 'ticketing']);
  });
});
