import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetrainRequest } from '../../src/state/retrain.js';
import { waitFor } from '../helpers/wait.js';
import { runIncident } from './incident.js';
import { FOR_FACTOR, type Stack, startStack } from './stack.js';

// The demo's model incidents injected into a live warehouse: each alert reaches exactly its receivers and
// resolves when the incident ends. MlwatchModelAucLow and MlwatchModelLabelCoverageLow hold for 1h, 150 s here,
// so these waits are longer than the stack's default.
const timings: Record<string, number> = {};
const WAIT_MS = 300_000;
let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  console.log('model layer: ms from incident to first webhook', JSON.stringify(timings));
  await s?.stop();
});

const model = { model: 'credit_default' };

/** The single value of an instant query (NaN when it returns nothing). */
async function value(expr: string): Promise<number> {
  const r = await s.prom.query(expr);
  return r.length === 1 ? Number(r[0]?.value[1]) : Number.NaN;
}

const incident = (
  name: 'auc' | 'labels' | 'leakage',
  labels: Record<string, string>,
  receivers: string[],
  resolvedTo = receivers,
) => runIncident(s, name, [{ labels, receivers, resolvedTo }], timings, WAIT_MS);

describe('the live stack: model layer', () => {
  it('the 8 days of history are enough for the 14-day AUC alert', async () => {
    // MlwatchModelAucLow needs 500 labeled predictions in 14 days; labels take 1 to 10 days, so 8 days of
    // predictions carry about 1,900 of them.
    const labeled = await waitFor(
      async () => value(`mlwatch_model_labeled_predictions{window="14d", model="credit_default"}`),
      60_000,
      'labeled predictions',
    );
    const auc = await value(`mlwatch_model_auc{window="14d", model="credit_default"}`);
    const coverage = await value(`mlwatch_model_label_coverage_ratio{window="7d", model="credit_default"}`);
    console.log('model layer: 14d labeled', labeled, '14d AUC', auc, '7d coverage', coverage);
    expect(labeled).toBeGreaterThanOrEqual(500);
    expect(auc).toBeGreaterThan(0.7);
    expect(coverage).toBeGreaterThan(0.15);
  });

  it('leakage: MlwatchModelLabelLeakage goes to data science and the ticket log', async () => {
    await incident('leakage', { alertname: 'MlwatchModelLabelLeakage', ...model }, [
      'data-science',
      'ticketing',
    ]);
  }, 400_000);

  it('auc: MlwatchModelAucLow pages, goes to data science, the ticket log and asks for retraining', async () => {
    await incident(
      'auc',
      { alertname: 'MlwatchModelAucLow', window: '14d', ...model },
      ['data-science', 'platform-oncall', 'retraining', 'ticketing'],
      // A resolution is not a retrain request: the retraining receiver gets firing alerts only.
      ['data-science', 'platform-oncall', 'ticketing'],
    );
    expect(timings['auc:MlwatchModelAucLow']).toBeGreaterThanOrEqual(3_600_000 / FOR_FACTOR);

    // The retraining receiver reached the exporter's /api/v1/retrain (the recorder forwards it), which recorded
    // one request for the model and dispatched it to the model's retrain webhook exactly once. Requests of the
    // monthly cadence (should the test run at its minute) are not the alert's.
    expect(s.recorder.forwarded.retraining).toContain(200);
    const requests = await waitFor(
      async () => {
        const r = await s.get('/api/v1/retrain/requests?model=credit_default');
        if (r.status !== 200) throw new Error(`retrain requests: ${r.status} ${r.text}`);
        const all = (JSON.parse(r.text) as { requests: RetrainRequest[] }).requests;
        const fromAlerts = all.filter((x) => x.reason === 'alert');
        return fromAlerts.length > 0 && fromAlerts.every((x) => x.state === 'dispatched')
          ? fromAlerts
          : undefined;
      },
      60_000,
      'retrain request dispatched',
    );
    expect(requests).toHaveLength(1);
    const [request] = requests as [RetrainRequest];
    expect(request).toMatchObject({ model: 'credit_default', state: 'dispatched', failures: 0 });
    expect(request.detail).toMatchObject({ alertname: 'MlwatchModelAucLow' });
    const calls = s.retrainSink.calls.filter((c) => c.body.reason === 'alert');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.path).toBe('/retrain/credit_default');
    expect(calls[0]?.headers['idempotency-key']).toBe(`mlwatch-retrain-${request.id}`);
    expect(calls[0]?.body).toMatchObject({ id: request.id, model: 'credit_default', reason: 'alert' });
  }, 600_000);

  it('labels: MlwatchModelLabelCoverageLow goes to data science and the ticket log', async () => {
    await incident('labels', { alertname: 'MlwatchModelLabelCoverageLow', window: '7d', ...model }, [
      'data-science',
      'ticketing',
    ]);
    expect(timings['labels:MlwatchModelLabelCoverageLow']).toBeGreaterThanOrEqual(3_600_000 / FOR_FACTOR);
  }, 600_000);
});
