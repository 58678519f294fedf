import { beforeAll, describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/actions/store/outbox.js';
import { listRetrainRequests } from '../src/commands/retrain.js';
import { loadConfigText } from '../src/config/load.js';
import type { Running } from '../src/runtime/serve.js';
import { firingAlert, type WebhookAlert } from './helpers/alerts.js';
import { rejectsEachFixture } from './helpers/bad-config.js';
import { ACCESS_YAML, WEBHOOK_HEADERS } from './helpers/credentials.js';
import { onRealPostgres, type TestDb } from './helpers/db.js';
import { memoryLogger } from './helpers/exporter.js';
import { parseExposition, sampleValue, series } from './helpers/exposition.js';
import { modelEntry as model, useServedFixture } from './helpers/served.js';
import { waitFor } from './helpers/wait.js';
import type { WebhookSink } from './helpers/webhook-sink.js';

// Retraining requests, from alerts (the `retraining` receiver) and from each model's cadence, through in-process
// `serve()` exporters over HTTP, with the state store on the real PostgreSQL (or one embedded PGlite that two
// in-process exporters share, standing in for one database).

describe('bad retrain configs name the file, line, path and fix', () => {
  const dir = 'test/fixtures/bad-config-retrain';
  const fix = 'give the URL that starts a retraining run, e.g. https://ml-platform/retrain';
  const cases: [string, string][] = [
    [
      '01-missing-webhook.yaml',
      `01-missing-webhook.yaml:9 models[0].retrain.webhook: missing; give the http(s) URL that starts a retraining run, e.g. https://ml-platform/retrain`,
    ],
    [
      '02-webhook-not-http.yaml',
      `02-webhook-not-http.yaml:10 models[0].retrain.webhook: 'ftp://ml-platform/retrain' is not an http(s) URL; ${fix}`,
    ],
    [
      '03-bad-cadence.yaml',
      "03-bad-cadence.yaml:11 models[0].retrain.cadence: 'monthly' is not a valid cron expression (5 or 6 fields, e.g. '*/5 * * * *')",
    ],
    [
      '04-bad-cooldown.yaml',
      "04-bad-cooldown.yaml:11 models[0].retrain.cooldown: '1 day' is not a cooldown: write it like 30s, 5m, 1h or 7d",
    ],
    [
      '05-typo-key.yaml',
      "05-typo-key.yaml:11 models[0].retrain.cooldwon: unknown key; did you mean 'cooldown'?",
    ],
    [
      '06-header-not-string.yaml',
      '06-header-not-string.yaml:11 models[0].retrain.headers.x-retries: expected header values as strings',
    ],
  ];
  rejectsEachFixture(dir, cases);

  it('defaults: monthly cadence, 24 h cooldown; a model without retrain has none', () => {
    const c = loadConfigText(
      `warehouse: { url: 'postgresql://x/db' }\nmodels:\n${model('a', 'retrain: { webhook: "http://r/a" }')}${model('b')}`,
      'm.yaml',
      {},
      '/',
    );
    expect(c.raw.models.map((m) => m.retrain)).toEqual([
      { webhook: 'http://r/a', cadence: '0 3 1 * *', cooldown: 86_400_000 },
      undefined,
    ]);
  });
});

describe('backoff', () => {
  it('doubles from the base, is capped, and jitters by at most 10 %', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, 10_000, 600_000, mid))).toEqual([
      10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 600_000, 600_000,
    ]);
    expect(backoffDelay(1, 10_000, 600_000, () => 0)).toBe(9_000);
    expect(backoffDelay(20, 10_000, 600_000, () => 1)).toBe(660_000);
  });
});

// ----- served ---------------------------------------------------------------------------------------------

const served = useServedFixture('r', { modelTables: true });
let db: TestDb;
let sink: WebhookSink;
beforeAll(() => {
  ({ db, sink } = served);
});

interface Options {
  schema: string;
  /** The models section's entries (model(...) strings). */
  models: string;
  stateUrl?: string;
  logs?: ReturnType<typeof memoryLogger>;
}

