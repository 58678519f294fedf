import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/load.js';
import type { Running } from '../src/runtime/serve.js';
import { ACCESS_YAML, bearer, TOKENS, WEBHOOK_HEADERS } from './helpers/credentials.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import {
  createModelTables,
  modelEntry,
  qualifyModelTables,
  serveOn,
  serveStoreDown,
  stateUrlOf,
} from './helpers/served.js';
import { type WebhookSink, webhookSink } from './helpers/webhook-sink.js';

// The Alertmanager webhook endpoints (POST /api/v1/alerts, the ticket log; POST /api/v1/retrain, retraining)
// against whatever a client can send: a running in-process exporter on a real state store (PostgreSQL, or the
// embedded PGlite), fed arbitrary JSON, broken JSON, mutated valid payloads and random content types. Every
// answer is 2xx or 4xx with a reason, the exporter keeps serving, and every alert it accepted is in the store.

let db: TestDb;
let sink: WebhookSink;
let exporter: Running;
let base: string;
const schema = () => `${db.schema}_fuzz`;

beforeAll(async () => {
  db = await openTestDb();
  await createModelTables(db);
  sink = await webhookSink();
  const config = loadConfigText(
    [
      `warehouse: { url: '${db.configUrl}' }`,
      `state: { url: '${stateUrlOf(db)}', schema: ${schema()} }`,
      'models:',
      qualifyModelTables(modelEntry('credit', `retrain: { webhook: '${sink.url}/credit' }`), db.schema),
      ACCESS_YAML,
    ].join('\n'),
    'fuzz.yaml',
    {},
    '/',
  );
  exporter = await serveOn(db, config, { log: pino({ level: 'silent' }) });
  base = `http://127.0.0.1:${exporter.port}`;
  expect(exporter.state.isReady()).toBe(true);
}, 30_000);
afterAll(async () => {
  await exporter?.shutdown();
  await sink?.close();
  if (db?.kind === 'pg') await db.writer.exec(`DROP SCHEMA IF EXISTS ${schema()} CASCADE`);
  await db?.close();
});

const ENDPOINTS = ['/api/v1/alerts', '/api/v1/retrain'] as const;

/** A post as Alertmanager's webhook client: its token, with the headers under test. */
async function send(path: string, body: string | Uint8Array, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { ...bearer(TOKENS.webhook), ...headers },
    body,
  });
  return { status: res.status, text: await res.text() };
}

async function stillServing() {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('mlwatch_state_store_up 1');
}

// ----- generators -----------------------------------------------------------------------------------------

/** Strings Postgres can keep (no NUL; fast-check's graphemes are well-formed UTF-16). */
const text = (max: number) =>
  fc.string({ unit: 'grapheme', maxLength: max }).map((s) => s.replaceAll('\u0000', ''));
const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,20}$/);
const instant = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

let fingerprints = 0;
/** A valid alert; its fingerprint is unique in the whole run, so "is it stored" has one answer. */
const alert = fc
  .record({
    status: fc.constantFrom('firing', 'resolved'),
    labels: fc.dictionary(name, text(40), { maxKeys: 8 }),
    annotations: fc.dictionary(name, text(200), { maxKeys: 3 }),
    startsAt: instant,
    endsAt: fc.option(instant, { nil: undefined }),
    alertname: text(30),
    team: text(30),
    model: fc.constantFrom(undefined, 'credit', 'churn'),
  })
  .map(({ alertname, team, model, endsAt, ...a }) => ({
    ...a,
    labels: { ...a.labels, alertname, team, ...(model ? { model } : {}) },
    ...(endsAt ? { endsAt } : {}),
    fingerprint: `fp-${++fingerprints}`,
  }));
const payload = fc
  .array(alert, { maxLength: 6 })
  .map((alerts) => ({ version: '4', receiver: 'ticketing', status: 'firing', alerts }));

type Json = Record<string, unknown>;
/** Something a careless or hostile client would send in place of a field's value. */
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    null,
    '',
    'a\u0000b',
    '\ud800',
    'x\udfff',
    '0000-01-01T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-11-29T01:00:00.123456789+14:00',
    'x'.repeat(5000),
    '日本語🎉',
    { nested: { deeper: [1, 2, 3] } },
  ),
  // A huge label map: tens of thousands of labels, just under the body limit.
  fc.constant(Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`l${i}`, `v${i}`]))),
);
const field = fc.constantFrom(
  'version',
  'alerts',
  'status',
  'labels',
  'annotations',
  'startsAt',
  'endsAt',
  'fingerprint',
  'labels.alertname',
  'labels.team',
  'labels.model',
  'labels.layer',
  'annotations.summary',
);

