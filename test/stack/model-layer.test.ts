import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetrainRequest } from '../../src/actions/retrain/retrain.js';
import type { Ticket } from '../../src/actions/tickets/tickets.js';
import { MODEL_VERSION } from '../../src/demo/batches.js';
import { ROLLOUT_VERSION } from '../../src/demo/rollout-incident.js';
import { waitFor } from '../helpers/wait.js';
import { runIncident } from './incident.js';
import { scaledFor } from './prometheus.js';
import { dispatchedAlertRequests } from './retrain-requests.js';
import { HANDOFF_AFTER_S, type Stack, startStack } from './stack.js';

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

/** When `receiver` first got a firing notification with an alert matching `labels`, since `since`. */
function firstTo(receiver: string, labels: Record<string, string>, since: number): number | undefined {
  return s.recorder.received
    .filter(
      (n) =>
        n.receiver === receiver &&
        n.at >= since &&
        n.alerts.some(
          (a) => a.status === 'firing' && Object.entries(labels).every(([k, v]) => a.labels[k] === v),
        ),
    )
    .map((n) => n.at)
    .sort((a, b) => a - b)[0];
}

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

  it('auc: MlwatchModelAucLow pages platform first, asks for retraining, and reaches data science through the automatic hand-off', async () => {
    const auc = { alertname: 'MlwatchModelAucLow', window: '14d', ...model };
    const handedOff = {
      alertname: 'MlwatchTicketHandedOff',
      ticket_alertname: 'MlwatchModelAucLow',
      ...model,
    };
    let off = 0;
    await runIncident(
      s,
      'auc',
      [
        {
          labels: auc,
          // Platform on-call's page, the ticket and the retrain: nothing for data science yet.
          receivers: ['platform-oncall', 'retraining', 'ticketing'],
          // A resolution is not a retrain request: the retraining receiver gets firing alerts only.
          resolvedTo: ['platform-oncall', 'ticketing'],
        },
      ],
      timings,
      WAIT_MS,
      async (since) => {
        const page = firstTo('platform-oncall', auc, since) as number;
        // Nobody acknowledges the page: after state.handoff.after the exporter hands the ticket to data science,
        // and MlwatchTicketHandedOff brings it to the data-science receiver (and nowhere else).
        expect(await s.delivered(handedOff, since, (HANDOFF_AFTER_S + 60) * 1000)).toEqual(['data-science']);
        const handoff = firstTo('data-science', handedOff, since) as number;
        timings['auc:handoff after page'] = handoff - page;
        // The ticket opens with the page (both Alertmanager routes wait 1 s here): allow the second between them.
        expect(handoff - page).toBeGreaterThanOrEqual((HANDOFF_AFTER_S - 2) * 1000);
        expect(await s.delivered(auc, since), 'the page never goes to data science directly').toEqual([
          'platform-oncall',
          'retraining',
          'ticketing',
        ]);
        const notice = s.recorder.received.find((n) => n.receiver === 'data-science' && n.at === handoff);
        const alert = notice?.alerts.find((a) => a.labels.alertname === 'MlwatchTicketHandedOff');
        expect(alert?.labels).toMatchObject({
          severity: 'warning',
          team: 'data-science',
          layer: 'model',
          handed_off_to: 'data-science',
          handed_off_by: 'mlwatch (automatic)',
          dataset: 'applications',
        });

        // The ticket records it: data science holds it now, handed off by the exporter for the reason given; the
        // hand-off made no ticket of its own.
        const r = await s.get('/api/v1/tickets?layer=model&limit=1000');
        expect(r.status, r.text).toBe(200);
        const tickets = (JSON.parse(r.text) as { tickets: Ticket[] }).tickets;
        const ticket = tickets.find((t) => t.alertname === 'MlwatchModelAucLow' && t.state === 'open');
        expect(ticket).toMatchObject({
          id: Number(alert?.labels.ticket),
          assignee: 'data-science',
          handedOffTo: 'data-science',
          handedOffBy: 'mlwatch (automatic)',
          handoffReason: `not acknowledged within ${HANDOFF_AFTER_S}s of the page (state.handoff.after)`,
          acknowledgedBy: null,
        });
        expect(ticket?.events.map((e) => [e.actor, e.action])).toEqual([
          ['mlwatch (automatic)', 'handed_off'],
        ]);
        expect(tickets.filter((t) => t.alertname === 'MlwatchTicketHandedOff')).toEqual([]);
        off = Date.now();
      },
    );
    expect(timings['auc:MlwatchModelAucLow']).toBeGreaterThanOrEqual(scaledFor(3_600_000));
    // The ticket closed with its alert: the hand-off's notice resolves at data science too.
    await waitFor(
      () => s.recorder.receiversOf(handedOff, 'resolved', off).length > 0,
      60_000,
      'the hand-off resolved',
    );
    expect(s.recorder.receiversOf(handedOff, 'resolved', off)).toEqual(['data-science']);

    // The retraining receiver reached the exporter's /api/v1/retrain (the recorder forwards it), which recorded
    // one request for the model and dispatched it to the model's retrain webhook exactly once. Requests of the
    // monthly cadence (should the test run at its minute) are not the alert's.
    expect(s.recorder.forwarded.retraining).toContain(200);
    const requests = await dispatchedAlertRequests(s, 'credit_default');
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

  it('rollout: a worse version raises MlwatchModelVersionWorse, whose ticket carries the rollback to the version before', async () => {
    const versionWorse = {
      alertname: 'MlwatchModelVersionWorse',
      version: ROLLOUT_VERSION,
      previous_version: MODEL_VERSION,
      ...model,
    };
    await runIncident(
      s,
      'rollout',
      [
        // A warning for data science (no action: a rollback needs two approvers, not a webhook), and a ticket.
        { labels: versionWorse, receivers: ['data-science', 'ticketing'] },
        // The new version is below the AUC line too: platform's page for that version.
        {
          labels: { alertname: 'MlwatchModelAucLow', version: ROLLOUT_VERSION, ...model },
          receivers: ['platform-oncall', 'retraining', 'ticketing'],
          resolvedTo: ['platform-oncall', 'ticketing'],
        },
      ],
      timings,
      WAIT_MS,
      async () => {
        const r = await s.get('/api/v1/tickets?layer=model&limit=1000');
        expect(r.status, r.text).toBe(200);
        const ticket = (JSON.parse(r.text) as { tickets: Ticket[] }).tickets.find(
          (t) => t.alertname === 'MlwatchModelVersionWorse' && t.state === 'open',
        );
        // The command to paste: a rollback request for this model to the version it replaced.
        expect(ticket?.annotations.rollback_command).toMatch(
          new RegExp(
            `^mlwatch rollback request --model credit_default --to-version ${MODEL_VERSION.replaceAll('.', '\\.')} --reason 'MlwatchModelVersionWorse: version ${ROLLOUT_VERSION.replaceAll('.', '\\.')} of credit_default ranks worse than ${MODEL_VERSION.replaceAll('.', '\\.')}`,
          ),
        );
      },
    );
    expect(timings['rollout:MlwatchModelVersionWorse']).toBeGreaterThanOrEqual(scaledFor(3_600_000));
  }, 600_000);

  it('labels: MlwatchModelLabelCoverageLow goes to data science and the ticket log', async () => {
    await incident('labels', { alertname: 'MlwatchModelLabelCoverageLow', window: '7d', ...model }, [
      'data-science',
      'ticketing',
    ]);
    expect(timings['labels:MlwatchModelLabelCoverageLow']).toBeGreaterThanOrEqual(scaledFor(3_600_000));
  }, 600_000);
});
