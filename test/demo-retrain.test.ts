import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetrainRequest } from '../src/actions/retrain/retrain.js';
import type { Served } from './helpers/cli.js';
import { DEMO_HEADERS } from './helpers/credentials.js';
import { demoSinkCalls, settleDemo, startDemo } from './helpers/demo.js';
import { waitFor } from './helpers/wait.js';

// `mlwatch demo` turns retraining on: credit_default's retrain webhook is the demo's own recording sink, so
// what Alertmanager's `retraining` receiver posts to /api/v1/retrain ends in one recorded call. The demo runs
// on its embedded PGlite (warehouse and state store), whatever MLWATCH_TEST_DATABASE_URL says: its state
// store is then fresh for this test.
let served: Served;
beforeAll(async () => {
  served = await startDemo();
  // The state store answers 503 until its migrations have run.
  await waitFor(
    async () =>
      (await fetch(`${served.url}/api/v1/retrain/requests`, { headers: DEMO_HEADERS })).status === 200,
    60_000,
    'state store ready',
  );
}, 90_000);
afterAll(async () => {
  await served?.stop('SIGKILL');
});

const alert = (startsAt: string, fingerprint: string) => ({
  status: 'firing',
  labels: {
    alertname: 'MlwatchModelAucLow',
    model: 'credit_default',
    window: '14d',
    action: 'retrain',
    severity: 'critical',
  },
  annotations: { description: 'AUC 0.61 below 0.65' },
  startsAt,
  fingerprint,
});

async function postRetrain(alerts: unknown[]) {
  const res = await fetch(`${served.url}/api/v1/retrain`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...DEMO_HEADERS },
    body: JSON.stringify({ version: '4', receiver: 'retraining', status: 'firing', alerts }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const sinkCalls = () => demoSinkCalls(served, 'retrain');
/** The demo's nothingLeft() (test/retrain.test.ts): after it, no retrain request is left to dispatch. */
const settle = () => settleDemo(served, 'retrain', 'a fresh dispatch round sends nothing');

async function requests(): Promise<RetrainRequest[]> {
  const res = await fetch(`${served.url}/api/v1/retrain/requests?model=credit_default`, {
    headers: DEMO_HEADERS,
  });
  return ((await res.json()) as { requests: RetrainRequest[] }).requests;
}

describe('mlwatch demo: the retraining service', () => {
  it('prints the new endpoints at start', () => {
    const out = served.logs();
    expect(out).toContain(`${served.port}/api/v1/tickets`);
    expect(out).toContain(`${served.port}/api/v1/retrain/requests`);
    expect(out).toContain(`${served.port}/-/demo/retrain-sink`);
  });

  it('a retrain alert for credit_default ends in exactly one call to the sink', async () => {
    expect(await sinkCalls()).toEqual([]);
    const first = await postRetrain([alert('2026-11-29T01:00:00Z', 'f-auc')]);
    expect(first).toMatchObject({ requested: 1, deduplicated: 0, duplicates: 0, ignored: 0 });
    const id = (first.alerts as { request: number }[])[0]?.request;

    // The outbox polls every 5 s: dispatched within a couple of polls.
    const [request] = await waitFor(
      async () => {
        const r = await requests();
        return r[0]?.state === 'dispatched' ? r : undefined;
      },
      30_000,
      'request dispatched',
    );
    expect(request).toMatchObject({ id, model: 'credit_default', reason: 'alert', failures: 0 });
    const calls = await sinkCalls();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      idempotencyKey: `mlwatch-retrain-${id}`,
      duplicate: false,
      body: { id, model: 'credit_default', reason: 'alert', detail: { alertname: 'MlwatchModelAucLow' } },
    });

    // The same alert again (Alertmanager's repeat) and a second alert within the 24 h cooldown ask nothing new.
    expect(await postRetrain([alert('2026-11-29T01:00:00Z', 'f-auc')])).toMatchObject({ duplicates: 1 });
    expect(await postRetrain([alert('2026-11-29T02:00:00Z', 'f-auc-2')])).toMatchObject({
      requested: 0,
      deduplicated: 1,
    });
    // Nothing more is dispatched: the deduplicated alert's own dispatch round (which it starts) and a fresh one.
    await settle();
    expect(await sinkCalls()).toHaveLength(1);
    expect(await requests()).toHaveLength(1);
  }, 60_000);

  it('an alert without a model or dataset, or for a model the demo does not have, is ignored', async () => {
    const noModel = {
      ...alert('2026-11-29T03:00:00Z', 'f-drift'),
      labels: { alertname: 'MlwatchDatasetDrift' },
    };
    const other = alert('2026-11-29T03:00:00Z', 'f-churn');
    other.labels.model = 'churn';
    const r = await postRetrain([noModel, other]);
    expect(r).toMatchObject({ requested: 0, ignored: 2 });
    expect((r.alerts as { outcome: string }[]).map((a) => a.outcome)).toEqual([
      'ignored: alert has no model or dataset label',
      'ignored: model has no retrain config',
    ]);
  });

  it('the sink answers GET and POST only, takes calls with its token only, and 400 to a body that is not JSON', async () => {
    const sink = `${served.url}/-/demo/retrain-sink`;
    const put = await fetch(sink, { method: 'PUT' });
    expect(put.status).toBe(405);
    const json = { 'content-type': 'application/json' };
    const body = JSON.stringify({ id: 999, model: 'credit_default', reason: 'forged' });
    // The operator's token is not the sink's: only mlwatch's dispatch (retrain.headers) gets in.
    for (const headers of [json, { ...json, ...DEMO_HEADERS }]) {
      expect((await fetch(sink, { method: 'POST', headers, body })).status).toBe(401);
    }
    expect((await sinkCalls()).some((c) => (c.body as { id?: number }).id === 999)).toBe(false);
    const bad = await fetch(sink, {
      method: 'POST',
      headers: { ...json, authorization: 'Bearer demo-sink-token' },
      body: '{nope',
    });
    expect(bad.status).toBe(400);
    expect((await fetch(sink)).status).toBe(401);
  });
});
