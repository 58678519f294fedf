import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateDb, pgliteStateDb, type StateDb } from '../src/actions/store/db.js';
import { migrate } from '../src/actions/store/migrations.js';
import type { WebhookAlert } from '../src/actions/tickets/alert-payload.js';
import { TicketForwarder } from '../src/actions/tickets/ticket-forward.js';
import { ticketForwardConfig } from '../src/actions/tickets/ticket-forward-config.js';
import { TicketLog } from '../src/actions/tickets/tickets.js';
import { quoteIdent } from '../src/sql/identifiers.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { memoryLogger } from './helpers/exporter.js';
import { waitFor } from './helpers/wait.js';
import { type SinkCall, type WebhookSink, webhookSink } from './helpers/webhook-sink.js';

// Forwarding that one flood cannot starve (issue 11): 10,000 warning tickets queued, then a critical one; the
// forwarder sends the critical one first, also when it arrives in the middle of the flood, and never faster than
// state.ticket_forward.rate. State level (TicketLog, TicketForwarder) with a real HTTP tracker (a local sink), on
// the real PostgreSQL or an embedded PGlite.

let db: TestDb;
let stateDb: StateDb;
let tracker: WebhookSink;
let log: TicketLog;
const schema = () => `${db.schema}_prio`;
const schemaSql = () => quoteIdent(schema());

beforeAll(async () => {
  db = await openTestDb();
  tracker = await webhookSink();
  stateDb = db.pglite
    ? pgliteStateDb(db.pglite, false)
    : openStateDb({ url: db.url as string, applicationName: 'mlwatch-test', connectTimeoutMs: 5000 });
  await migrate(stateDb, schemaSql());
  log = new TicketLog(stateDb, schemaSql(), new Set(['opened']));
}, 60_000);
afterAll(async () => {
  await tracker?.close();
  await stateDb?.close();
  if (db?.kind === 'pg') await db.writer.exec(`DROP SCHEMA IF EXISTS ${schema()} CASCADE`);
  await db?.close();
});

const alert = (fingerprint: string, severity: string): WebhookAlert => ({
  status: 'firing',
  // One model per alert: Alertmanager's fingerprint is a hash of the labels.
  labels: {
    alertname: 'MlwatchModelAucLow',
    severity,
    team: 'data-science',
    layer: 'model',
    model: fingerprint,
  },
  annotations: { summary: 'auc low' },
  startsAt: '2026-11-29T01:00:00Z',
  fingerprint,
});

const fingerprintOf = (c: SinkCall) => (c.body.ticket as { fingerprint: string }).fingerprint;
const ticketId = (c: SinkCall) => (c.body.ticket as { id: number }).id;

/** The most arrivals at the tracker within any 1 s window. */
function busiestSecond(calls: readonly SinkCall[]): number {
  let most = 0;
  for (let i = 0, j = 0; j < calls.length; j++) {
    while ((calls[j] as SinkCall).at - (calls[i] as SinkCall).at >= 1000) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}

describe('state.ticket_forward.rate', () => {
  it('reads events a second, minute or hour as events a second', () => {
    const rate = (r: string) => ticketForwardConfig.parse({ url: 'http://t/issues', rate: r }).rate;
    expect([rate('10/s'), rate('80/m'), rate('500/h'), rate('0.5/s')]).toEqual([
      10,
      80 / 60,
      500 / 3600,
      0.5,
    ]);
    expect(ticketForwardConfig.safeParse({ url: 'http://t/issues', rate: '0/s' }).success).toBe(false);
  });
});

describe('ticket forwarding under a flood', () => {
  it('sends the critical ticket before 10,000 older warnings, and at most the rate (default 10/s)', async () => {
    // A flood as the webhook cap lets it in: ten posts of 1,000 warnings, then one critical alert.
    for (let post = 0; post < 10; post++) {
      const alerts = Array.from({ length: 1000 }, (_, i) => alert(`warn-${post}-${i}`, 'warning'));
      expect((await log.ingest(alerts)).opened).toBe(1000);
    }
    await log.ingest([alert('crit-1', 'critical')]);

    const forwarder = new TicketForwarder({
      db: stateDb,
      schemaSql: schemaSql(),
      // The default rate: the option is not given.
      config: ticketForwardConfig.parse({ url: `${tracker.url}/issues` }),
      log: memoryLogger().log,
      isReady: () => true,
    });
    void forwarder.forwardDue();
    try {
      await waitFor(() => tracker.calls.length >= 30, 10_000, '30 events at the tracker');
      // A second critical ticket in the middle of the flood overtakes every warning still queued.
      await log.ingest([alert('crit-2', 'critical')]);
      const queuedAt = tracker.calls.length;
      const queuedAtMs = Date.now();
      await waitFor(() => tracker.calls.some((c) => fingerprintOf(c) === 'crit-2'), 5000, 'crit-2 forwarded');
      const crit2 = tracker.calls.findIndex((c) => fingerprintOf(c) === 'crit-2');
      // At most the one send already under way when it was queued goes before it.
      expect(crit2 - queuedAt).toBeLessThanOrEqual(1);
      console.log(
        `crit-2 queued after ${queuedAt} sends, sent as #${crit2 + 1}, ${(tracker.calls[crit2] as SinkCall).at - queuedAtMs} ms later`,
      );
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await forwarder.stop();
    }
    const calls = [...tracker.calls];
    expect(fingerprintOf(calls[0] as SinkCall)).toBe('crit-1');
    // The warnings go oldest first: by ticket id, from the first of the flood (a fresh schema starts at 1).
    const warnIds = calls.filter((c) => fingerprintOf(c).startsWith('warn-')).map((c) => ticketId(c));
    expect(warnIds[0]).toBe(1);
    expect(warnIds).toEqual([...warnIds].sort((a, b) => a - b));
    const seconds = ((calls.at(-1) as SinkCall).at - (calls[0] as SinkCall).at) / 1000;
    const most = busiestSecond(calls);
    console.log(
      `forwarded ${calls.length} events in ${seconds.toFixed(2)} s (${(calls.length / seconds).toFixed(1)}/s), busiest second ${most}`,
    );
    // 10/s with a bucket of one: sends 100 ms apart, so a 1 s window at the tracker holds 10, or 11 when the
    // delivery of the first one in it was quicker than the last one's.
    expect(most).toBeLessThanOrEqual(11);
    // And it is a rate, not a trickle: at 10/s, n sends take (n - 1) / 10 s.
    expect(seconds).toBeGreaterThanOrEqual((calls.length - 1) / 10 - 0.05);
    expect(calls.length / seconds).toBeGreaterThan(8);
  }, 180_000);
});
