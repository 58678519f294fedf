import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/load.js';
import { type Running, serve } from '../src/runtime/serve.js';
import { rejectsEachFixture } from './helpers/bad-config.js';
import { runCli } from './helpers/cli.js';
import {
  ACCESS_YAML,
  bearer,
  sha256 as sha,
  TOKENS,
  VIEWER_HEADERS,
  WEBHOOK_HEADERS,
} from './helpers/credentials.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { memoryLogger } from './helpers/exporter.js';
import { type Parsed, parseExposition, sampleValue, series } from './helpers/exposition.js';
import { createModelTables, modelEntry, qualifyModelTables, serveOn, stateUrlOf } from './helpers/served.js';
import { type WebhookSink, webhookSink } from './helpers/webhook-sink.js';

// The attacks of issue 11, replayed against the real server (in-process `serve()` over HTTP, the state store on
// the real PostgreSQL or PGlite): every one gets its safe answer and changes nothing. TLS, basic auth and the web
// config are in web-config.test.ts; the warehouse role in warehouse-role.test.ts; secrets in redact.test.ts.

const ALICE = 'alice-approver-token-0123456789';

let db: TestDb;
let sink: WebhookSink;
let a: Running;
let base: string;
const logs = memoryLogger();

function configText(): string {
  const t = db.schema;
  return [
    `warehouse: { url: '${db.configUrl}', statement_timeout: 10s }`,
    `state: { url: '${stateUrlOf(db)}', schema: ${t}_state }`,
    'defaults: { interval: 1h }',
    'approvers:',
    `  - { name: alice, role: engineering, token_sha256: ${sha(ALICE)} }`,
    'models:',
    qualifyModelTables(
      modelEntry(
        'credit',
        `retrain: { webhook: '${sink.url}/retrain' }`,
        `rollback: { webhook: '${sink.url}/rollback' }`,
      ),
      t,
    ),
    'queries:',
    '  - name: one',
    '    sql: SELECT 1 AS n',
    '    metrics: [{ name: t_one, help: One., value: n }]',
    ACCESS_YAML,
  ].join('\n');
}

beforeAll(async () => {
  db = await openTestDb();
  await createModelTables(db);
  sink = await webhookSink();
  const config = loadConfigText(configText(), 'secure.yaml', {}, '/');
  a = await serveOn(db, config, {
    loadAgain: () => loadConfigText(configText(), 'secure.yaml', {}, '/'),
    log: logs.log,
    enableLifecycle: true,
    retrain: { pollMs: 50 },
  });
  base = `http://127.0.0.1:${a.port}`;
  await a.exporter.firstRound();
}, 60_000);
afterAll(async () => {
  await a?.shutdown();
  await sink?.close();
  if (db?.kind === 'pg') await db.writer.exec(`DROP SCHEMA IF EXISTS ${db.schema}_state CASCADE`);
  await db?.close();
});

/**
 * A server with nothing behind it (warehouse and state store unreachable): enough for what is decided before a
 * route touches a database. `extra` is YAML appended to the config.
 */
async function startBare(extra: string, o: { enableLifecycle?: boolean } = {}) {
  const text = `warehouse: { url: 'postgresql://postgres@127.0.0.1:1/x' }\nstate: { url: 'postgresql://postgres@127.0.0.1:1/x' }\n${extra}`;
  const config = loadConfigText(text, 'bare.yaml', {}, '/');
  const log = memoryLogger();
  const r = await serve({ config, loadAgain: () => config, host: '127.0.0.1', port: 0, log: log.log, ...o });
  return { r, log, url: `http://127.0.0.1:${r.port}` };
}

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const critical = (status: 'firing' | 'resolved', fingerprint: string) => ({
  status,
  labels: {
    alertname: 'MlwatchWarehouseUnreachable',
    severity: 'critical',
    team: 'platform',
    layer: 'system',
  },
  annotations: { summary: 'warehouse down' },
  startsAt: '2026-12-01T01:00:00Z',
  ...(status === 'resolved' ? { endsAt: '2026-12-01T01:10:00Z' } : {}),
  fingerprint,
});
const payload = (alerts: unknown[]) =>
  JSON.stringify({ version: '4', receiver: 'x', status: 'firing', alerts });

async function ticketsSeen(): Promise<{ fingerprint: string; state: string }[]> {
  const r = await call('GET', '/api/v1/tickets?limit=1000', VIEWER_HEADERS);
  expect(r.status).toBe(200);
  return JSON.parse(r.text).tickets;
}