function configOf(o: Options) {
  const text = [
    `warehouse: { url: '${db.configUrl}', statement_timeout: 10s }`,
    `state: { url: '${o.stateUrl ?? served.stateUrl}', schema: ${o.schema} }`,
    'models:',
    served.qualify(o.models),
    ACCESS_YAML,
  ].join('\n');
  return loadConfigText(text, 'retrain.yaml', {}, '/');
}

/** An in-process `mlwatch serve` on the test database; the same schema makes replicas of one deployment. */
function start(o: Options): Promise<Running> {
  return served.serve(configOf(o), {
    log: (o.logs ?? memoryLogger()).log,
    ownState: o.stateUrl !== undefined,
    retrain: { now: served.now, pollMs: 50, backoffMs: 150, backoffCapMs: 600, refreshMs: 100 },
  });
}

const url = (r: Running) => `http://127.0.0.1:${r.port}`;

const retrainModel = (name: string, extra = '') =>
  model(
    name,
    `retrain: { webhook: '${sink.url}/${name}', headers: { authorization: 'Bearer s3cret' }${extra} }`,
  );

const aucLow = firingAlert({
  labels: { alertname: 'MlwatchModelAucLow', model: 'credit', action: 'retrain', severity: 'critical' },
  annotations: { description: 'AUC 0.61 below 0.65' },
  fingerprint: 'f-auc-credit',
});