/** A valid payload with one alert's field (or the payload's) deleted or replaced by an odd value. */
const mutated = fc
  .tuple(payload, field, fc.option(oddValue, { nil: undefined }), fc.nat())
  .filter(([p]) => p.alerts.length > 0)
  .map(([p, path, value, pick]) => {
    const body = structuredClone(p) as Json & { alerts: Json[] };
    const parts = path.split('.');
    const top = path === 'version' || path === 'alerts';
    let target: Json = top ? body : (body.alerts[pick % body.alerts.length] as Json);
    for (const part of parts.slice(0, -1)) target = target[part] as Json;
    const key = parts[parts.length - 1] as string;
    if (value === undefined) delete target[key];
    else target[key] = value;
    return body;
  });

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/x-ndjson',
);
const headers = fc
  .tuple(contentType, fc.constantFrom(undefined, 'gzip', 'br', 'identity', 'x-custom'))
  .map(([type, encoding]) => ({
    'content-type': type,
    ...(encoding ? { 'content-encoding': encoding } : {}),
  }));

/** Any body: broken JSON, any JSON, a mutated payload, raw bytes. */
const anyBody = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.json({ maxDepth: 4 }),
  mutated.map((b) => JSON.stringify(b)),
  payload.map((b) => JSON.stringify(b).slice(0, -1)), // truncated
  fc.uint8Array({ maxLength: 300 }),
);

// ----- checks ---------------------------------------------------------------------------------------------

/** The (fingerprint, startsAt) pairs stored as tickets, read on a connection of the test's own. */
async function storedTickets(fps: string[]): Promise<Set<string>> {
  if (fps.length === 0) return new Set();
  // Each alert is a copy of a ticket: its own, or the open one of the same labels (another replica's copy).
  const rows = await db.writer.query(
    `SELECT fingerprint, starts_at FROM ${schema()}.ticket_copies WHERE fingerprint = ANY($1::text[])`,
    [fps],
  );
  return new Set(rows.map((r) => `${r.fingerprint}@${new Date(r.starts_at as string).getTime()}`));
}

/** After a 200: every firing alert of the payload has its ticket (nothing accepted is lost). */
async function expectTicketsFor(body: { alerts: Json[] }) {
  const firing = body.alerts.filter((a) => a.status === 'firing');
  const stored = await storedTickets(firing.map((a) => String(a.fingerprint)));
  for (const a of firing) {
    expect(stored.has(`${a.fingerprint}@${Date.parse(String(a.startsAt))}`), String(a.fingerprint)).toBe(
      true,
    );
  }
}

/** After a 200 from /retrain: the summary accounts for every alert of the payload. */
function expectRetrainSummary(text: string, body: { alerts: unknown[] }) {
  const s = JSON.parse(text);
  expect(s.requested + s.deduplicated + s.duplicates + s.ignored).toBe(body.alerts.length);
  expect(s.alerts).toHaveLength(body.alerts.length);
}

const isClientError = (status: number) => status >= 400 && status < 500;

// ----- tests ----------------------------------------------------------------------------------------------

describe('huge bodies', () => {
  it.each(ENDPOINTS)('%s answers 413 above 1 MB and keeps serving', async (path) => {
    const alerts = Array.from({ length: 6000 }, (_, i) => ({
      status: 'firing',
      labels: { alertname: 'Big', i: String(i), filler: 'x'.repeat(100) },
      startsAt: '2026-11-29T01:00:00Z',
      fingerprint: `big-${i}`,
    }));
    const body = JSON.stringify({ version: '4', alerts });
    expect(body.length).toBeGreaterThan(1024 * 1024);
    const res = await send(path, body, { 'content-type': 'application/json' });
    expect(res).toEqual({ status: 413, text: 'body larger than 1mb\n' });
    expect(await storedTickets(['big-0'])).toEqual(new Set());
    await stillServing();
  });
});