async function metrics(): Promise<Parsed> {
  return parseExposition(await a.exporter.metricsText());
}

describe('the write endpoints refuse callers without the right credential', () => {
  it('a real critical ticket cannot be closed, nor its fingerprint read, without credentials', async () => {
    expect(
      (await call('POST', '/api/v1/alerts', WEBHOOK_HEADERS, payload([critical('firing', 'fp-real')])))
        .status,
    ).toBe(200);
    // The attacker's first step, reading fingerprints from the open ticket list, is refused.
    const list = await call('GET', '/api/v1/tickets');
    expect([list.status, list.headers.get('www-authenticate')]).toEqual([401, 'Bearer realm="mlwatch"']);
    const resolve = payload([critical('resolved', 'fp-real')]);
    const json = { 'content-type': 'application/json' };
    const refusals = [
      await call('POST', '/api/v1/alerts', json, resolve),
      await call('POST', '/api/v1/alerts', { ...json, ...bearer('guessed-token') }, resolve),
      // A viewer may read tickets but not post webhooks.
      await call('POST', '/api/v1/alerts', { ...json, ...VIEWER_HEADERS }, resolve),
    ].map((r) => r.status);
    expect(refusals).toEqual([401, 401, 403]);
    expect((await ticketsSeen()).filter((t) => t.fingerprint === 'fp-real').map((t) => t.state)).toEqual([
      'open',
    ]);
  });

  it('a retrain cannot be dispatched (nor the cooldown used up) without the webhook credential', async () => {
    const retrain = payload([
      { ...critical('firing', 'fp-retrain'), labels: { alertname: 'MlwatchModelAucLow', model: 'credit' } },
    ]);
    const json = { 'content-type': 'application/json' };
    expect((await call('POST', '/api/v1/retrain', json, retrain)).status).toBe(401);
    expect((await call('POST', '/api/v1/retrain', { ...json, ...VIEWER_HEADERS }, retrain)).status).toBe(403);
    const requests = await call('GET', '/api/v1/retrain/requests', VIEWER_HEADERS);
    expect(JSON.parse(requests.text).requests).toEqual([]);
    await new Promise((r) => setTimeout(r, 300)); // several outbox polls
    expect(sink.calls.filter((c) => c.path === '/retrain')).toEqual([]);
    // The same post with the credential is Alertmanager's and records a request.
    const ok = await call('POST', '/api/v1/retrain', WEBHOOK_HEADERS, retrain);
    expect([ok.status, JSON.parse(ok.text).requested]).toEqual([200, 1]);
  });

  it('reads need a viewer: tickets, retraining requests, rollbacks and the report', async () => {
    for (const path of [
      '/api/v1/tickets',
      '/api/v1/retrain/requests',
      '/api/v1/rollbacks',
      '/api/v1/reports/latest',
    ]) {
      expect([path, (await call('GET', path)).status]).toEqual([path, 401]);
      // The webhook client posts notifications; it reads nothing.
      expect([path, (await call('GET', path, bearer(TOKENS.webhook))).status]).toEqual([path, 403]);
      expect([path, (await call('GET', path, VIEWER_HEADERS)).status]).toEqual([
        path,
        path.endsWith('latest') ? 404 : 200,
      ]);
    }
  });

  it('a web page on another origin cannot post: 415 for a simple request, 403 for a cross-origin one', async () => {
    const before = (await ticketsSeen()).length;
    const body = payload([critical('firing', 'fp-csrf')]);
    // What a form or fetch(no-cors) on another origin can send without a preflight.
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const r = await call(
        'POST',
        '/api/v1/alerts',
        { ...bearer(TOKENS.webhook), 'content-type': type },
        body,
      );
      expect([type, r.status]).toEqual([type, 415]);
    }
    const fromPage = { ...WEBHOOK_HEADERS, origin: 'https://evil.example' };
    expect((await call('POST', '/api/v1/alerts', fromPage, body)).status).toBe(403);
    const fetchMeta = { ...WEBHOOK_HEADERS, 'sec-fetch-site': 'cross-site' };
    expect((await call('POST', '/api/v1/alerts', fetchMeta, body)).status).toBe(403);
    const reload = await call('POST', '/-/reload', {
      ...bearer(TOKENS.lifecycle),
      origin: 'https://evil.example',
    });
    expect([reload.status, reload.text]).toEqual([
      403,
      'cross-origin request refused (Origin https://evil.example); call this API from a client, not a web page\n',
    ]);
    expect((await ticketsSeen()).length).toBe(before);
    // The same origin (a page mlwatch itself served) is not cross-origin.
    const same = { ...WEBHOOK_HEADERS, origin: base };
    expect((await call('POST', '/api/v1/alerts', same, payload([]))).status).toBe(200);
  });

  it('text Postgres cannot keep answers 400, never 500', async () => {
    expect((await call('GET', '/api/v1/tickets?team=%00', VIEWER_HEADERS)).status).toBe(400);
    // Invalid UTF-8 in a query decodes to U+FFFD, which is text like any other: not an error.
    expect((await call('GET', '/api/v1/tickets?layer=%ED%A0%80', VIEWER_HEADERS)).status).toBe(200);
    expect((await call('GET', '/api/v1/retrain/requests?model=a%00b', VIEWER_HEADERS)).status).toBe(400);
    const json = { 'content-type': 'application/json', ...bearer(ALICE) };
    for (const reason of ['nul \u0000 here', 'lone \ud800 surrogate']) {
      const r = await call(
        'POST',
        '/api/v1/rollbacks',
        json,
        JSON.stringify({ model: 'credit', to_version: 'v1', reason }),
      );
      expect([r.status, r.text]).toEqual([
        400,
        'reason: contains a NUL character or a lone surrogate; a request is {model, to_version, reason}\n',
      ]);
    }
    expect(JSON.parse((await call('GET', '/api/v1/rollbacks', VIEWER_HEADERS)).text).rollbacks).toEqual([]);
  });
});