async function post(r: Running, alerts: unknown[], body?: unknown) {
  const res = await fetch(`${url(r)}/api/v1/retrain`, {
    method: 'POST',
    headers: WEBHOOK_HEADERS,
    body: JSON.stringify(body ?? { version: '4', receiver: 'retraining', status: 'firing', alerts }),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
  };
}

const requests = (r: Running, model?: string) => r.retrain.log.list(model ? { model } : {});
/**
 * Instead of sleeping and hoping no extra call comes: a round that may join one in flight, then a fresh round of
 * the dispatcher, which must find nothing left to send. The sink's count after it is final.
 */
async function nothingLeft(...replicas: Running[]): Promise<void> {
  for (const r of replicas) {
    await r.retrain.dispatchDue();
    expect(await r.retrain.dispatchDue(), 'a fresh dispatch round sends nothing').toBe(0);
  }
}
const metrics = async (r: Running) => parseExposition(await r.exporter.metricsText());

describe('POST /api/v1/retrain', () => {
  it('records a request for a firing alert, dispatches it once, and deduplicates within the cooldown', async () => {
    const a = await start({ schema: served.stateSchema(), models: retrainModel('credit') + model('churn') });
    const first = await post(a, [aucLow()]);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ requested: 1, deduplicated: 0, duplicates: 0, ignored: 0 });
    const id = first.body.alerts[0].request;

    await waitFor(() => sink.calls.length === 1, 10_000, 'the webhook called');
    const [call] = sink.calls;
    const [req] = await requests(a);
    expect(call?.path).toBe('/credit');
    expect(call?.headers.authorization).toBe('Bearer s3cret');
    expect(call?.headers['idempotency-key']).toBe(`mlwatch-retrain-${id}`);
    expect(call?.body).toEqual({
      id,
      model: 'credit',
      reason: 'alert',
      requested_at: req?.requestedAt,
      detail: {
        alertname: 'MlwatchModelAucLow',
        fingerprint: 'f-auc-credit',
        startsAt: '2026-11-29T01:00:00Z',
        labels: aucLow().labels,
        annotations: { description: 'AUC 0.61 below 0.65' },
      },
    });
    await waitFor(async () => (await requests(a))[0]?.state === 'dispatched', 5000, 'marked dispatched');

    // The same delivery again (Alertmanager retried): nothing new.
    expect((await post(a, [aucLow()])).body).toMatchObject({ requested: 0, deduplicated: 0, duplicates: 1 });
    // A repeat notification (later end) and another alert of the model within the cooldown: counted, not sent.
    const repeat = aucLow({ endsAt: '2026-11-29T05:04:00Z' });
    const other = aucLow({
      labels: { alertname: 'MlwatchModelEstimatedAccuracyDrop', model: 'credit' },
      fingerprint: 'f-est',
    });
    served.offsetMs = 23 * 3_600_000;
    expect((await post(a, [repeat, other])).body).toMatchObject({ requested: 0, deduplicated: 2 });
    const [deduped] = await requests(a);
    expect(deduped).toMatchObject({ id, state: 'dispatched', attempts: 1, failures: 0, deduplicated: 2 });

    // After the cooldown (24 h after the request) the alert still firing asks again.
    served.offsetMs = 24 * 3_600_000 + 60_000;
    const again = await post(a, [aucLow({ endsAt: '2026-11-30T01:04:00Z' })]);
    expect(again.body).toMatchObject({ requested: 1 });
    await waitFor(() => sink.calls.length === 2, 10_000, 'the second request dispatched');
    await nothingLeft(a);
    expect(sink.calls.length).toBe(2);

    const all = await requests(a);
    expect(all.map((r) => [r.reason, r.state])).toEqual([
      ['alert', 'dispatched'],
      ['alert', 'dispatched'],
    ]);
    await a.retrain.refresh();
    const m = await metrics(a);
    expect(
      sampleValue(m, 'mlwatch_model_last_retrain_request_timestamp_seconds', {
        model: 'credit',
        reason: 'alert',
      }),
    ).toBe(Date.parse(all[0]?.requestedAt as string) / 1000);
    expect(sampleValue(m, 'mlwatch_retrain_requests_pending', { model: 'credit' })).toBe(0);
    expect(sampleValue(m, 'mlwatch_retrain_dispatch_failures_total', { model: 'credit' })).toBe(0);
    // churn has no retrain config: no series of its own.
    expect(series(m, 'mlwatch_retrain_requests_pending', { model: 'churn' })).toEqual([]);
  });

  it('records nothing for alerts without a model or dataset, of a model without retrain config, or resolved', async () => {
    const a = await start({ schema: served.stateSchema(), models: retrainModel('credit') + model('churn') });
    const res = await post(a, [
      aucLow({ labels: { alertname: 'MlwatchCheckFailing', check: 'query:x' }, fingerprint: 'x0' }),
      // No model of this config names a dataset: a dataset alert has no one to ask.
      aucLow({ labels: { alertname: 'MlwatchDatasetDrift', dataset: 'applications' }, fingerprint: 'x1' }),
      aucLow({ labels: { alertname: 'MlwatchModelAucLow', model: 'churn' }, fingerprint: 'x2' }),
      aucLow({ labels: { alertname: 'MlwatchModelAucLow', model: 'unknown' }, fingerprint: 'x3' }),
      aucLow({ status: 'resolved', endsAt: '2026-11-29T02:00:00Z' }),
    ]);
    expect(res).toEqual({
      status: 200,
      body: {
        requested: 0,
        deduplicated: 0,
        duplicates: 0,
        ignored: 5,
        alerts: [
          { alertname: 'MlwatchCheckFailing', outcome: 'ignored: alert has no model or dataset label' },
          {
            alertname: 'MlwatchDatasetDrift',
            dataset: 'applications',
            outcome: 'ignored: no model reads the dataset',
          },
          {
            alertname: 'MlwatchModelAucLow',
            model: 'churn',
            outcome: 'ignored: model has no retrain config',
          },
          {
            alertname: 'MlwatchModelAucLow',
            model: 'unknown',
            outcome: 'ignored: model has no retrain config',
          },
          { alertname: 'MlwatchModelAucLow', model: 'credit', outcome: 'ignored: resolved' },
        ],
      },
    });
    expect(await requests(a)).toEqual([]);
  });

  it('answers 400 to what is not a version 4 payload, 405 to GET, and changes nothing', async () => {
    const a = await start({ schema: served.stateSchema(), models: retrainModel('credit') });
    const v3 = await post(a, [], { version: '3', alerts: [aucLow()] });
    expect(v3).toEqual({
      status: 400,
      body: 'not an Alertmanager webhook payload: version: expected version "4" (Alertmanager webhook payload)\n',
    });
    const badTime = await post(a, [], { version: '4', alerts: [aucLow({ startsAt: 'now' })] });
    expect(badTime.body).toBe(
      'not an Alertmanager webhook payload: alerts[0].startsAt: expected an RFC 3339 timestamp\n',
    );
    const notJson = await fetch(`${url(a)}/api/v1/retrain`, {
      method: 'POST',
      headers: WEBHOOK_HEADERS,
      body: '{nope',
    });
    expect(notJson.status).toBe(400);
    expect((await fetch(`${url(a)}/api/v1/retrain`)).status).toBe(405);
    expect(await requests(a)).toEqual([]);
  });

  it('answers 503 while the state store cannot be reached, so Alertmanager retries', async () => {
    const a = await served.serveStoreDown(`models:\n${retrainModel('credit')}\n${ACCESS_YAML}`, {
      loadAgain: () => {
        throw new Error('no reload');
      },
    });
    const res = await post(a, [aucLow()]);
    expect(res.status).toBe(503);
    expect(res.body).toMatch(/^state store unavailable: .*ECONNREFUSED/);
  });
});

