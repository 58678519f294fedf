import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateDb, pgliteStateDb, type StateDb } from '../src/actions/store/db.js';
import { StoreService } from '../src/actions/store/service.js';
import type { WebhookAlert } from '../src/actions/tickets/alert-payload.js';
import { ALERT_LAYERS, ALERT_TEAMS } from '../src/actions/tickets/ticket-labels.js';
import { loadConfigText } from '../src/config/load.js';
import { ALLOWED_LABELS } from '../tools/bundle-contract.js';
import { rejectsEachFixture } from './helpers/bad-config.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { memoryLogger } from './helpers/exporter.js';
import { parseExposition, sampleValue, series } from './helpers/exposition.js';

// mlwatch_tickets takes its team and layer labels only from known sets (the alert contract plus
// state.ticket_labels); a flood of alerts with made-up teams must not become a flood of series. Through the state
// level (StoreService, its registry), on the real PostgreSQL or an embedded PGlite.

describe('bad ticket_labels and ticket_forward.rate configs name the file, line, path and fix', () => {
  rejectsEachFixture('test/fixtures/bad-config-ticket-labels', [
    [
      '01-other.yaml',
      "01-other.yaml:4 state.ticket_labels.team[1]: 'other' is where unlisted team values are counted; pick another name",
    ],
    [
      '02-unknown-key.yaml',
      "02-unknown-key.yaml:4 state.ticket_labels.teams: unknown key; did you mean 'team'?",
    ],
    [
      '03-bad-rate.yaml',
      "03-bad-rate.yaml:5 state.ticket_forward.rate: '10 per second' is not a rate above 0; write it like 10/s, 80/m or 500/h (events a second, minute or hour)",
    ],
  ]);

  it('defaults to no extra values; the bundle contract reads the same lists', () => {
    const c = loadConfigText("warehouse: { url: 'postgresql://x/db' }\n", 'f.yaml', {}, '/');
    expect(c.raw.state.ticket_labels).toEqual({ team: [], layer: [] });
    expect(ALLOWED_LABELS.team).toBe(ALERT_TEAMS);
    expect(ALLOWED_LABELS.layer).toBe(ALERT_LAYERS);
  });
});

let db: TestDb;
let stateDb: StateDb;
let service: StoreService;
const registry = new Registry();
const schema = () => `${db.schema}_labels`;

beforeAll(async () => {
  db = await openTestDb();
  stateDb = db.pglite
    ? pgliteStateDb(db.pglite, false)
    : openStateDb({ url: db.url as string, applicationName: 'mlwatch-test', connectTimeoutMs: 5000 });
  service = new StoreService({
    db: stateDb,
    schema: schema(),
    log: memoryLogger().log,
    ticketLabels: loadConfigText(
      "warehouse: { url: 'postgresql://x/db' }\nstate:\n  ticket_labels: { team: [fraud], layer: [feature-store] }\n",
      'f.yaml',
      {},
      '/',
    ).raw.state.ticket_labels,
  });
  service.register(registry);
  await service.start();
  expect(service.isReady()).toBe(true);
}, 60_000);
afterAll(async () => {
  await service?.stop(); // closes stateDb
  if (db?.kind === 'pg') await db.writer.exec(`DROP SCHEMA IF EXISTS ${schema()} CASCADE`);
  await db?.close();
});

const alert = (fingerprint: string, labels: Record<string, string>): WebhookAlert => ({
  status: 'firing',
  labels: { alertname: 'MlwatchModelAucLow', severity: 'warning', ...labels },
  annotations: { summary: 'auc low' },
  startsAt: '2026-11-29T01:00:00Z',
  fingerprint,
});

async function scrape() {
  await service.refresh();
  const text = await registry.metrics();
  return { text, parsed: parseExposition(text) };
}

describe('mlwatch_tickets', () => {
  it('counts teams and layers outside the known sets as other: 10,000 made-up teams add one series', async () => {
    await service.tickets.ingest([
      alert('known', { team: 'platform', layer: 'data' }),
      alert('configured', { team: 'fraud', layer: 'feature-store' }),
      alert('unlabelled', {}),
    ]);
    const before = await scrape();
    const beforeSeries = series(before.parsed, 'mlwatch_tickets');
    expect(beforeSeries.map((s) => s.labels)).toEqual(
      expect.arrayContaining([
        { state: 'open', team: 'platform', layer: 'data' },
        { state: 'open', team: 'fraud', layer: 'feature-store' },
        // A missing label stays '', apart from `other`.
        { state: 'open', team: '', layer: '' },
      ]),
    );
    expect(beforeSeries).toHaveLength(3);

    // The finding of issue 11: four posts of 2,500 alerts, each alert with a team of its own.
    for (let post = 0; post < 4; post++) {
      const alerts = Array.from({ length: 2500 }, (_, i) =>
        alert(`flood-${post}-${i}`, { team: `team-${post}-${i}`, layer: 'data' }),
      );
      expect((await service.tickets.ingest(alerts)).opened).toBe(2500);
    }

    const after = await scrape();
    const afterSeries = series(after.parsed, 'mlwatch_tickets');
    expect(afterSeries).toHaveLength(beforeSeries.length + 1);
    expect(
      sampleValue(after.parsed, 'mlwatch_tickets', { state: 'open', team: 'other', layer: 'data' }),
    ).toBe(10_000);
    const grown = after.text.length - before.text.length;
    console.log(
      `mlwatch_tickets: ${beforeSeries.length} -> ${afterSeries.length} series, exposition +${grown} bytes`,
    );
    // One series line; one per made-up team would have been about 10,000 lines (some 600 KB).
    expect(grown).toBeLessThan(100);

    // A layer outside the contract counts as other too, under its known team.
    await service.tickets.ingest([alert('odd-layer', { team: 'platform', layer: 'gpu' })]);
    const odd = (await scrape()).parsed;
    expect(series(odd, 'mlwatch_tickets')).toHaveLength(afterSeries.length + 1);
    expect(sampleValue(odd, 'mlwatch_tickets', { state: 'open', team: 'platform', layer: 'other' })).toBe(1);
  }, 180_000);

  it('keeps the real team on each ticket: listing by it still finds the ticket', async () => {
    const found = await service.tickets.list({ team: 'team-3-2499' });
    expect(found.map((t) => [t.fingerprint, t.team, t.layer])).toEqual([
      ['flood-3-2499', 'team-3-2499', 'data'],
    ]);
    const gpu = await service.tickets.list({ layer: 'gpu' });
    expect(gpu.map((t) => t.fingerprint)).toEqual(['odd-layer']);
  });
});