describe('an authenticated burst', () => {
  it('makes exactly one ticket per alert, also when every webhook arrives twice at once', async () => {
    const before = (await ticketsSeen()).length;
    const batches = Array.from({ length: 10 }, (_, b) =>
      payload(Array.from({ length: 50 }, (_, i) => critical('firing', `burst-${b}-${i}`))),
    );
    // Alertmanager retries and a second replica's notification: the same payloads, concurrently.
    const answers = await Promise.all(
      [...batches, ...batches].map((body) => call('POST', '/api/v1/alerts', WEBHOOK_HEADERS, body)),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    const summed = answers.map((r) => JSON.parse(r.text)).reduce((s, r) => s + r.opened, 0);
    expect(summed).toBe(500);
    const burst = (await ticketsSeen()).filter((t) => t.fingerprint.startsWith('burst-'));
    expect([burst.length, new Set(burst.map((t) => t.fingerprint)).size]).toEqual([500, 500]);
    expect((await ticketsSeen()).length).toBe(before + 500);
  });
});

describe('labels a client chooses', () => {
  it('never become new series: 4 webhooks of 1,000 alerts, each with a team of its own, add one series', async () => {
    const ticketSeries = async () => series(await metrics(), 'mlwatch_tickets');
    const before = await ticketSeries();
    for (let b = 0; b < 4; b++) {
      const alerts = Array.from({ length: 1000 }, (_, i) => ({
        ...critical('firing', `team-flood-${b}-${i}`),
        labels: { alertname: 'Flood', severity: 'warning', layer: `layer-${b}-${i}`, team: `team-${b}-${i}` },
      }));
      expect((await call('POST', '/api/v1/alerts', WEBHOOK_HEADERS, payload(alerts))).status).toBe(200);
    }
    await a.state.refresh();
    const after = await ticketSeries();
    // The 4,000 tickets are counted under team="other", layer="other": one series more, however many teams.
    expect(after.length - before.length).toBe(1);
    expect(
      sampleValue(await metrics(), 'mlwatch_tickets', { state: 'open', team: 'other', layer: 'other' }),
    ).toBe(4000);
    // The tickets keep their own labels: a viewer still finds one by its team.
    const one = await call('GET', '/api/v1/tickets?team=team-3-999', VIEWER_HEADERS);
    expect(JSON.parse(one.text).tickets.map((t: { fingerprint: string }) => t.fingerprint)).toEqual([
      'team-flood-3-999',
    ]);
  });
});

describe('/-/reload', () => {
  it('needs the lifecycle role, and a reload of an unchanged config runs no check again', async () => {
    expect((await call('POST', '/-/reload')).status).toBe(401);
    expect((await call('POST', '/-/reload', VIEWER_HEADERS)).status).toBe(403);
    const runs = (m: Parsed) => series(m, 'mlwatch_check_runs_total').reduce((s, x) => s + x.value, 0);
    const before = runs(await metrics());
    // The attack: a loop of reloads. Each used to restart every check against the warehouse.
    for (let i = 0; i < 20; i++) {
      const r = await call('POST', '/-/reload', bearer(TOKENS.lifecycle));
      expect([r.status, r.text]).toEqual([200, 'config reloaded\n']);
    }
    expect(runs(await metrics())).toBe(before);
  });

  it('is off without --web.enable-lifecycle, as in Prometheus', async () => {
    const { r, url } = await startBare(ACCESS_YAML);
    try {
      const res = await fetch(`${url}/-/reload`, { method: 'POST', headers: bearer(TOKENS.lifecycle) });
      expect([res.status, await res.text()]).toEqual([
        403,
        'Lifecycle API is not enabled; start mlwatch with --web.enable-lifecycle\n',
      ]);
    } finally {
      await r.shutdown();
    }
  });
});

describe('guessing credentials', () => {
  it('is logged without the secret, slowed to 429 after 10 failures a minute, and a real client still gets in', async () => {
    // Its own server: the failures of the other tests would count against this address's window.
    const { r, log, url } = await startBare(
      `${ACCESS_YAML.replace('access:', 'access:\n  metrics: authenticated')}`,
    );
    try {
      const get = async (headers: Record<string, string>) => {
        const res = await fetch(`${url}/metrics`, { headers });
        return { status: res.status, retryAfter: res.headers.get('retry-after'), text: await res.text() };
      };
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await get(bearer(`guess-${i}-secret-value`))).status);
      expect(statuses).toEqual([...Array(10).fill(401), 429, 429]);
      expect(Number((await get(bearer('guess-again'))).retryAfter)).toBeGreaterThan(50);
      // A token costs a hash to check: the viewer behind the same address is not locked out.
      const viewer = await get(VIEWER_HEADERS);
      expect(viewer.status).toBe(200);

      const lines = log.lines().filter((l) => String(l.msg).startsWith('authentication failed'));
      // The first failure of the window and the one that blocks: two lines for 13 guesses.
      expect(lines.map((l) => [l.failures, l.route, l.scheme, l.from, l.method])).toEqual([
        [1, '/metrics', 'bearer', '127.0.0.1', 'GET'],
        [10, '/metrics', 'bearer', '127.0.0.1', 'GET'],
      ]);
      expect(JSON.stringify(log.lines())).not.toContain('secret-value');
      const m = parseExposition(viewer.text);
      const refused = (reason: string) => sampleValue(m, 'mlwatch_http_requests_refused_total', { reason });
      expect([refused('unauthenticated'), refused('rate_limited'), refused('forbidden')]).toEqual([10, 3, 0]);
    } finally {
      await r.shutdown();
    }
  });
});

