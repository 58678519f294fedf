import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateDb } from '../src/actions/store/db.js';
import { MIGRATIONS, migrate } from '../src/actions/store/migrations.js';
import { firingAlert, STALE_LABELS } from './helpers/alerts.js';
import { runCli, type Served, startCli } from './helpers/cli.js';
import { ACCESS_YAML, VIEWER_HEADERS, WEBHOOK_HEADERS } from './helpers/credentials.js';
import { onRealPostgres, openTestDb, type TestDb } from './helpers/db.js';
import { sampleValue } from './helpers/exposition.js';
import { scrape, waitFor } from './helpers/wait.js';
import { webhookSink } from './helpers/webhook-sink.js';

// The ticket log behind Alertmanager's `ticketing` receiver, through the real `mlwatch serve` over HTTP, with
// its state store on the real PostgreSQL (or an embedded PGlite when there is none).
const dir = mkdtempSync(join(tmpdir(), 'mlwatch-tickets-'));
let db: TestDb;
let stateSchema: string;
let served: Served;

const stateUrl = () => db.url ?? 'pglite:memory';

async function serveWith(name: string, state: string): Promise<Served> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `warehouse: { url: '${db.configUrl}' }\nstate: ${state}\n${ACCESS_YAML}`);
  return startCli(['serve', '--config', file, '--port', '0', '--host', '127.0.0.1']);
}

const ready = (s: Served) =>
  waitFor(
    async () => (await fetch(`${s.url}/api/v1/tickets`, { headers: VIEWER_HEADERS })).status === 200,
    20_000,
    'state store ready',
  );

const labels = STALE_LABELS;
const firing = firingAlert({ labels, annotations: { summary: 'stale' }, fingerprint: 'a1b2c3' });

async function post(s: Served, alerts: unknown[], extra: Record<string, unknown> = {}) {
  const res = await fetch(`${s.url}/api/v1/alerts`, {
    method: 'POST',
    headers: WEBHOOK_HEADERS,
    body: JSON.stringify({ version: '4', receiver: 'ticketing', status: 'firing', alerts, ...extra }),
  });
  return {
    status: res.status,
    body: res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text(),
  };
}

async function tickets(s: Served, query = '') {
  const res = await fetch(`${s.url}/api/v1/tickets${query}`, { headers: VIEWER_HEADERS });
  return ((await res.json()) as { tickets: Record<string, unknown>[] }).tickets;
}

beforeAll(async () => {
  db = await openTestDb();
  stateSchema = `${db.schema}_state`;
  served = await serveWith('main', `{ url: '${stateUrl()}', schema: ${stateSchema} }`);
  await ready(served);
});
afterAll(async () => {
  await served?.stop('SIGKILL');
  if (db?.kind === 'pg') await db.writer.exec(`DROP SCHEMA IF EXISTS ${stateSchema} CASCADE`);
  await db?.close();
});

describe('state store migrations', () => {
  it('bring an empty schema up to date once, also when two exporters start together', async () => {
    const schema = `${db.schema}_mig`;
    const a = openStateDb({ url: stateUrl(), applicationName: 'mlwatch-test', connectTimeoutMs: 5000 });
    const b =
      db.kind === 'pg'
        ? openStateDb({ url: stateUrl(), applicationName: 'mlwatch-test', connectTimeoutMs: 5000 })
        : a;
    try {
      const both = await Promise.all([migrate(a, `"${schema}"`), migrate(b, `"${schema}"`)]);
      // Exactly one of them applied the migrations; the other found them done.
      expect(both.map((v) => v.join(',')).sort()).toEqual(['', MIGRATIONS.map((m) => m.version).join(',')]);
      expect(await migrate(a, `"${schema}"`)).toEqual([]);
      const tables = await a.transaction((tx) =>
        tx.query(
          'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
          [schema],
        ),
      );
      // Other features' tables (rollbacks, ...) come with their migrations; these are the ticket log's and
      // retraining's.
      expect(tables.map((t) => t.table_name)).toEqual(
        expect.arrayContaining([
          'retrain_requests',
          'retrain_triggers',
          'schema_migrations',
          'ticket_deliveries',
          'ticket_outbox',
          'tickets',
        ]),
      );
    } finally {
      await a.transaction((tx) => tx.query(`DROP SCHEMA "${schema}" CASCADE`));
      await a.close();
      if (b !== a) await b.close();
    }
  });
});

