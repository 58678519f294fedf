import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { openStateDb, pgliteStateDb, type StateDb } from '../src/actions/store/db.js';
import { MIGRATIONS, migrate } from '../src/actions/store/migrations.js';
import { AUTOMATIC_ACTOR } from '../src/actions/tickets/handoff-config.js';
import { TicketHandoffs } from '../src/actions/tickets/ticket-handoff.js';
import { type Ticket, TicketLog } from '../src/actions/tickets/tickets.js';
import { loadConfigText } from '../src/config/load.js';
import { rejectsEachFixture } from './helpers/bad-config.js';
import { runCli, type Served, startCli } from './helpers/cli.js';
import {
  ACCESS,
  bearer,
  RESPONDER_HEADERS,
  sha256,
  TOKENS,
  VIEWER_HEADERS,
  WEBHOOK_HEADERS,
} from './helpers/credentials.js';
import { onRealPostgres, openTestDb, type TestDb } from './helpers/db.js';
import { series } from './helpers/exposition.js';
import { scrape, waitFor } from './helpers/wait.js';

// Pages are platform on-call's first and reach data science through a recorded hand-off (docs/handoff_plan.md):
// acknowledgements and hand-offs over the real `mlwatch serve` (HTTP, credentials) and its CLI, the automatic
// hand-off with a short `after`, two replicas racing it, and the migration that adds it, on the real
// PostgreSQL or an embedded PGlite.

const dir = mkdtempSync(join(tmpdir(), 'mlwatch-handoff-'));
let db: TestDb;
let manual: Served;
let auto: Served;
const schemas: string[] = [];

// A second responder, from data science: the ticket must record each caller by their own credential.
const SAM_TOKEN = 'test-responder-sam-0123456789';
const SAM = bearer(SAM_TOKEN);
const SAM_JSON = { 'content-type': 'application/json', ...SAM };
const access = {
  clients: [
    ...ACCESS.clients,
    { name: 'sam', roles: ['responder', 'viewer'], token_sha256: sha256(SAM_TOKEN) },
  ],
};
const AUTO_AFTER_S = 3;

async function serveWith(name: string, state: Record<string, unknown>): Promise<Served> {
  const file = join(dir, `${name}.yaml`);
  const schema = `${db.schema}_${name}`;
  schemas.push(schema);
  writeFileSync(
    file,
    stringify({
      warehouse: { url: db.configUrl },
      state: { url: db.url ?? 'pglite:memory', schema, ...state },
      access,
    }),
  );
  const s = await startCli(['serve', '--config', file, '--port', '0', '--host', '127.0.0.1']);
  await waitFor(
    async () => (await fetch(`${s.url}/api/v1/tickets`, { headers: VIEWER_HEADERS })).status === 200,
    // PGlite compiles its WASM and migrates in each process: seconds, more with two starting at once.
    60_000,
    'state store ready',
  );
  return s;
}

const MODEL_PAGE = {
  alertname: 'MlwatchModelAucLow',
  severity: 'critical',
  team: 'data-science',
  layer: 'model',
  model: 'credit_default',
  window: '14d',
  dataset: 'applications',
  action: 'retrain',
};

function alert(
  fingerprint: string,
  labels: Record<string, string>,
  status: 'firing' | 'resolved' = 'firing',
) {
  return {
    status,
    labels,
    annotations: { summary: 's' },
    startsAt: '2026-11-29T01:00:00Z',
    endsAt: status === 'resolved' ? '2026-11-29T02:00:00Z' : '2026-11-29T01:04:00Z',
    fingerprint,
  };
}

async function post(s: Served, alerts: unknown[]): Promise<void> {
  const res = await fetch(`${s.url}/api/v1/alerts`, {
    method: 'POST',
    headers: WEBHOOK_HEADERS,
    body: JSON.stringify({ version: '4', receiver: 'ticketing', status: 'firing', alerts }),
  });
  expect(res.status, await res.text()).toBe(200);
}

async function ticket(s: Served, fingerprint: string): Promise<Ticket> {
  const res = await fetch(`${s.url}/api/v1/tickets?limit=1000`, { headers: VIEWER_HEADERS });
  const t = ((await res.json()) as { tickets: Ticket[] }).tickets.find((x) => x.fingerprint === fingerprint);
  if (!t) throw new Error(`no ticket ${fingerprint}`);
  return t;
}