describe('bad access sections name the file, line, path and fix', () => {
  const roles =
    'viewer (read tickets, retraining requests, rollbacks, the report), webhook (post Alertmanager notifications), lifecycle (POST /-/reload with --web.enable-lifecycle), responder (acknowledge tickets and hand them off to data science)';
  rejectsEachFixture('test/fixtures/bad-config-access', [
    [
      '01-unknown-role.yaml',
      `01-unknown-role.yaml:5 access.clients[0].roles[0]: 'webhooks' is not a role; use ${roles}`,
    ],
    [
      '02-duplicate-name.yaml',
      "02-duplicate-name.yaml:6 access.clients[1].name: client name 'alertmanager' is already used by access.clients[0]",
    ],
    [
      '03-token-of-an-approver.yaml',
      '03-token-of-an-approver.yaml:7 access.clients[0].token_sha256: the same token hash as approvers[0]; a client needs a token of its own',
    ],
    // The value is never quoted: it is likely the token itself.
    [
      '04-token-not-hash.yaml',
      '04-token-not-hash.yaml:5 access.clients[0].token_sha256: expected the hex SHA-256 of the token (64 characters 0-9 a-f), from printf %s "$TOKEN" | sha256sum; never the token itself',
    ],
    [
      '05-bad-metrics.yaml',
      "05-bad-metrics.yaml:4 access.metrics: expected 'open' (no credential needed) or 'authenticated' (any configured credential)",
    ],
    ['06-no-roles.yaml', `06-no-roles.yaml:5 access.clients[0].roles: give at least one role: ${roles}`],
  ]);
});

describe('startup', () => {
  it('serve refuses a config where no credential may post webhooks, saying what to add', () => {
    const file = join(tmpdir(), `${db.schema}-open.yaml`);
    writeFileSync(file, "warehouse: { url: 'pglite:memory' }\n");
    const r = runCli(['serve', '--config', file, '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: no credential may post Alertmanager webhooks`);
    expect(r.stderr).toContain('roles: [webhook]');
    expect(r.stderr).toContain('--web.insecure-actions');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