describe('POST /api/v1/alerts and GET /api/v1/tickets', () => {
  it('opens a ticket on firing, ignores the same payload twice, counts a repeat, and resolves it', async () => {
    expect((await post(served, [firing()])).body).toEqual({
      opened: 1,
      updated: 0,
      resolved: 0,
      duplicates: 0,
    });
    const [opened] = await tickets(served);
    expect(opened).toMatchObject({
      alertname: 'MlwatchDatasetStale',
      state: 'open',
      severity: 'critical',
      team: 'platform',
      layer: 'data',
      notifications: 1,
      startsAt: '2026-11-29T01:00:00.000Z',
      resolvedAt: null,
      labels,
    });

    // Alertmanager retried the same webhook: nothing changes, not even last seen.
    expect((await post(served, [firing()])).body).toEqual({
      opened: 0,
      updated: 0,
      resolved: 0,
      duplicates: 1,
    });
    expect(await tickets(served)).toEqual([opened]);

    // A repeat notification carries a later end: counted on the same ticket.
    expect((await post(served, [firing({ endsAt: '2026-11-29T01:08:00Z' })])).body).toMatchObject({
      updated: 1,
    });
    const [repeated] = await tickets(served);
    expect(repeated).toMatchObject({ id: opened?.id, state: 'open', notifications: 2 });

    const resolved = firing({ status: 'resolved', endsAt: '2026-11-29T01:10:00Z' });
    expect((await post(served, [resolved])).body).toMatchObject({ resolved: 1 });
    expect((await post(served, [resolved])).body).toMatchObject({ duplicates: 1 });
    const [closed] = await tickets(served);
    expect(closed).toMatchObject({
      id: opened?.id,
      state: 'resolved',
      resolvedAt: '2026-11-29T01:10:00.000Z',
      notifications: 3,
    });

    // The same alert firing again later starts again: a new ticket, the old one stays resolved.
    expect(
      (await post(served, [firing({ startsAt: '2026-11-29T02:00:00Z', endsAt: '2026-11-29T02:04:00Z' })]))
        .body,
    ).toMatchObject({ opened: 1 });
    const all = await tickets(served, '?limit=10');
    expect(all.map((t) => [t.state, t.startsAt])).toEqual([
      ['open', '2026-11-29T02:00:00.000Z'],
      ['resolved', '2026-11-29T01:00:00.000Z'],
    ]);
  });

  it('filters by state, team and layer, and exports the counts as mlwatch_tickets', async () => {
    const model = {
      alertname: 'MlwatchModelAucLow',
      model: 'credit',
      severity: 'critical',
      team: 'data-science',
      layer: 'model',
    };
    const kpi = {
      alertname: 'MlwatchKpiBelowBaseline',
      kpi: 'approval_rate',
      severity: 'warning',
      team: 'business',
      layer: 'business',
    };
    const r = await post(served, [
      firing({ labels: model, fingerprint: 'm1' }),
      firing({ labels: kpi, fingerprint: 'k1' }),
      firing({ labels: kpi, fingerprint: 'k2', status: 'resolved', endsAt: '2026-11-29T01:30:00Z' }),
    ]);
    expect(r.body).toEqual({ opened: 2, updated: 0, resolved: 1, duplicates: 0 });

    expect((await tickets(served, '?team=data-science')).map((t) => t.alertname)).toEqual([
      'MlwatchModelAucLow',
    ]);
    expect((await tickets(served, '?layer=business&state=open')).map((t) => t.labels)).toEqual([kpi]);
    expect((await tickets(served, '?state=resolved')).length).toBe(2);

    const m = await scrape(served.url);
    // Independently: the first test left one open and one resolved platform/data ticket.
    expect(sampleValue(m, 'mlwatch_tickets', { state: 'open', team: 'platform', layer: 'data' })).toBe(1);
    expect(sampleValue(m, 'mlwatch_tickets', { state: 'resolved', team: 'platform', layer: 'data' })).toBe(1);
    expect(sampleValue(m, 'mlwatch_tickets', { state: 'open', team: 'data-science', layer: 'model' })).toBe(
      1,
    );
    expect(sampleValue(m, 'mlwatch_tickets', { state: 'open', team: 'business', layer: 'business' })).toBe(1);
    expect(
      sampleValue(m, 'mlwatch_tickets', { state: 'resolved', team: 'business', layer: 'business' }),
    ).toBe(1);
    expect(sampleValue(m, 'mlwatch_state_store_up')).toBe(1);
  });

  it('answers a bad request with 4xx and the reason, and changes nothing', async () => {
    const before = await tickets(served, '?limit=1000');
    const cases: [unknown, number, string][] = [
      ['{not json', 400, 'invalid JSON'],
      [{ version: '3', alerts: [] }, 400, 'version: expected version "4"'],
      [{ version: '4', alerts: [{ ...firing(), fingerprint: '' }] }, 400, 'alerts[0].fingerprint'],
      [
        { version: '4', alerts: [{ ...firing(), startsAt: 'yesterday' }] },
        400,
        'alerts[0].startsAt: expected an RFC 3339 timestamp',
      ],
      [
        { version: '4', alerts: [firing(), { ...firing(), status: 'pending' }] },
        400,
        "alerts[1].status: expected status 'firing' or 'resolved'",
      ],
    ];
    for (const [body, status, reason] of cases) {
      const res = await fetch(`${served.url}/api/v1/alerts`, {
        method: 'POST',
        headers: WEBHOOK_HEADERS,
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      expect([res.status, await res.text()]).toEqual([status, expect.stringContaining(reason)]);
    }
    expect((await fetch(`${served.url}/api/v1/alerts`)).status).toBe(405);
    const badFilter = await fetch(`${served.url}/api/v1/tickets?state=closed`, {
      headers: VIEWER_HEADERS,
    });
    expect([badFilter.status, await badFilter.text()]).toEqual([
      400,
      "state must be one of open, resolved, not 'closed'\n",
    ]);
    expect((await fetch(`${served.url}/api/v1/tickets?limit=0`, { headers: VIEWER_HEADERS })).status).toBe(
      400,
    );
    expect(await tickets(served, '?limit=1000')).toEqual(before);
  });

  it('answers 503 while the state store cannot be reached, so Alertmanager retries', async () => {
    const down = await serveWith(
      'down',
      `{ url: 'postgresql://postgres@127.0.0.1:1/test', schema: unreachable }`,
    );
    try {
      const res = await post(down, [firing()]);
      expect(res.status).toBe(503);
      expect(res.body).toMatch(/^state store unavailable: .*ECONNREFUSED/);
      expect((await fetch(`${down.url}/api/v1/tickets`, { headers: VIEWER_HEADERS })).status).toBe(503);
      expect(sampleValue(await scrape(down.url), 'mlwatch_state_store_up')).toBe(0);
    } finally {
      await down.stop('SIGKILL');
    }
  });
});

describe.skipIf(!onRealPostgres)('after a restart', () => {
  it('every ticket is still there and the log carries on', async () => {
    const before = await tickets(served, '?limit=1000');
    await served.stop('SIGKILL');
    served = await serveWith('main', `{ url: '${stateUrl()}', schema: ${stateSchema} }`);
    await ready(served);
    expect(await tickets(served, '?limit=1000')).toEqual(before);
    // A retry of a webhook delivered before the restart is still recognised.
    expect((await post(served, [firing()])).body).toMatchObject({ duplicates: 1 });
  });
});

describe.skipIf(!onRealPostgres)('two replicas handling the same webhook', () => {
  it('with the alerts in opposite orders: both answer 2xx, one opens each ticket, no deadlock', async () => {
    // Two replicas on a store of their own, so the counts below are exactly theirs.
    const schema = `${db.schema}_replicas`;
    const state = `{ url: '${stateUrl()}', schema: ${schema} }`;
    const [a, b] = await Promise.all([serveWith('replica-a', state), serveWith('replica-b', state)]);
    try {
      await Promise.all([ready(a), ready(b)]);
      const n = 40;
      const rounds = 5;
      for (let round = 0; round < rounds; round++) {
        // New occurrences each round (a later start): every round opens n tickets.
        const startsAt = `2026-11-29T0${round}:00:00Z`;
        const alerts = Array.from({ length: n }, (_, i) =>
          firing({ fingerprint: `f${String(i).padStart(3, '0')}`, startsAt, endsAt: startsAt }),
        );
        // Locked in the order given, replica a would hold the first alerts' rows while waiting for the last
        // ones', which b holds while waiting for the first: PostgreSQL aborts one of them, which answers 500.
        const answers = await Promise.all([post(a, alerts), post(b, [...alerts].reverse())]);
        expect(answers.map((r) => r.status)).toEqual([200, 200]);
        const sum = (k: string) =>
          answers.reduce((t, r) => t + Number((r.body as Record<string, number>)[k]), 0);
        expect([sum('opened'), sum('duplicates'), sum('updated')]).toEqual([n, n, 0]);
      }
      const all = await tickets(a, '?limit=1000');
      expect(all).toHaveLength(n * rounds);
      expect(all.every((t) => t.notifications === 1)).toBe(true);
    } finally {
      await Promise.all([a.stop('SIGKILL'), b.stop('SIGKILL')]);
      await db.writer.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  });
});

describe('mlwatch tickets list', () => {
  it.skipIf(!onRealPostgres)('prints the log as a table or JSON, filtered', async () => {
    const file = join(dir, 'main.yaml');
    const listed = runCli(['tickets', 'list', '--config', file, '--team', 'data-science']);
    expect(listed.code).toBe(0);
    const [header, ...rows] = listed.stdout.trimEnd().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual([
      'ID',
      'STATE',
      'SEVERITY',
      'TEAM',
      'LAYER',
      'ALERT',
      'SUBJECT',
      'STARTED',
      'NOTIFICATIONS',
      'FORWARD',
      'ASSIGNEE',
      'ACKNOWLEDGED BY',
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.split(/\s{2,}/).slice(1)).toEqual([
      'open',
      'critical',
      'data-science',
      'model',
      'MlwatchModelAucLow',
      'model=credit',
      '2026-11-29T01:00:00.000Z',
      '1',
      'not configured',
      // A page is platform on-call's first, whatever its team; nobody acknowledged it (the last cell is empty).
      'platform',
    ]);
    const json = runCli(['tickets', 'list', '--config', file, '--state', 'resolved', '--json']);
    expect(
      (JSON.parse(json.stdout) as { state: string; forward: unknown }[]).map((t) => [t.state, t.forward]),
    ).toEqual([
      ['resolved', { status: 'not_configured' }],
      ['resolved', { status: 'not_configured' }],
    ]);
  });

  it.skipIf(!onRealPostgres)('shows whether each ticket reached the external tracker', async () => {
    const tracker = await webhookSink();
    const schema = `${db.schema}_forward`;
    // A 30 s timeout: the tracker below hangs on one event for the rest of the test, holding the sender.
    const forward = `{ url: '${tracker.url}/issues', timeout: 30s }`;
    const s = await serveWith(
      'forward',
      `{ url: '${stateUrl()}', schema: ${schema}, ticket_forward: ${forward} }`,
    );
    const failures = async (fingerprint: string) =>
      Number(
        (
          await db.writer.query(
            `SELECT o.failures FROM ${schema}.ticket_outbox o JOIN ${schema}.tickets t ON t.id = o.ticket_id
              WHERE t.fingerprint = '${fingerprint}'`,
          )
        )[0]?.failures ?? 0,
      );
    try {
      await ready(s);
      // fw-ok: opened and resolved, both accepted.
      await post(s, [firing({ fingerprint: 'fw-ok' })]);
      await waitFor(() => tracker.calls.length === 1, 10_000, 'opened forwarded');
      await post(s, [firing({ fingerprint: 'fw-ok', status: 'resolved', endsAt: '2026-11-29T02:00:00Z' })]);
      await waitFor(() => tracker.calls.length === 2, 10_000, 'resolved forwarded');
      // fw-failing: the tracker answers 503; the next attempt is 10 s away.
      tracker.status = 503;
      await post(s, [firing({ fingerprint: 'fw-failing' })]);
      await waitFor(async () => (await failures('fw-failing')) === 1, 10_000, 'a failed attempt');
      // fw-pending: the tracker takes the request and hangs, so it waits without a failure yet.
      tracker.status = 200;
      tracker.holdMs = 60_000;
      await post(s, [firing({ fingerprint: 'fw-pending' })]);
      await waitFor(() => tracker.calls.length === 4, 10_000, 'the attempt in flight');

      const file = join(dir, 'forward.yaml');
      const listed = runCli(['tickets', 'list', '--config', file]);
      expect(listed.code).toBe(0);
      const [header, ...rows] = listed.stdout.trimEnd().split('\n');
      const forwardColumn = header?.split(/\s{2,}/).indexOf('FORWARD');
      expect(forwardColumn).toBe(9);
      // Newest first.
      expect(rows.map((r) => r.split(/\s{2,}/)[forwardColumn as number])).toEqual([
        'pending',
        'failing (1 attempt)',
        'forwarded',
      ]);
      const json = runCli(['tickets', 'list', '--config', file, '--json']);
      expect(
        (JSON.parse(json.stdout) as { fingerprint: string; forward: unknown }[]).map((t) => [
          t.fingerprint,
          t.forward,
        ]),
      ).toEqual([
        ['fw-pending', { status: 'pending', event: 'opened', failures: 0, lastError: null }],
        [
          'fw-failing',
          {
            status: 'failing',
            event: 'opened',
            failures: 1,
            lastError: 'HTTP 503: retraining service unavailable',
          },
        ],
        ['fw-ok', { status: 'forwarded' }],
      ]);
    } finally {
      await s.stop('SIGKILL');
      await tracker.close();
      await db.writer.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  });

  it('says what to do when there is no ticket log yet, or a flag is wrong', () => {
    const file = join(dir, 'empty.yaml');
    writeFileSync(
      file,
      `warehouse: { url: '${db.configUrl}' }\nstate: { url: '${stateUrl()}', schema: never_started }\n`,
    );
    const none = runCli(['tickets', 'list', '--config', file]);
    expect([none.code, none.stderr]).toEqual([
      1,
      `no ticket log in schema never_started of the state store yet: start \`mlwatch serve --config ${file}\` once, it creates it\n`,
    ]);
    const bad = runCli(['tickets', 'list', '--config', file, '--state', 'closed']);
    expect([bad.code, bad.stderr]).toEqual([1, "--state: expected one of open, resolved, not 'closed'\n"]);
  });
});