async function act(
  s: Served,
  id: number | string,
  action: 'ack' | 'handoff',
  headers: Record<string, string>,
  body?: unknown,
) {
  const res = await fetch(`${s.url}/api/v1/tickets/${id}/${action}`, {
    method: 'POST',
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Ticket };
}

const HANDED_OFF = 'mlwatch_ticket_handed_off_timestamp_seconds';

beforeAll(async () => {
  db = await openTestDb();
  // The default `after` (15 minutes): nothing here is handed off by itself.
  [manual, auto] = await Promise.all([
    serveWith('manual', {}),
    serveWith('auto', { handoff: { after: `${AUTO_AFTER_S}s` } }),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([manual?.stop('SIGKILL'), auto?.stop('SIGKILL')]);
  if (db?.kind === 'pg') for (const s of schemas) await db.writer.exec(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await db?.close();
});

describe('acknowledging and handing off over HTTP', () => {
  it('records who (from the credential), when and why, and notifies data science through the gauge', async () => {
    await post(manual, [
      alert('auc-1', MODEL_PAGE),
      alert('leak-1', { ...MODEL_PAGE, alertname: 'MlwatchModelLabelLeakage', severity: 'warning' }),
    ]);
    const page = await ticket(manual, 'auc-1');
    // Every page is platform's first, whatever its team; a warning is its team's from the start.
    expect(page).toMatchObject({
      assignee: 'platform',
      acknowledgedBy: null,
      acknowledgedAt: null,
      handedOffTo: null,
      handedOffBy: null,
      handedOffAt: null,
      handoffReason: null,
      events: [],
    });
    expect((await ticket(manual, 'leak-1')).assignee).toBe('data-science');

    // Nothing changes a ticket without a responder's credential.
    expect((await act(manual, page.id, 'ack', {})).status).toBe(401);
    expect((await act(manual, page.id, 'ack', bearer('guessed-token'))).status).toBe(401);
    const viewer = await act(manual, page.id, 'ack', VIEWER_HEADERS);
    expect([viewer.status, viewer.text]).toEqual([
      403,
      'oncall may not acknowledge tickets or hand them off: that needs the responder role (access.clients[].roles in mlwatch.yaml)\n',
    ]);
    expect(
      (await act(manual, page.id, 'handoff', WEBHOOK_HEADERS, { to: 'data-science', reason: 'x' })).status,
    ).toBe(403);
    expect((await act(manual, page.id, 'ack', RESPONDER_HEADERS, { acknowledged_by: 'mallory' })).text).toBe(
      'acknowledged_by: unknown field; an acknowledgement has an empty body\n',
    );
    expect(await ticket(manual, 'auc-1')).toEqual(page);

    // Platform's acknowledgement, with no body at all (as curl -X POST sends it).
    const acked = await act(manual, page.id, 'ack', bearer(TOKENS.responder));
    expect(acked.status, acked.text).toBe(200);
    const a = acked.json();
    expect(a).toMatchObject({
      id: page.id,
      assignee: 'platform',
      acknowledgedBy: 'riley',
      handedOffAt: null,
    });
    expect(Date.parse(a.acknowledgedAt as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(a.events).toEqual([
      { at: a.acknowledgedAt, actor: 'riley', action: 'acknowledged', details: { assignee: 'platform' } },
    ]);
    const again = await act(manual, page.id, 'ack', SAM);
    expect([again.status, again.text]).toEqual([
      409,
      `ticket ${page.id} was already acknowledged by riley at ${a.acknowledgedAt} for platform\n`,
    ]);

    // Platform ruled out the plumbing and hands it to data science.
    const handoff = { to: 'data-science', reason: 'exporter, warehouse, applications and jobs are healthy' };
    const h = await act(manual, page.id, 'handoff', RESPONDER_HEADERS, handoff);
    expect(h.status, h.text).toBe(200);
    const handed = h.json();
    expect(handed).toMatchObject({
      assignee: 'data-science',
      handedOffTo: 'data-science',
      handedOffBy: 'riley',
      handoffReason: handoff.reason,
      // Data science has not acknowledged it yet: platform's acknowledgement stays in the history only.
      acknowledgedBy: null,
      acknowledgedAt: null,
    });
    expect(handed.events.map((e) => [e.actor, e.action, e.details])).toEqual([
      ['riley', 'acknowledged', { assignee: 'platform' }],
      ['riley', 'handed_off', { to: 'data-science', reason: handoff.reason, automatic: false }],
    ]);
    expect(await ticket(manual, 'auc-1')).toEqual(handed);
    const second = await act(manual, page.id, 'handoff', SAM_JSON, handoff);
    expect([second.status, second.text]).toEqual([
      409,
      `ticket ${page.id} was already handed off to data-science by riley at ${handed.handedOffAt}; a ticket is handed off once\n`,
    ]);
    const warning = await ticket(manual, 'leak-1');
    const direct = await act(manual, warning.id, 'handoff', RESPONDER_HEADERS, handoff);
    expect([direct.status, direct.text]).toEqual([
      409,
      `ticket ${warning.id} is already data-science's: its alert went to them directly (a warning alert of team data-science)\n`,
    ]);

    // The hand-off is exported for MlwatchTicketHandedOff (the data-science receiver's notice), labelled with
    // what data science needs to find it; the warning, handed nothing, is not.
    const m = await scrape(manual.url);
    expect(series(m, HANDED_OFF)).toEqual([
      {
        name: HANDED_OFF,
        labels: {
          ticket: String(page.id),
          ticket_alertname: 'MlwatchModelAucLow',
          handed_off_to: 'data-science',
          handed_off_by: 'riley',
          model: 'credit_default',
          window: '14d',
          dataset: 'applications',
        },
        value: Date.parse(handed.handedOffAt as string) / 1000,
      },
    ]);

    // Data science takes it: an acknowledgement for the new assignee.
    const taken = await act(manual, page.id, 'ack', SAM);
    expect(taken.status, taken.text).toBe(200);
    expect(taken.json()).toMatchObject({ assignee: 'data-science', acknowledgedBy: 'sam' });
    expect(taken.json().events.at(-1)).toMatchObject({
      actor: 'sam',
      action: 'acknowledged',
      details: { assignee: 'data-science' },
    });

    // The alert resolves: the ticket closes, the hand-off's notice goes, and a closed ticket takes no more.
    await post(manual, [alert('auc-1', MODEL_PAGE, 'resolved')]);
    expect(series(await scrape(manual.url), HANDED_OFF)).toEqual([]);
    const closed = await ticket(manual, 'auc-1');
    expect(closed.state).toBe('resolved');
    for (const [action, body] of [
      ['ack', undefined],
      ['handoff', handoff],
    ] as const) {
      const r = await act(manual, page.id, action, RESPONDER_HEADERS, body);
      expect([r.status, r.text]).toEqual([409, expect.stringContaining(`ticket ${page.id} was resolved at`)]);
    }
    expect(await ticket(manual, 'auc-1')).toEqual(closed);
  });

  it('answers 400 for a bad body or id and 404 for an unknown ticket, changing nothing', async () => {
    await post(manual, [alert('auc-bad', MODEL_PAGE)]);
    const t = await ticket(manual, 'auc-bad');
    const cases: [string | number, unknown, number, string][] = [
      [
        t.id,
        {},
        400,
        'to: missing; the body is {"to": "data-science", "reason": "what was ruled out, why it is theirs"}',
      ],
      [t.id, { to: 'data-science' }, 400, 'reason: missing; the body is'],
      [t.id, { to: 'data-science', reason: '  ' }, 400, 'reason: expected a non-empty string'],
      [t.id, { to: 'data-science', reason: 'x'.repeat(1001) }, 400, 'reason: at most 1000 characters'],
      [t.id, { to: 'data-science', reason: 'a\u0000b' }, 400, 'reason: contains a NUL character'],
      [t.id, { to: 'business', reason: 'x' }, 400, "to: 'business' has no hand-off route; use data-science"],
      [t.id, { to: 'data-science', reason: 'x', by: 'mallory' }, 400, 'by: unknown field'],
      [t.id, ['data-science'], 400, 'expected a JSON object'],
      [t.id, '{not json', 400, 'invalid JSON'],
      ['abc', { to: 'data-science', reason: 'x' }, 400, "'abc' is not a ticket id"],
      ['0', { to: 'data-science', reason: 'x' }, 400, "'0' is not a ticket id"],
      [99_999_999, { to: 'data-science', reason: 'x' }, 404, 'no ticket 99999999'],
    ];
    for (const [id, body, status, reason] of cases) {
      const r = await act(manual, id, 'handoff', RESPONDER_HEADERS, body);
      expect([id, r.status, r.text]).toEqual([id, status, expect.stringContaining(reason)]);
    }
    expect((await act(manual, 99_999_999, 'ack', RESPONDER_HEADERS)).status).toBe(404);
    const wrongMethod = await fetch(`${manual.url}/api/v1/tickets/${t.id}/ack`, {
      headers: RESPONDER_HEADERS,
    });
    expect(wrongMethod.status).toBe(405);
    expect(await ticket(manual, 'auc-bad')).toEqual(t);
  });

  it('mlwatch tickets ack and handoff call the API as the token holder', async () => {
    await post(manual, [alert('auc-cli', MODEL_PAGE)]);
    const { id } = await ticket(manual, 'auc-cli');
    const flags = ['--url', manual.url];
    const none = runCli(['tickets', 'ack', String(id), ...flags], { MLWATCH_TOKEN: '' });
    expect([none.code, none.stderr]).toEqual([
      1,
      'no token: pass --token <your responder token> or set MLWATCH_TOKEN\n',
    ]);
    const viewer = runCli(['tickets', 'ack', String(id), ...flags, '--token', TOKENS.viewer]);
    expect([viewer.code, viewer.stderr]).toEqual([
      2,
      expect.stringContaining('refused (HTTP 403): oncall may not'),
    ]);

    const acked = runCli(['tickets', 'ack', String(id), ...flags], { MLWATCH_TOKEN: TOKENS.responder });
    expect(acked.code, acked.stderr).toBe(0);
    expect(acked.stdout).toContain(
      `ticket ${id}: MlwatchModelAucLow (model=credit_default,action=retrain,window=14d,dataset=applications), critical, open`,
    );
    expect(acked.stdout).toMatch(/\n {2}acknowledged by riley at \d{4}-/);

    const reason = 'warehouse and applications feed healthy; AUC drop since credit-gbm-3.2';
    // sam hands the ticket to data-science, with a reason.
    const handoff = (why: string, ...more: string[]) =>
      runCli([
        'tickets',
        'handoff',
        String(id),
        ...flags,
        '--token',
        SAM_TOKEN,
        '--to',
        'data-science',
        '--reason',
        why,
        ...more,
      ]);
    const handed = handoff(reason, '--json');
    expect(handed.code, handed.stderr).toBe(0);
    expect(JSON.parse(handed.stdout)).toMatchObject({
      id,
      assignee: 'data-science',
      handedOffBy: 'sam',
      handoffReason: reason,
    });
    const twice = handoff('again');
    expect([twice.code, twice.stderr]).toEqual([2, expect.stringContaining('refused (HTTP 409): ticket')]);
    expect(runCli(['tickets', 'ack', 'seven', ...flags, '--token', SAM_TOKEN]).code).toBe(1);
  });
});

describe('the automatic hand-off', () => {
  it(`hands an unacknowledged model page to data science after ${AUTO_AFTER_S}s, and nothing else`, async () => {
    const posted = Date.now();
    await post(auto, [
      alert('auto-page', MODEL_PAGE),
      alert('auto-acked', { ...MODEL_PAGE, model: 'churn' }),
      alert('auto-data', {
        ...MODEL_PAGE,
        alertname: 'MlwatchDatasetDuplicateKeys',
        layer: 'data',
        model: '',
      }),
      alert('auto-warning', { ...MODEL_PAGE, alertname: 'MlwatchModelLabelLeakage', severity: 'warning' }),
    ]);
    const acked = await act(auto, (await ticket(auto, 'auto-acked')).id, 'ack', RESPONDER_HEADERS);
    expect(acked.status).toBe(200);
    // Not before `after`: right after the page nothing is handed off.
    expect((await ticket(auto, 'auto-page')).handedOffAt).toBeNull();
    expect(Date.now() - posted).toBeLessThan(AUTO_AFTER_S * 1000);

    const page = await waitFor(
      async () => {
        const t = await ticket(auto, 'auto-page');
        return t.handedOffAt ? t : undefined;
      },
      20_000,
      'the automatic hand-off',
    );
    expect(page).toMatchObject({
      assignee: 'data-science',
      handedOffTo: 'data-science',
      handedOffBy: AUTOMATIC_ACTOR,
      handoffReason: `not acknowledged within ${AUTO_AFTER_S}s of the page (state.handoff.after)`,
      acknowledgedBy: null,
    });
    expect(Date.parse(page.handedOffAt as string) - Date.parse(page.openedAt)).toBeGreaterThanOrEqual(
      AUTO_AFTER_S * 1000,
    );
    expect(page.events).toEqual([
      {
        at: page.handedOffAt,
        actor: AUTOMATIC_ACTOR,
        action: 'handed_off',
        details: { to: 'data-science', reason: page.handoffReason, automatic: true },
      },
    ]);
    const m = await scrape(auto.url);
    expect(series(m, HANDED_OFF).map((s) => s.labels)).toEqual([
      expect.objectContaining({
        ticket: String(page.id),
        handed_off_by: AUTOMATIC_ACTOR,
        model: 'credit_default',
      }),
    ]);

    // Give the loop more turns: the acknowledged page, the data-layer page and the warning stay where they are.
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await ticket(auto, 'auto-acked')).handedOffAt).toBeNull();
    expect((await ticket(auto, 'auto-acked')).acknowledgedBy).toBe('riley');
    expect((await ticket(auto, 'auto-data')).assignee).toBe('platform');
    expect((await ticket(auto, 'auto-warning')).handedOffAt).toBeNull();
    expect((await ticket(auto, 'auto-page')).events).toHaveLength(1);
    // Handed off automatically counts as the one hand-off.
    expect(
      (await act(auto, page.id, 'handoff', RESPONDER_HEADERS, { to: 'data-science', reason: 'x' })).status,
    ).toBe(409);
  });
});

describe('two replicas running the automatic hand-off at once', () => {
  it('hand each ticket off once, with one history entry', async () => {
    const schema = `${db.schema}_race`;
    schemas.push(schema);
    const open = (): StateDb =>
      db.pglite
        ? pgliteStateDb(db.pglite, false)
        : openStateDb({ url: db.url as string, applicationName: 'mlwatch-test', connectTimeoutMs: 5000 });
    const [a, b] = [open(), open()];
    const s = `"${schema}"`;
    try {
      await migrate(a, s);
      const log = new TicketLog(a, s);
      const replicas = [new TicketHandoffs(a, s), new TicketHandoffs(b, s)];
      const n = 26;
      const rounds: number[][] = [];
      for (let round = 0; round < 4; round++) {
        await log.ingest(
          Array.from({ length: n }, (_, i) => ({
            // One model each: distinct labels, as Alertmanager's distinct fingerprints come from.
            ...alert(`race-${round}-${i}`, { ...MODEL_PAGE, model: `model_${round}_${i}` }),
            startsAt: `2026-11-29T0${round}:00:00Z`,
          })) as never,
        );
        // On PostgreSQL a third session holds every new row's lock, so both replicas' UPDATEs queue on the same
        // rows and run into each other when it lets go: the second must re-check and skip what the first did.
        const locker = onRealPostgres ? new pg.Client({ connectionString: db.url }) : undefined;
        if (locker) {
          await locker.connect();
          await locker.query('BEGIN');
          await locker.query(`SELECT id FROM ${s}.tickets WHERE fingerprint LIKE $1 FOR UPDATE`, [
            `race-${round}-%`,
          ]);
        }
        await new Promise((r) => setTimeout(r, 20));
        const racing = replicas.flatMap((h) =>
          [1, 2, 3].map(() => h.handOffUnacknowledged(1, ['model'], 'data-science')),
        );
        if (locker) {
          await new Promise((r) => setTimeout(r, 300));
          await locker.query('COMMIT');
          await locker.end();
        }
        const handed = (await Promise.all(racing)).flat();
        expect(handed).toHaveLength(n);
        expect(new Set(handed).size).toBe(n);
        rounds.push(handed);
      }
      const counts = await a.transaction((tx) =>
        tx.query(
          `SELECT count(*)::int AS events, count(DISTINCT ticket_id)::int AS tickets FROM ${s}.ticket_events
            WHERE action = 'handed_off' AND actor = $1`,
          [AUTOMATIC_ACTOR],
        ),
      );
      expect(counts).toEqual([{ events: 4 * n, tickets: 4 * n }]);

      // The gauge's read is bounded: 104 open hand-offs export the 100 latest; the 4 left out are the first round's.
      const { tickets, total } = await new TicketHandoffs(a, s).handedOff();
      expect([total, tickets.length]).toEqual([4 * n, 100]);
      const exported = new Set(tickets.map((t) => Number(t.labels.ticket)));
      const left = rounds.flat().filter((id) => !exported.has(id));
      expect(left).toHaveLength(4);
      for (const id of left) expect(rounds[0]).toContain(id);
    } finally {
      await a.transaction((tx) => tx.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`));
      await a.close();
      await b.close();
    }
  });
});

describe('migration 8 on an existing ticket log', () => {
  it('assigns every page to platform and every other ticket to its team', async () => {
    const schema = `${db.schema}_upgrade`;
    schemas.push(schema);
    const s = `"${schema}"`;
    const sdb = db.pglite
      ? pgliteStateDb(db.pglite, false)
      : openStateDb({ url: db.url as string, applicationName: 'mlwatch-test', connectTimeoutMs: 5000 });
    try {
      // The store as the release before hand-offs left it: migrations 1 to 7 and a few tickets.
      await sdb.transaction(async (tx) => {
        await tx.query(`CREATE SCHEMA ${s}`);
        await tx.query(
          `CREATE TABLE ${s}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now())`,
        );
        for (const m of MIGRATIONS.filter((x) => x.version <= 7)) {
          for (const sql of m.statements(s)) await tx.query(sql);
          await tx.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [
            m.version,
            m.name,
          ]);
        }
        for (const [fp, severity, team] of [
          ['old-page', 'critical', 'data-science'],
          ['old-warning', 'warning', 'data-science'],
          ['old-platform', 'warning', 'platform'],
          ['old-no-team', 'warning', null],
        ]) {
          await tx.query(
            `INSERT INTO ${s}.tickets (fingerprint, starts_at, alertname, severity, team, layer, state, labels, annotations)
             VALUES ($1, now(), 'X', $2, $3, 'model', 'open', '{}', '{}')`,
            [fp, severity, team],
          );
        }
      });
      expect(await migrate(sdb, s)).toEqual(MIGRATIONS.filter((m) => m.version > 7).map((m) => m.version));
      const tickets = await new TicketLog(sdb, s).list();
      expect(
        Object.fromEntries(tickets.map((t) => [t.fingerprint, [t.assignee, t.handedOffAt, t.events]])),
      ).toEqual({
        'old-page': ['platform', null, []],
        'old-warning': ['data-science', null, []],
        'old-platform': ['platform', null, []],
        'old-no-team': [null, null, []],
      });
    } finally {
      await sdb.transaction((tx) => tx.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`));
      await sdb.close();
    }
  });
});

describe('state.handoff in the config', () => {
  it('defaults to 15 minutes for model pages; a layer of your own rules is accepted when listed', () => {
    const base = "warehouse: { url: 'pglite:memory' }\n";
    expect(loadConfigText(base, 'a.yaml', {}, '/').raw.state.handoff).toEqual({
      after: 900_000,
      layers: ['model'],
    });
    const own = loadConfigText(
      `${base}state: { ticket_labels: { layer: [fraud] }, handoff: { after: 5m, layers: [model, fraud] } }\n`,
      'b.yaml',
      {},
      '/',
    );
    expect(own.raw.state.handoff).toEqual({ after: 300_000, layers: ['model', 'fraud'] });
    expect(
      loadConfigText(`${base}state: { handoff: { layers: [] } }\n`, 'c.yaml', {}, '/').raw.state.handoff,
    ).toEqual({
      after: 900_000,
      layers: [],
    });
  });

  rejectsEachFixture('test/fixtures/bad-config-handoff', [
    [
      '01-unknown-layer.yaml',
      "01-unknown-layer.yaml:4 state.handoff.layers[0]: 'modle' is not a layer alerts carry (data, model, system, business; add your own to state.ticket_labels.layer); did you mean 'model'?",
    ],
    [
      '02-bad-after.yaml',
      "02-bad-after.yaml:4 state.handoff.after: '15 minutes' is not a time: write it like 30s, 5m, 1h or 7d",
    ],
    ['03-typo-key.yaml', "03-typo-key.yaml:4 state.handoff.layer: unknown key; did you mean 'layers'?"],
  ]);
});