describe('payloads the store cannot keep', () => {
  const ok = {
    status: 'firing',
    labels: { alertname: 'A' },
    startsAt: '2026-11-29T01:00:00Z',
    fingerprint: 'nul-1',
  };
  const cases: [string, Json, string][] = [
    [
      'a NUL in a label value',
      { ...ok, labels: { alertname: 'A\u0000' } },
      'alerts[0].labels.alertname: contains a NUL character or a lone surrogate, which the state store cannot keep',
    ],
    [
      'a lone surrogate in an annotation',
      { ...ok, annotations: { d: 'x\ud800' } },
      'alerts[0].annotations.d: contains a NUL character or a lone surrogate, which the state store cannot keep',
    ],
    [
      'a NUL in a label name',
      { ...ok, labels: { 'a\u0000': 'v' } },
      'alerts[0].labels."a\\u0000": a name contains a NUL character or a lone surrogate, which the state store cannot keep',
    ],
    [
      'a label value that is not a string',
      { ...ok, labels: { alertname: 'A', n: 1 } },
      'alerts[0].labels.n: expected label values as strings',
    ],
    [
      'year 0000',
      { ...ok, startsAt: '0000-01-01T00:00:00Z' },
      'alerts[0].startsAt: expected an RFC 3339 timestamp after year 0000',
    ],
    [
      'a team label longer than an index entry',
      { ...ok, labels: { alertname: 'A', team: 't'.repeat(3000) } },
      'alerts[0].labels.team: longer than 256 characters',
    ],
    [
      'a fingerprint longer than an index entry',
      { ...ok, fingerprint: 'f'.repeat(3000) },
      'alerts[0].fingerprint: expected a fingerprint of at most 256 characters',
    ],
  ];
  it.each(cases)('%s: 400 with the reason on both endpoints, nothing stored', async (_, alert, reason) => {
    for (const path of ENDPOINTS) {
      const res = await send(path, JSON.stringify({ version: '4', alerts: [alert] }), {
        'content-type': 'application/json',
      });
      expect(res).toEqual({ status: 400, text: `not an Alertmanager webhook payload: ${reason}\n` });
    }
    expect(await storedTickets([String(alert.fingerprint)])).toEqual(new Set());
  });
  it('an unknown charset or content encoding: 415 with the reason', async () => {
    const body = JSON.stringify({ version: '4', alerts: [] });
    const charset = await send('/api/v1/alerts', body, {
      'content-type': 'application/json; charset=latin1',
    });
    expect(charset).toEqual({ status: 415, text: 'unsupported charset "LATIN1"\n' });
    const encoding = await send('/api/v1/retrain', body, {
      'content-type': 'application/json',
      'content-encoding': 'x-custom',
    });
    expect(encoding).toEqual({ status: 415, text: 'unsupported content encoding "x-custom"\n' });
  });
});

describe('fuzz', () => {
  it('anything at all: 2xx or 4xx, never a crash, and every accepted alert is in the store', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ENDPOINTS), anyBody, headers, async (path, body, h) => {
        const res = await send(path, body, h);
        expect(res.status < 300 || isClientError(res.status), `${res.status} ${res.text}`).toBe(true);
        if (res.status === 200) {
          const sent = JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body));
          if (path === '/api/v1/alerts') await expectTicketsFor(sent);
          else expectRetrainSummary(res.text, sent);
        }
      }),
      { numRuns: 250 },
    );
    await stillServing();
  }, 60_000);

  it('valid payloads with any unicode: every firing alert gets its ticket; retrain accounts for all', async () => {
    await fc.assert(
      fc.asyncProperty(payload, async (p) => {
        const body = JSON.stringify(p);
        const tickets = await send('/api/v1/alerts', body, { 'content-type': 'application/json' });
        expect(tickets.status, tickets.text).toBe(200);
        await expectTicketsFor(p);
        const retrain = await send('/api/v1/retrain', body, { 'content-type': 'application/json' });
        expect(retrain.status, retrain.text).toBe(200);
        expectRetrainSummary(retrain.text, p);
      }),
      { numRuns: 60 },
    );
    await stillServing();
  }, 60_000);

  it('mutated payloads: 200 (then stored) or 400 with a reason, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ENDPOINTS), mutated, async (path, p) => {
        const res = await send(path, JSON.stringify(p), { 'content-type': 'application/json' });
        expect([200, 400, 413], res.text).toContain(res.status);
        if (res.status === 400) expect(res.text).toMatch(/^not an Alertmanager webhook payload: .+\n$/);
        if (res.status === 200) {
          if (path === '/api/v1/alerts') await expectTicketsFor(p);
          else expectRetrainSummary(res.text, p);
        }
      }),
      { numRuns: 150 },
    );
    await stillServing();
  }, 60_000);
});

describe('store down', () => {
  it('answers 503 to anything, and /metrics still answers', async () => {
    const down = await serveStoreDown(db, ACCESS_YAML);
    try {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...ENDPOINTS), anyBody, async (path, body) => {
          const res = await fetch(`http://127.0.0.1:${down.port}${path}`, {
            method: 'POST',
            headers: WEBHOOK_HEADERS,
            body,
          });
          expect(res.status).toBe(503);
          expect(await res.text()).toMatch(/^state store unavailable: /);
        }),
        { numRuns: 20 },
      );
      const m = await fetch(`http://127.0.0.1:${down.port}/metrics`);
      expect(m.status).toBe(200);
      expect(await m.text()).toContain('mlwatch_state_store_up 0');
    } finally {
      await down.shutdown();
    }
  }, 30_000);
});
