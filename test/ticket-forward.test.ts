import { beforeAll, describe, expect, it } from 'vitest';
import { openStateDb, pgliteStateDb } from '../src/actions/store/db.js';
import { OutboxTable } from '../src/actions/store/outbox.js';
import { loadConfigText } from '../src/config/load.js';
import type { Running } from '../src/runtime/serve.js';
import { firingAlert, STALE_LABELS, type WebhookAlert } from './helpers/alerts.js';
import { rejectsEachFixture } from './helpers/bad-config.js';
import { ACCESS_YAML, WEBHOOK_HEADERS } from './helpers/credentials.js';
import type { TestDb } from './helpers/db.js';
import { parseExposition, sampleValue, series } from './helpers/exposition.js';
import { useServedFixture } from './helpers/served.js';
import { waitFor } from './helpers/wait.js';
import type { SinkCall, WebhookSink } from './helpers/webhook-sink.js';

// Forwarding the ticket log's events to an external tracker (state.ticket_forward), through in-process `serve()`
// exporters over HTTP, with the state store on the real PostgreSQL (or one embedded PGlite that two in-process
// exporters share, standing in for one database). The tracker is a local HTTP sink.

describe('bad ticket_forward configs name the file, line, path and fix', () => {
  const dir = 'test/fixtures/bad-config-ticket-forward';
  const cases: [string, string][] = [
    [
      '01-missing-url.yaml',
      '01-missing-url.yaml:3 state.ticket_forward.url: missing; give the http(s) URL that receives the ticket events, e.g. https://tracker/api/issues',
    ],
    [
      '02-unknown-event.yaml',
      "02-unknown-event.yaml:5 state.ticket_forward.on[1]: 'closed' is not a ticket event; use opened or resolved",
    ],
    [
      '03-no-event.yaml',
      '03-no-event.yaml:5 state.ticket_forward.on: give at least one event (opened, resolved), or remove ticket_forward',
    ],
  ];
  rejectsEachFixture(dir, cases);
  it('defaults: both events, a 10 s timeout, 10 events a second; headers expand the environment', () => {
    const c = loadConfigText(
      "warehouse: { url: 'postgresql://x/db' }\nstate:\n  ticket_forward:\n    url: http://t/issues\n    headers: { authorization: 'Bearer ${TRACKER_TOKEN}' }\n",
      'f.yaml',
      { TRACKER_TOKEN: 's3cret' },
      '/',
    );
    expect(c.raw.state.ticket_forward).toEqual({
      url: 'http://t/issues',
      headers: { authorization: 'Bearer s3cret' },
      timeout: 10_000,
      rate: 10,
      on: ['opened', 'resolved'],
    });
  });
});

// ----- served ---------------------------------------------------------------------------------------------

const served = useServedFixture('f');
let db: TestDb;
/** The tracker: the sink stands for it. */
let tracker: WebhookSink;
beforeAll(() => {
  ({ db, sink: tracker } = served);
});

/** An in-process `mlwatch serve`; `forward` is the ticket_forward block (YAML flow), or none. */
async function start(schema: string, forward?: string, timing: { leaseMarginMs?: number } = {}) {
  const text = [
    `warehouse: { url: '${db.configUrl}' }`,
    'state:',
    `  url: '${served.stateUrl}'`,
    `  schema: ${schema}`,
    ...(forward ? [`  ticket_forward: ${forward}`] : []),
    ACCESS_YAML,
  ].join('\n');
  const config = loadConfigText(text, 'forward.yaml', { TRACKER_TOKEN: 't0ken' }, '/');
  return served.serve(config, {
    ticketForward: { pollMs: 50, backoffMs: 150, backoffCapMs: 600, ...timing },
  });
}

const forwardTo = (extra = '') =>
  `{ url: '${tracker.url}/issues', headers: { authorization: 'Bearer \${TRACKER_TOKEN}' }${extra} }`;

type Alert = WebhookAlert;
const labels = STALE_LABELS;
const firing = firingAlert({
  labels,
  annotations: { summary: 'applications is stale' },
  fingerprint: 'fp-stale',
});

async function post(r: Running, alerts: Alert[]) {
  const res = await fetch(`http://127.0.0.1:${r.port}/api/v1/alerts`, {
    method: 'POST',
    headers: WEBHOOK_HEADERS,
    body: JSON.stringify({ version: '4', receiver: 'ticketing', status: 'firing', alerts }),
  });
  expect(res.status).toBe(200);
  return res.json();
}