describe('drift alerts retrain the models that read the drifted dataset', () => {
  // credit and scoring read applications (24 h and 1 h cooldowns), audit reads it without a retrain block,
  // churn reads customers.
  // A function: the sink's URL is known once beforeAll has run.
  const models = () =>
    [
      model('credit', `dataset: applications\n    retrain: { webhook: '${sink.url}/credit' }`),
      model(
        'scoring',
        `dataset: applications\n    retrain: { webhook: '${sink.url}/scoring', cooldown: 1h }`,
      ),
      model('audit', 'dataset: applications'),
      model('churn', `dataset: customers\n    retrain: { webhook: '${sink.url}/churn' }`),
    ].join('');
  const drift = (over: Partial<WebhookAlert> = {}): WebhookAlert =>
    aucLow({
      labels: {
        alertname: 'MlwatchDatasetDrift',
        dataset: 'applications',
        action: 'retrain',
        severity: 'warning',
      },
      annotations: { description: '33 % of the features of dataset applications have a PSI above 0.2' },
      fingerprint: 'f-drift-applications',
      ...over,
    });
  const feature = (over: Partial<WebhookAlert> = {}): WebhookAlert =>
    drift({
      labels: {
        alertname: 'MlwatchFeatureDrift',
        dataset: 'applications',
        feature: 'income',
        window: '1d',
        action: 'retrain',
        severity: 'warning',
      },
      annotations: { description: 'Feature income of dataset applications has a PSI of 1.93' },
      fingerprint: 'f-drift-income',
      ...over,
    });
  const outcomes = (body: { alerts: { model?: string; outcome: string }[] }) =>
    Object.fromEntries(body.alerts.map((e) => [e.model, e.outcome]));

  it('asks each reader once, with the alert as its reason, and leaves the models of other datasets alone', async () => {
    const a = await start({ schema: served.stateSchema(), models: models() });
    const first = await post(a, [drift()]);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ requested: 2, deduplicated: 0, duplicates: 0, ignored: 1 });
    // The summary names every model the alert reached, and why audit was not asked.
    expect(first.body.alerts).toEqual([
      {
        alertname: 'MlwatchDatasetDrift',
        dataset: 'applications',
        model: 'credit',
        outcome: 'requested',
        request: expect.any(Number),
      },
      {
        alertname: 'MlwatchDatasetDrift',
        dataset: 'applications',
        model: 'scoring',
        outcome: 'requested',
        request: expect.any(Number),
      },
      {
        alertname: 'MlwatchDatasetDrift',
        dataset: 'applications',
        model: 'audit',
        outcome: 'ignored: model has no retrain config',
      },
    ]);
    await waitFor(() => sink.calls.length === 2, 10_000, 'both readers called');
    expect(sink.calls.map((c) => c.path).sort()).toEqual(['/credit', '/scoring']);
    for (const c of sink.calls) {
      const name = c.path.slice(1);
      const [req] = await requests(a, name);
      expect(c.body).toEqual({
        id: req?.id,
        model: name,
        reason: 'alert',
        requested_at: req?.requestedAt,
        detail: {
          alertname: 'MlwatchDatasetDrift',
          fingerprint: 'f-drift-applications',
          startsAt: '2026-11-29T01:00:00Z',
          labels: drift().labels,
          annotations: drift().annotations,
        },
      });
    }
    expect(await requests(a, 'churn')).toEqual([]);
    expect(await requests(a, 'audit')).toEqual([]);

    // A drift alert of the other dataset asks its reader only.
    const customers = await post(a, [
      drift({ labels: { alertname: 'MlwatchDatasetDrift', dataset: 'customers' }, fingerprint: 'f-c' }),
    ]);
    expect(outcomes(customers.body)).toEqual({ churn: 'requested' });
    await waitFor(() => sink.calls.length === 3, 10_000, 'churn called');
    expect(sink.calls[2]?.path).toBe('/churn');
    // A dataset nobody reads: nothing to ask.
    expect(
      (
        await post(a, [
          drift({ labels: { alertname: 'MlwatchDatasetDrift', dataset: 'loans' }, fingerprint: 'f-l' }),
        ])
      ).body,
    ).toMatchObject({
      requested: 0,
      ignored: 1,
      alerts: [{ dataset: 'loans', outcome: 'ignored: no model reads the dataset' }],
    });
  });

  it("deduplicates within each model's own cooldown: the same delivery, a second drift alert, then one model again", async () => {
    const a = await start({ schema: served.stateSchema(), models: models() });
    // Alertmanager groups a dataset's drift alerts (retraining route, group_by [model, dataset]): the feature
    // alert and the dataset alert arrive together, and each reader gets one request for both.
    const together = await post(a, [feature(), drift()]);
    expect(together.body).toMatchObject({ requested: 2, deduplicated: 2, ignored: 2 });
    const [credit] = await requests(a, 'credit');
    const [scoring] = await requests(a, 'scoring');
    expect(credit).toMatchObject({ deduplicated: 1, detail: { alertname: 'MlwatchFeatureDrift' } });
    expect(scoring).toMatchObject({ deduplicated: 1, detail: { alertname: 'MlwatchFeatureDrift' } });
    await waitFor(() => sink.calls.length === 2, 10_000, 'one call per reader');

    // The same delivery again (Alertmanager retried): a duplicate for each model, nothing new.
    expect((await post(a, [feature()])).body).toMatchObject({ requested: 0, deduplicated: 0, duplicates: 2 });
    // A second drift alert 30 minutes later (another feature): within both cooldowns.
    served.offsetMs = 30 * 60_000;
    const second = feature({
      labels: { ...feature().labels, feature: 'age' },
      fingerprint: 'f-drift-age',
      startsAt: '2026-11-29T01:30:00Z',
    });
    expect(outcomes((await post(a, [second])).body)).toEqual({
      credit: 'deduplicated',
      scoring: 'deduplicated',
      audit: 'ignored: model has no retrain config',
    });
    // Two hours after the first request: past scoring's 1 h cooldown, within credit's 24 h.
    served.offsetMs = 2 * 3_600_000;
    expect(outcomes((await post(a, [drift({ endsAt: '2026-11-29T03:04:00Z' })])).body)).toEqual({
      credit: 'deduplicated',
      scoring: 'requested',
      audit: 'ignored: model has no retrain config',
    });
    await waitFor(() => sink.calls.length === 3, 10_000, 'scoring called again');
    await nothingLeft(a);
    expect(sink.calls.map((c) => c.path).sort()).toEqual(['/credit', '/scoring', '/scoring']);
    expect((await requests(a, 'credit')).map((r) => r.deduplicated)).toEqual([3]);
    expect((await requests(a, 'scoring')).map((r) => r.deduplicated)).toEqual([0, 2]);
    expect(await requests(a, 'churn')).toEqual([]);
  });

  it('prediction drift carries its model: only that model is asked, not the other readers of its dataset', async () => {
    const a = await start({ schema: served.stateSchema(), models: models() });
    const res = await post(a, [
      aucLow({
        labels: {
          alertname: 'MlwatchModelPredictionDrift',
          model: 'credit',
          dataset: 'applications',
          window: '1d',
          action: 'retrain',
        },
        fingerprint: 'f-pred',
      }),
    ]);
    expect(res.body.alerts).toEqual([
      {
        alertname: 'MlwatchModelPredictionDrift',
        model: 'credit',
        outcome: 'requested',
        request: expect.any(Number),
      },
    ]);
    await waitFor(() => sink.calls.length === 1, 10_000, 'credit called');
    expect(sink.calls[0]?.body).toMatchObject({
      model: 'credit',
      detail: { alertname: 'MlwatchModelPredictionDrift' },
    });
    expect(await requests(a, 'scoring')).toEqual([]);
  });
});