/** The outbox as stored, read on its own connection (not through the code under test). */
async function outbox(schema: string) {
  return db.writer.query(
    `SELECT ticket_id::int AS ticket, event, state, attempts, failures, last_error
       FROM ${schema}.ticket_outbox ORDER BY id`,
  );
}

const metrics = async (r: Running) => parseExposition(await r.exporter.metricsText());
/**
 * Instead of sleeping and hoping no extra event goes out: a forwarding round that may join one in flight, then
 * a fresh round, which must find nothing left to send (a replica without ticket_forward has no forwarder). The
 * tracker's calls after it are final.
 */
async function settle(r: Running): Promise<void> {
  await r.state.forwarder?.forwardDue();
  expect((await r.state.forwarder?.forwardDue()) ?? 0, 'a fresh forwarding round sends nothing').toBe(0);
}
const keyOf = (c: SinkCall) => c.headers['idempotency-key'];

/** What the tracker must receive for an alert, written out from the alert itself. */
function expectedBody(a: Alert, id: number, event: 'opened' | 'resolved', resolvedAt: string | null) {
  return {
    event,
    ticket: {
      id,
      fingerprint: a.fingerprint,
      alertname: a.labels.alertname,
      severity: a.labels.severity ?? null,
      team: a.labels.team ?? null,
      layer: a.labels.layer ?? null,
      labels: a.labels,
      annotations: a.annotations,
      state: resolvedAt ? 'resolved' : 'open',
      startsAt: new Date(a.startsAt).toISOString(),
      resolvedAt,
    },
  };
}

describe('forwarding', () => {
  it('sends opened and resolved once each, with the ticket, its idempotency key and the configured headers', async () => {
    const schema = served.stateSchema();
    const a = await start(schema, forwardTo());
    await post(a, [firing()]);
    await waitFor(() => tracker.calls.length === 1, 10_000, 'the opened event');
    const [ticket] = await a.state.tickets.list();
    const id = ticket?.id as number;
    const [opened] = tracker.calls;
    expect(opened?.path).toBe('/issues');
    expect(opened?.headers.authorization).toBe('Bearer t0ken');
    expect(opened?.headers['content-type']).toBe('application/json');
    expect(keyOf(opened as SinkCall)).toBe(`mlwatch-ticket-${id}-opened`);
    expect(opened?.body).toEqual(expectedBody(firing(), id, 'opened', null));

    // The same delivery again, and a repeat notification: the ticket counts it, the tracker hears nothing.
    await post(a, [firing()]);
    await post(a, [firing({ endsAt: '2026-11-29T01:08:00Z', annotations: { summary: 'still stale' } })]);
    await settle(a);
    expect(tracker.calls).toHaveLength(1);

    const resolved = firing({ status: 'resolved', endsAt: '2026-11-29T02:00:00Z' });
    await post(a, [resolved]);
    await waitFor(() => tracker.calls.length === 2, 10_000, 'the resolved event');
    const second = tracker.calls[1] as SinkCall;
    expect(keyOf(second)).toBe(`mlwatch-ticket-${id}-resolved`);
    // The ticket as the resolved notification left it (its annotations), resolved at the alert's end.
    expect(second.body).toEqual(expectedBody(resolved, id, 'resolved', '2026-11-29T02:00:00.000Z'));
    // A second resolved notification (another end) is a new delivery but not a new event.
    await post(a, [firing({ status: 'resolved', endsAt: '2026-11-29T02:05:00Z' })]);
    await settle(a);
    expect(tracker.calls).toHaveLength(2);
    expect(await outbox(schema)).toEqual([
      { ticket: id, event: 'opened', state: 'dispatched', attempts: 1, failures: 0, last_error: null },
      { ticket: id, event: 'resolved', state: 'dispatched', attempts: 1, failures: 0, last_error: null },
    ]);
    await a.state.refresh();
    const m = await metrics(a);
    expect(sampleValue(m, 'mlwatch_ticket_forward_pending', {})).toBe(0);
    expect(sampleValue(m, 'mlwatch_ticket_forward_failures_total', {})).toBe(0);
  });

  it('opens before resolving a ticket first seen resolved, and sends only the configured events', async () => {
    const a = await start(served.stateSchema(), forwardTo());
    const late = firing({ status: 'resolved', fingerprint: 'fp-late', endsAt: '2026-11-29T01:30:00Z' });
    await post(a, [late]);
    await waitFor(() => tracker.calls.length === 2, 10_000, 'both events');
    expect(tracker.calls.map((c) => c.body.event)).toEqual(['opened', 'resolved']);
    await served.stop(a);
    tracker.calls.length = 0;

    const schema = served.stateSchema();
    const b = await start(schema, forwardTo(', on: [resolved]'));
    await post(b, [firing()]);
    await post(b, [firing({ status: 'resolved', endsAt: '2026-11-29T02:00:00Z' })]);
    await waitFor(() => tracker.calls.length === 1, 10_000, 'the resolved event');
    await settle(b);
    expect(tracker.calls.map((c) => c.body.event)).toEqual(['resolved']);
    expect((await outbox(schema)).map((r) => r.event)).toEqual(['resolved']);
  });

  it('retries while the tracker fails, with backoff, and delivers each event exactly once when it is back', async () => {
    const schema = served.stateSchema();
    const a = await start(schema, forwardTo());
    tracker.status = 503;
    await post(a, [firing()]);
    await waitFor(() => tracker.calls.length >= 3, 10_000, 'three failed attempts');
    await a.state.refresh();
    expect(sampleValue(await metrics(a), 'mlwatch_ticket_forward_pending', {})).toBe(1);
    tracker.status = 200;
    await waitFor(async () => (await outbox(schema))[0]?.state === 'dispatched', 10_000, 'accepted');
    await settle(a);
    const calls = tracker.calls;
    // Every attempt is the same event under the same key; only the last was accepted.
    expect(new Set(calls.map(keyOf)).size).toBe(1);
    const [row] = await outbox(schema);
    expect(row).toMatchObject({ attempts: calls.length, failures: calls.length - 1 });
    expect(row?.last_error).toBe('HTTP 503: retraining service unavailable');
    const at = calls.map((c) => c.at);
    // Gaps grow: >= 0.9 x 150 ms, then >= 0.9 x 300 ms.
    expect((at[1] as number) - (at[0] as number)).toBeGreaterThanOrEqual(135);
    expect((at[2] as number) - (at[1] as number)).toBeGreaterThanOrEqual(270);
    await a.state.refresh();
    const m = await metrics(a);
    expect(sampleValue(m, 'mlwatch_ticket_forward_failures_total', {})).toBe(calls.length - 1);
    expect(sampleValue(m, 'mlwatch_ticket_forward_pending', {})).toBe(0);
  });

  it('keeps events pending across a restart while the tracker is down, then sends each once', async () => {
    const schema = served.stateSchema();
    await tracker.close();
    const a = await start(schema, forwardTo());
    await post(a, [
      firing(),
      firing({ fingerprint: 'fp-2', labels: { ...labels, dataset: 'outcomes' }, status: 'resolved' }),
    ]);
    await waitFor(
      async () => (await outbox(schema)).every((r) => Number(r.failures) >= 1),
      10_000,
      'failed attempts',
    );
    expect((await outbox(schema)).map((r) => r.last_error)).toEqual([
      'ECONNREFUSED',
      'ECONNREFUSED',
      'ECONNREFUSED',
    ]);
    await served.stop(a);

    await tracker.open();
    const b = await start(schema, forwardTo());
    await waitFor(
      async () => (await outbox(schema)).every((r) => r.state === 'dispatched'),
      10_000,
      'all sent after the restart',
    );
    await settle(b);
    const tickets = await b.state.tickets.list();
    const expected = tickets.flatMap((t) =>
      t.state === 'resolved'
        ? [`mlwatch-ticket-${t.id}-opened`, `mlwatch-ticket-${t.id}-resolved`]
        : [`mlwatch-ticket-${t.id}-opened`],
    );
    expect(tracker.calls.map(keyOf).sort()).toEqual(expected.sort());
  });

  it('an exporter stopping in the middle of a send puts the event back; the next sends it under the same key', async () => {
    const schema = served.stateSchema();
    tracker.holdMs = 60_000; // the tracker takes the request and hangs
    const a = await start(schema, forwardTo());
    await post(a, [firing()]);
    await waitFor(() => tracker.calls.length === 1, 10_000, 'the attempt in flight');
    const stopping = Date.now();
    await served.stop(a);
    // It did not wait for the tracker (10 s timeout), and left the event due at once rather than claimed.
    expect(Date.now() - stopping).toBeLessThan(5000);
    expect(await outbox(schema)).toEqual([
      expect.objectContaining({ state: 'pending', attempts: 1, last_error: 'aborted: exporter stopping' }),
    ]);

    tracker.holdMs = 0;
    const c = await start(schema, forwardTo());
    await waitFor(async () => (await outbox(schema))[0]?.state === 'dispatched', 10_000, 'sent again');
    await settle(c);
    const [first, again] = tracker.calls;
    expect(tracker.calls).toHaveLength(2);
    expect(keyOf(again as SinkCall)).toBe(keyOf(first as SinkCall));
    expect(again?.body).toEqual(first?.body);
  });

  it('a replica that died in the middle of a send holds the event until its claim runs out, then another sends it', async () => {
    const schema = served.stateSchema();
    await tracker.close();
    const a = await start(schema, forwardTo());
    await post(a, [firing()]);
    await waitFor(async () => Number((await outbox(schema))[0]?.failures) >= 1, 10_000, 'a failed attempt');
    await served.stop(a);
    const before = (await outbox(schema))[0] as { attempts: number };

    // What a replica that claimed the event and died leaves in the store: a claim with a lease of 1.5 s.
    const own = db.pglite
      ? pgliteStateDb(db.pglite, false)
      : openStateDb({ url: db.url as string, applicationName: 'test', connectTimeoutMs: 5000 });
    // Claimed as of 1 s from now (past the failed attempt's backoff), so the lease ends 1.5 s from now.
    const leaseEnd = Date.now() + 1500;
    await waitFor(
      async () => new OutboxTable(own, `${schema}.ticket_outbox`, []).claimDue(new Date(leaseEnd - 500), 500),
      5000,
      "the dead replica's claim",
    );
    await own.close();
    await tracker.open();
    const c = await start(schema, forwardTo(', timeout: 1s'), { leaseMarginMs: 300 });
    await waitFor(() => tracker.calls.length === 1, 10_000, 'sent by the live replica');
    expect(tracker.calls[0]?.at).toBeGreaterThanOrEqual(leaseEnd - 50);
    await waitFor(async () => (await outbox(schema))[0]?.state === 'dispatched', 5000, 'marked dispatched');
    await settle(c);
    expect(tracker.calls).toHaveLength(1);
    expect((await outbox(schema))[0]?.attempts).toBe(before.attempts + 2);
  });

  it('two replicas on one store send every event exactly once', async () => {
    const schema = served.stateSchema();
    tracker.status = 503; // events pile up while both replicas retry them
    const [a, b] = [await start(schema, forwardTo()), await start(schema, forwardTo())] as [Running, Running];
    // Six datasets: distinct labels, as Alertmanager's distinct fingerprints come from.
    const alerts = Array.from({ length: 6 }, (_, i) =>
      firing({ fingerprint: `fp-${i}`, labels: { ...labels, dataset: `d${i}` } }),
    );
    // Both receive the same webhook at once (Alertmanager's HA pair): each ticket is opened once.
    await Promise.all([post(a, alerts), post(b, alerts)]);
    await waitFor(() => tracker.calls.length >= 12, 10_000, 'failed attempts by both');
    tracker.calls.length = 0;
    tracker.status = 200;
    await waitFor(
      async () => (await outbox(schema)).every((r) => r.state === 'dispatched'),
      10_000,
      'all sent',
    );
    await settle(a);
    const ids = (await a.state.tickets.list()).map((t) => t.id);
    expect(ids).toHaveLength(6);
    expect(tracker.calls.map(keyOf).sort()).toEqual(ids.map((id) => `mlwatch-ticket-${id}-opened`).sort());
  });

  it('is off without ticket_forward: nothing queued, nothing sent, no forwarding series', async () => {
    const schema = served.stateSchema();
    const a = await start(schema);
    await post(a, [firing()]);
    await post(a, [firing({ status: 'resolved', endsAt: '2026-11-29T02:00:00Z' })]);
    await settle(a);
    expect(a.state.forwarder).toBeUndefined();
    expect(tracker.calls).toEqual([]);
    expect(await outbox(schema)).toEqual([]);
    const m = await metrics(a);
    expect(series(m, 'mlwatch_ticket_forward_pending', {})).toEqual([]);
    expect(series(m, 'mlwatch_ticket_forward_failures_total', {})).toEqual([]);
    expect(sampleValue(m, 'mlwatch_tickets', { state: 'resolved', team: 'platform', layer: 'data' })).toBe(1);
  });
});