describe('dispatch', () => {
  it('retries a failing webhook with backoff and counts the failures', async () => {
    const a = await start({ schema: served.stateSchema(), models: retrainModel('credit') });
    sink.status = 500;
    await post(a, [aucLow()]);
    await waitFor(() => sink.calls.length >= 3, 10_000, 'three attempts');
    sink.status = 200;
    await waitFor(async () => (await requests(a))[0]?.state === 'dispatched', 10_000, 'dispatched at last');
    const [req] = await requests(a);
    const calls = sink.calls.map((c) => c.at);
    // Every call is the same request; the gaps grow: >= 0.9 x 150 ms, then >= 0.9 x 300 ms.
    expect(new Set(sink.calls.map((c) => c.body.id))).toEqual(new Set([req?.id]));
    expect(req).toMatchObject({ attempts: calls.length, failures: calls.length - 1 });
    expect(req?.lastError).toBe('HTTP 500: retraining service unavailable');
    expect((calls[1] as number) - (calls[0] as number)).toBeGreaterThanOrEqual(135);
    expect((calls[2] as number) - (calls[1] as number)).toBeGreaterThanOrEqual(270);
    const m = await metrics(a);
    expect(sampleValue(m, 'mlwatch_retrain_dispatch_failures_total', { model: 'credit' })).toBe(
      calls.length - 1,
    );
  });

  it('keeps a request pending across a restart and dispatches it exactly once when the webhook is back', async () => {
    const schema = served.stateSchema();
    await sink.close();
    const a = await start({ schema, models: retrainModel('credit') });
    await post(a, [aucLow()]);
    await waitFor(async () => ((await requests(a))[0]?.failures ?? 0) >= 1, 10_000, 'a failed attempt');
    expect((await requests(a))[0]?.lastError).toBe('ECONNREFUSED');
    expect(sampleValue(await metrics(a), 'mlwatch_retrain_requests_pending', { model: 'credit' })).toBe(1);
    await served.stop(a);

    await sink.open();
    const b = await start({ schema, models: retrainModel('credit') });
    await waitFor(
      async () => (await requests(b))[0]?.state === 'dispatched',
      10_000,
      'dispatched after restart',
    );
    await nothingLeft(b);
    expect(sink.calls.length).toBe(1);
    expect(await requests(b)).toHaveLength(1);
  });

  it('two replicas on one store record one request per model and dispatch each exactly once', async () => {
    const schema = served.stateSchema();
    const names = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];
    const models = names.map((n) => retrainModel(n)).join('');
    sink.status = 503; // requests pile up while both replicas retry them
    const [a, b] = [await start({ schema, models }), await start({ schema, models })] as [Running, Running];
    // Both replicas get an alert for every model at once (different alerts: they would be two requests
    // without the per-model lock and the cooldown).
    const alertsFor = (who: string) =>
      names.map((n) =>
        aucLow({ labels: { alertname: `Alert${who}`, model: n }, fingerprint: `${who}-${n}` }),
      );
    const [ra, rb] = await Promise.all([post(a, alertsFor('a')), post(b, alertsFor('b'))]);
    expect(ra.body.requested + rb.body.requested).toBe(names.length);
    expect(ra.body.deduplicated + rb.body.deduplicated).toBe(names.length);
    await waitFor(() => sink.calls.length >= 2 * names.length, 10_000, 'failed attempts by both');
    sink.calls.length = 0;
    sink.status = 200;
    await waitFor(
      async () => (await requests(a)).every((r) => r.state === 'dispatched'),
      10_000,
      'all dispatched',
    );
    await nothingLeft(a, b);
    const ids = sink.calls.map((c) => c.body.id);
    expect(ids.sort()).toEqual((await requests(a)).map((r) => r.id).sort());
    expect(sink.calls.map((c) => c.path).sort()).toEqual(names.map((n) => `/${n}`));
  });
});

describe('cadence', () => {
  it('one tick of two replicas records one request, deduplicated with alerts within the cooldown', async () => {
    const schema = served.stateSchema();
    const models = retrainModel('credit', ", cadence: '0 3 1 * *', cooldown: 12h");
    const [a, b] = [await start({ schema, models }), await start({ schema, models })] as [Running, Running];
    // Each replica's cron fires a few milliseconds apart within the slot's minute.
    const slot = new Date(Date.now() - 60_000);
    slot.setUTCSeconds(0, 0);
    served.offsetMs = slot.getTime() - Date.now();
    await Promise.all([
      a.retrain.cadenceTick('credit', new Date(slot.getTime() + 3)),
      b.retrain.cadenceTick('credit', new Date(slot.getTime() + 41)),
    ]);
    await waitFor(() => sink.calls.length === 1, 10_000, 'the cadence request dispatched');
    expect(sink.calls[0]?.body).toMatchObject({
      model: 'credit',
      reason: 'cadence',
      requested_at: slot.toISOString(),
      detail: { cadence: '0 3 1 * *', slot: slot.toISOString() },
    });
    // The same slot again (a late tick): nothing; an alert 11 h later: within the 12 h cooldown.
    await b.retrain.cadenceTick('credit', new Date(slot.getTime() + 59_000));
    served.offsetMs += 11 * 3_600_000;
    expect((await post(a, [aucLow()])).body).toMatchObject({ requested: 0, deduplicated: 1 });
    const all = await requests(a);
    expect(all.map((r) => [r.reason, r.deduplicated])).toEqual([['cadence', 1]]);
    await a.retrain.refresh();
    expect(
      sampleValue(await metrics(a), 'mlwatch_model_last_retrain_request_timestamp_seconds', {
        model: 'credit',
        reason: 'cadence',
      }),
    ).toBe(slot.getTime() / 1000);
    await nothingLeft(a);
    expect(sink.calls.length).toBe(1);
  });
});

describe('mlwatch retrain list', () => {
  it.skipIf(!onRealPostgres)('prints the requests as a table or JSON, filtered', async () => {
    const schema = served.stateSchema();
    const models = retrainModel('credit') + retrainModel('churn');
    const a = await start({ schema, models });
    sink.status = 500;
    await post(a, [
      aucLow(),
      aucLow({ labels: { alertname: 'MlwatchModelAucLow', model: 'churn' }, fingerprint: 'c' }),
    ]);
    await waitFor(async () => (await requests(a)).every((r) => r.failures >= 1), 10_000, 'failed attempts');
    await served.stop(a);
    const [churn, credit] = await (async () => {
      const r = await listRetrainRequests(configOf({ schema, models }), { limit: '100', json: true });
      return JSON.parse(r.out) as { id: number; model: string; requestedAt: string; attempts: number }[];
    })();
    expect([churn?.model, credit?.model]).toEqual(['churn', 'credit']);

    const listed = await listRetrainRequests(configOf({ schema, models }), { limit: '100', model: 'credit' });
    expect(listed.code).toBe(0);
    const [header, ...rows] = listed.out.split('\n');
    expect(header?.split(/\s{2,}/)).toEqual([
      'ID',
      'MODEL',
      'REASON',
      'STATE',
      'REQUESTED',
      'ATTEMPTS',
      'FAILURES',
      'DEDUPLICATED',
      'LAST ERROR',
    ]);
    expect(rows.map((r) => r.split(/\s{2,}/))).toEqual([
      [
        String(credit?.id),
        'credit',
        'alert',
        'pending',
        credit?.requestedAt,
        String(credit?.attempts),
        String(credit?.attempts),
        '0',
        'HTTP 500: retraining service unavailable',
      ],
    ]);
  });

  it('says what to do when there are no requests yet, or a flag is wrong', async () => {
    const config = configOf({ schema: 'never_started', models: retrainModel('credit') });
    const none = await listRetrainRequests(config, { limit: '100' });
    expect(none).toEqual({
      code: 1,
      out: 'no retraining requests table in schema never_started of the state store yet: start `mlwatch serve --config retrain.yaml` once, it creates it',
    });
    expect(await listRetrainRequests(config, { limit: '100', state: 'failed' })).toEqual({
      code: 1,
      out: "--state: expected one of pending, dispatched, not 'failed'",
    });
  });
});
