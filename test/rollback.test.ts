import { createHash } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { openStateDb, pgliteStateDb, type StateDb } from '../src/actions/store/db.js';
import { decideRollback, listRollbacks, requestRollback, showRollback } from '../src/commands/rollback.js';
import { loadConfigText } from '../src/config/load.js';
import { FailureLimiter } from '../src/http/auth/failure-limiter.js';
import type { Running } from '../src/runtime/serve.js';
import { rejectsEachFixture } from './helpers/bad-config.js';
import { ACCESS_YAML, TOKENS as CLIENT_TOKENS } from './helpers/credentials.js';
import type { TestDb } from './helpers/db.js';
import { memoryLogger } from './helpers/exporter.js';
import { parseExposition, sampleValue } from './helpers/exposition.js';
import { modelEntry as model, useServedFixture } from './helpers/served.js';
import { waitFor } from './helpers/wait.js';
import type { WebhookSink } from './helpers/webhook-sink.js';

const VIEWER_TOKEN = CLIENT_TOKENS.viewer;

// Rollbacks with joint approval, through in-process `serve()` exporters over HTTP, with the state store on the
// real PostgreSQL (or one embedded PGlite that two in-process exporters share, standing in for one database).

const sha = (t: string) => createHash('sha256').update(t).digest('hex');

describe('bad approver and rollback configs name the file, line, path and fix', () => {
  const dir = 'test/fixtures/bad-config-rollback';
  const hashFix =
    'expected the hex SHA-256 of the approver\'s API token (64 characters 0-9 a-f), from printf %s "$TOKEN" | sha256sum; never the token itself';
  const cases: [string, string][] = [
    [
      '01-duplicate-name.yaml',
      "01-duplicate-name.yaml:5 approvers[1].name: approver name 'alice' is already used by approvers[0]",
    ],
    ['02-token-not-hash.yaml', `02-token-not-hash.yaml:6 approvers[0].token_sha256: ${hashFix}`],
    ['03-unknown-role.yaml', "03-unknown-role.yaml:5 approvers[0].role: expected 'engineering' or 'product'"],
    [
      '04-shared-token.yaml',
      '04-shared-token.yaml:5 approvers[1].token_sha256: the same token hash as approvers[0]; every approver needs a token of their own',
    ],
    [
      '05-missing-webhook.yaml',
      '05-missing-webhook.yaml:9 models[0].rollback.webhook: missing; give the http(s) URL that rolls the model back, e.g. https://ml-platform/rollback',
    ],
    [
      '06-bad-expiry.yaml',
      "06-bad-expiry.yaml:3 rollback_expiry: 'one day' is not an expiry: write it like 30s, 5m, 1h or 7d",
    ],
    [
      '07-bad-attempts.yaml',
      '07-bad-attempts.yaml:9 models[0].rollback.attempts: attempts is a whole number from 1 to 100',
    ],
  ];
  rejectsEachFixture(dir, cases);

  it('defaults: no approvers, 24 h expiry, 5 attempts; upper-case hashes are read as lower case', () => {
    const c = loadConfigText(
      `warehouse: { url: 'postgresql://x/db' }\napprovers:\n  - { name: alice, role: engineering, token_sha256: ${sha('a').toUpperCase()} }\nmodels:\n${model('a', 'rollback: { webhook: "http://r/a" }')}`,
      'm.yaml',
      {},
      '/',
    );
    expect(c.raw.approvers).toEqual([{ name: 'alice', role: 'engineering', token_sha256: sha('a') }]);
    expect(c.raw.rollback_expiry).toBe(86_400_000);
    expect(c.raw.models[0]?.rollback).toEqual({ webhook: 'http://r/a', attempts: 5 });
    const none = loadConfigText(`warehouse: { url: 'postgresql://x/db' }\n`, 'n.yaml', {}, '/');
    expect([none.raw.approvers, none.raw.rollback_expiry]).toEqual([[], 86_400_000]);
  });
});

// ----- served ---------------------------------------------------------------------------------------------

/** Two engineers and two product owners, each with a token of their own. */
const TOKENS = { alice: 'tok-alice', erin: 'tok-erin', pat: 'tok-pat', paul: 'tok-paul' } as const;
type Who = keyof typeof TOKENS;
const ROLE: Record<Who, 'engineering' | 'product'> = {
  alice: 'engineering',
  erin: 'engineering',
  pat: 'product',
  paul: 'product',
};

const served = useServedFixture('b', { modelTables: true });
let db: TestDb;
let sink: WebhookSink;
beforeAll(() => {
  ({ db, sink } = served);
});

const rollbackModel = (name: string, extra = '') =>
  model(
    name,
    `rollback: { webhook: '${sink.url}/${name}', headers: { authorization: 'Bearer deploy' }${extra} }`,
  );

function configOf(schema: string, models: string, expiry = '24h') {
  const approvers = (Object.keys(TOKENS) as Who[])
    .map((w) => `  - { name: ${w}, role: ${ROLE[w]}, token_sha256: ${sha(TOKENS[w])} }`)
    .join('\n');
  const text = [
    `warehouse: { url: '${db.configUrl}', statement_timeout: 10s }`,
    `state: { url: '${served.stateUrl}', schema: ${schema} }`,
    `rollback_expiry: ${expiry}`,
    'approvers:',
    approvers,
    'models:',
    served.qualify(models),
    ACCESS_YAML,
  ].join('\n');
  return loadConfigText(text, 'rollback.yaml', {}, '/');
}

function start(schema: string, models: string, expiry?: string): Promise<Running> {
  return served.serve(configOf(schema, models, expiry), {
    rollback: { now: served.now, pollMs: 50, backoffMs: 100, backoffCapMs: 400, refreshMs: 100 },
    // The refusal tests fail authentication on purpose, more often than a real client may per minute.
    failureLimiter: new FailureLimiter(1000),
  });
}

const url = (r: Running) => `http://127.0.0.1:${r.port}`;

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON or text, checked by each test
  body: any;
  headers: Headers;
}

async function api(
  r: Running,
  method: string,
  path: string,
  who?: Who | string,
  body?: unknown,
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (who !== undefined) headers.authorization = who in TOKENS ? `Bearer ${TOKENS[who as Who]}` : who;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url(r)}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
    headers: res.headers,
  };
}

const open = (
  r: Running,
  who: Who,
  model = 'credit',
  to_version = 'v41',
  reason = 'v42 mis-scores new applicants',
) => api(r, 'POST', '/api/v1/rollbacks', who, { model, to_version, reason });
const approve = (r: Running, id: number, who: Who, comment?: string) =>
  api(r, 'POST', `/api/v1/rollbacks/${id}/approve`, who, comment ? { comment } : undefined);
const reject = (r: Running, id: number, who: Who, comment?: string) =>
  api(r, 'POST', `/api/v1/rollbacks/${id}/reject`, who, comment ? { comment } : undefined);
const get = async (r: Running, id: number) => (await api(r, 'GET', `/api/v1/rollbacks/${id}`, 'alice')).body;
const metrics = async (r: Running) => parseExposition(await r.exporter.metricsText());
/**
 * Instead of sleeping and hoping nothing runs: an execution round that may join one in flight, then a fresh
 * round, which must find nothing due. The sink's calls after it are final.
 */
async function settle(r: Running): Promise<void> {
  await r.rollbacks.executeDue();
  expect(await r.rollbacks.executeDue(), 'a fresh execution round runs nothing').toBe(0);
}

describe('the state machine', () => {
  it('runs once an engineer and a product owner approved: pending -> approved -> executing -> executed', async () => {
    const a = await start(served.stateSchema(), rollbackModel('credit') + model('churn'));
    const created = await open(a, 'alice');
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    expect(created.headers.get('location')).toBe(`/api/v1/rollbacks/${id}`);
    expect(created.body).toMatchObject({
      model: 'credit',
      to_version: 'v41',
      reason: 'v42 mis-scores new applicants',
      requested_by: 'alice',
      state: 'pending',
      approvals: [],
      waiting_for: ['engineering', 'product'],
    });
    // The expiry is the creation plus 24 h, exactly.
    expect(Date.parse(created.body.expires_at) - Date.parse(created.body.created_at)).toBe(86_400_000);

    const first = await approve(a, id, 'erin', 'metrics agree');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ state: 'pending', waiting_for: ['product'] });
    await settle(a);
    expect(sink.calls).toEqual([]);

    const second = await approve(a, id, 'pat');
    expect(second.body.state).toBe('approved');
    await waitFor(async () => (await get(a, id)).state === 'executed', 10_000, 'executed');
    await settle(a);
    expect(sink.calls).toHaveLength(1);
    const [call] = sink.calls;
    const done = await get(a, id);
    expect(call?.path).toBe('/credit');
    expect(call?.headers.authorization).toBe('Bearer deploy');
    expect(call?.headers['idempotency-key']).toBe(`mlwatch-rollback-${id}`);
    expect(call?.body).toEqual({
      id,
      model: 'credit',
      to_version: 'v41',
      reason: 'v42 mis-scores new applicants',
      requested_by: 'alice',
      approvals: [
        { approver: 'erin', role: 'engineering', at: done.approvals[0].at },
        { approver: 'pat', role: 'product', at: done.approvals[1].at },
      ],
    });
    expect(done).toMatchObject({ state: 'executed', attempts: 1, failures: 0, last_error: null });
    expect(
      done.approvals.map((x: { approver: string; decision: string }) => [x.approver, x.decision]),
    ).toEqual([
      ['erin', 'approve'],
      ['pat', 'approve'],
    ]);

    // The audit log: who did what, in order, with the details each step adds.
    const audit = done.audit.map((e: { actor: string; action: string; details: object }) => [
      e.actor,
      e.action,
      e.details,
    ]);
    expect(audit).toEqual([
      [
        'alice',
        'requested',
        {
          role: 'engineering',
          model: 'credit',
          to_version: 'v41',
          reason: 'v42 mis-scores new applicants',
          expires_at: created.body.expires_at,
        },
      ],
      ['erin', 'approve', { role: 'engineering', comment: 'metrics agree' }],
      ['pat', 'approve', { role: 'product' }],
      [
        'mlwatch',
        'approved',
        {
          approvers: [
            { approver: 'erin', role: 'engineering' },
            { approver: 'pat', role: 'product' },
          ],
        },
      ],
      ['mlwatch', 'executing', { attempt: 1, replica: expect.any(String) }],
      ['mlwatch', 'executed', { attempt: 1 }],
    ]);
    const times = done.audit.map((e: { at: string }) => Date.parse(e.at));
    expect([...times].sort((x, y) => x - y)).toEqual(times);

    // Approving or rejecting an executed request: 409, closed.
    const late = await approve(a, id, 'paul');
    expect(late).toMatchObject({
      status: 409,
      body: `request ${id} is executed: it is closed to approvals and rejections\n`,
    });
    expect((await reject(a, id, 'paul')).status).toBe(409);

    await a.rollbacks.refresh();
    const m = await metrics(a);
    expect(sampleValue(m, 'mlwatch_rollback_requests', { state: 'executed' })).toBe(1);
    for (const s of ['pending', 'approved', 'executing', 'failed', 'rejected', 'expired']) {
      expect(sampleValue(m, 'mlwatch_rollback_requests', { state: s })).toBe(0);
    }
  });

  it('refuses the same person twice, and two people of one role do not make a joint approval', async () => {
    const a = await start(served.stateSchema(), rollbackModel('credit'));
    const id = (await open(a, 'pat')).body.id as number;
    // The requester may approve: requesting is not approving.
    expect((await approve(a, id, 'pat')).body.waiting_for).toEqual(['engineering']);
    const twice = await approve(a, id, 'pat');
    expect(twice).toMatchObject({
      status: 409,
      body: `pat has already approved request ${id}; the other approval must come from someone else\n`,
    });
    // Another product owner: still no engineering approval, nothing runs.
    const sameRole = await approve(a, id, 'paul');
    expect(sameRole.status).toBe(200);
    expect(sameRole.body).toMatchObject({ state: 'pending', waiting_for: ['engineering'] });
    await settle(a);
    expect(sink.calls).toEqual([]);
    const r = await get(a, id);
    expect(r.approvals.map((x: { approver: string }) => x.approver)).toEqual(['pat', 'paul']);
    expect(r.audit.map((e: { actor: string; action: string }) => `${e.actor}:${e.action}`)).toEqual([
      'pat:requested',
      'pat:approve',
      'pat:refused',
      'paul:approve',
    ]);
    expect(r.audit[2].details).toEqual({
      role: 'product',
      attempted: 'approve',
      reason: `pat has already approved request ${id}; the other approval must come from someone else`,
    });
    // A second open request for the same model is refused while this one is open.
    const dup = await open(a, 'alice', 'credit', 'v40');
    expect(dup).toMatchObject({
      status: 409,
      body: `model credit already has an open rollback request ${id} (pending); approve, reject or let it expire first\n`,
    });
    // Then the engineer approves: it runs, once.
    expect((await approve(a, id, 'alice')).body.state).toBe('approved');
    await waitFor(async () => (await get(a, id)).state === 'executed', 10_000, 'executed');
    await settle(a);
    expect(sink.calls.map((c) => c.body.approvals)).toEqual([
      [
        { approver: 'pat', role: 'product', at: r.approvals[0].at },
        { approver: 'paul', role: 'product', at: r.approvals[1].at },
        { approver: 'alice', role: 'engineering', at: expect.any(String) },
      ],
    ]);
  });

  it('a reject by either role closes the request, also after its author approved it', async () => {
    const a = await start(served.stateSchema(), rollbackModel('credit') + rollbackModel('churn'));
    const id = (await open(a, 'alice')).body.id as number;
    await approve(a, id, 'alice');
    const rejected = await reject(a, id, 'alice', 'the spike was a data bug');
    expect(rejected.body).toMatchObject({ state: 'rejected', waiting_for: [] });
    expect(rejected.body.approvals).toEqual([
      { approver: 'alice', role: 'engineering', decision: 'reject', at: expect.any(String) },
    ]);
    const closed = `request ${id} is rejected: it is closed to approvals and rejections\n`;
    expect(await approve(a, id, 'pat')).toMatchObject({ status: 409, body: closed });
    expect(await reject(a, id, 'paul')).toMatchObject({ status: 409, body: closed });

    const other = (await open(a, 'pat', 'churn', 'v7')).body.id as number;
    expect((await reject(a, other, 'pat')).body.state).toBe('rejected');
    // A closed request frees its model: a new one may be opened.
    expect((await open(a, 'erin', 'credit', 'v40')).status).toBe(201);
    const audit = (await get(a, id)).audit.map(
      (e: { actor: string; action: string }) => `${e.actor}:${e.action}`,
    );
    expect(audit).toEqual([
      'alice:requested',
      'alice:approve',
      'alice:reject',
      'pat:refused',
      'paul:refused',
    ]);
    expect((await get(a, id)).audit[2].details).toEqual({
      role: 'engineering',
      comment: 'the spike was a data bug',
      withdrew: 'approve',
    });
    await settle(a);
    expect(sink.calls).toEqual([]);
  });

  it('expires pending requests: on access (409 to a late approval) and by the sweep', async () => {
    const schema = served.stateSchema();
    const models = rollbackModel('credit') + rollbackModel('churn');
    const a = await start(schema, models, '2h');
    const id = (await open(a, 'alice')).body.id as number;
    const swept = (await open(a, 'alice', 'churn', 'v3')).body.id as number;
    await approve(a, id, 'alice');
    const created = await get(a, id);
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(7_200_000);
    // One second before the expiry a request is still pending...
    served.offsetMs = Date.parse(created.expires_at) - Date.now() - 1000;
    expect((await get(a, swept)).state).toBe('pending');
    // ... and once it has passed, it is refused with the reason. The sweep may have got there first.
    await a.rollbacks.stop(); // no sweep on this replica: the access itself expires it
    served.offsetMs = Date.parse(created.expires_at) - Date.now() + 1000;
    const late = await approve(a, id, 'pat');
    expect(late).toMatchObject({
      status: 409,
      body: `request ${id} expired at ${created.expires_at} before both roles approved; open a new request\n`,
    });
    const r = await get(a, id);
    expect(r.state).toBe('expired');
    expect(r.audit.map((e: { actor: string; action: string }) => `${e.actor}:${e.action}`)).toEqual([
      'alice:requested',
      'alice:approve',
      'mlwatch:expired',
      'pat:refused',
    ]);
    expect(r.audit[2].details).toEqual({ expires_at: created.expires_at });
    await settle(a);
    expect(sink.calls).toEqual([]);

    // The sweep of a running replica expires the other one without anyone asking for it.
    const b = await start(schema, models, '2h');
    const stateOf = async (x: number) =>
      (await b.rollbacks.log.list({ now: new Date(0) })).find((y) => y.id === x)?.state;
    await waitFor(async () => (await stateOf(swept)) === 'expired', 10_000, 'swept');
    await b.rollbacks.refresh();
    const m = await metrics(b);
    expect(sampleValue(m, 'mlwatch_rollback_requests', { state: 'expired' })).toBe(2);
    expect(sampleValue(m, 'mlwatch_rollback_requests', { state: 'pending' })).toBe(0);
  });
});

describe('refusals before anything is written', () => {
  it('401 without a usable token (with WWW-Authenticate), 403 with a token nobody has, on every endpoint', async () => {
    const a = await start(served.stateSchema(), rollbackModel('credit'));
    const id = (await open(a, 'alice')).body.id as number;
    const endpoints: [string, string, unknown][] = [
      ['GET', '/api/v1/rollbacks', undefined],
      ['POST', '/api/v1/rollbacks', { model: 'credit', to_version: 'v1', reason: 'x' }],
      ['GET', `/api/v1/rollbacks/${id}`, undefined],
      ['POST', `/api/v1/rollbacks/${id}/approve`, undefined],
      ['POST', `/api/v1/rollbacks/${id}/reject`, undefined],
    ];
    for (const [method, path, body] of endpoints) {
      const none = await api(a, method, path, undefined, body);
      expect([path, none.status, none.body]).toEqual([
        path,
        401,
        method === 'POST'
          ? 'no credentials; send Authorization: Bearer <your approver token>\n'
          : 'no credentials; send Authorization: Bearer <token> of a client with the viewer role (or basic auth as one)\n',
      ]);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="mlwatch"');
      // No basic-auth users are configured: basic credentials are wrong by definition.
      const basic = await api(a, method, path, 'Basic YWxpY2U6eA==', body);
      expect([basic.status, basic.body]).toEqual([401, 'wrong user name or password\n']);
      // The hash of a token is not a token: sending the configured hash itself is refused.
      for (const wrong of ['Bearer tok-mallory', `Bearer ${sha(TOKENS.alice)}`]) {
        const refused = await api(a, method, path, wrong, body);
        expect([refused.status, refused.body]).toEqual([
          401,
          'this token belongs to no configured client or approver\n',
        ]);
      }
      // A viewer may read but not act.
      const viewer = await api(a, method, path, `Bearer ${VIEWER_TOKEN}`, body);
      if (method === 'GET') expect(viewer.status).toBe(200);
      else
        expect([viewer.status, viewer.body]).toEqual([
          403,
          "oncall is not an approver; only the approvers section's tokens may request, approve or reject rollbacks\n",
        ]);
    }
    const r = await get(a, id);
    expect([r.state, r.approvals, r.audit.length]).toEqual(['pending', [], 1]);
    expect((await api(a, 'GET', '/api/v1/rollbacks', 'alice')).body.rollbacks).toHaveLength(1);
  });

  it('400 with the reason for bad bodies, ids and filters; 404 for an unknown request; 413 for a huge body', async () => {
    const a = await start(served.stateSchema(), rollbackModel('credit') + model('churn'));
    const post = (body: unknown) => api(a, 'POST', '/api/v1/rollbacks', 'alice', body);
    const cases: [unknown, string][] = [
      ['{nope', 'invalid JSON: '],
      [[1, 2], 'expected a JSON object'],
      [{ to_version: 'v1', reason: 'x' }, 'model: missing; a request is {model, to_version, reason}'],
      [{ model: 'credit', reason: 'x' }, 'to_version: missing; a request is {model, to_version, reason}'],
      [
        { model: 'credit', to_version: 41, reason: 'x' },
        'to_version: expected a non-empty string; a request is {model, to_version, reason}',
      ],
      [
        { model: 'credit', to_version: 'v1', reason: '  ' },
        'reason: expected a non-empty string; a request is {model, to_version, reason}',
      ],
      [
        { model: 'credit', to_version: 'v1', reason: 'r'.repeat(1001) },
        'reason: at most 1000 characters; a request is {model, to_version, reason}',
      ],
      [
        { model: 'credit', to_version: 'v1', reason: 'x', force: true },
        'force: unknown field; a request is {model, to_version, reason}',
      ],
      [
        { model: 'churn', to_version: 'v1', reason: 'x' },
        "model: 'churn' has no rollback config; add a rollback block (webhook) to the model in the config",
      ],
      [
        { model: 'nosuch', to_version: 'v1', reason: 'x' },
        "model: 'nosuch' has no rollback config; add a rollback block (webhook) to the model in the config",
      ],
    ];
    for (const [body, reason] of cases) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.body.startsWith(reason)).toBe(true);
    }
    const huge = await post({ model: 'credit', to_version: 'v1', reason: 'x'.repeat(20_000) });
    expect([huge.status, huge.body]).toEqual([413, 'body larger than 16kb\n']);
    expect(await api(a, 'GET', '/api/v1/rollbacks/abc', 'alice')).toMatchObject({
      status: 400,
      body: "'abc' is not a rollback request id\n",
    });
    expect(await api(a, 'GET', '/api/v1/rollbacks?state=open', 'alice')).toMatchObject({
      status: 400,
      body: "state must be one of pending, approved, executing, executed, failed, rejected, expired, not 'open'\n",
    });
    expect(await approve(a, 999, 'alice')).toMatchObject({ status: 404, body: 'no rollback request 999\n' });
    expect(await api(a, 'GET', '/api/v1/rollbacks/999', 'alice')).toMatchObject({ status: 404 });
    const id = (await open(a, 'alice')).body.id as number;
    expect(await api(a, 'POST', `/api/v1/rollbacks/${id}/approve`, 'pat', { comment: 3 })).toMatchObject({
      status: 400,
      body: 'comment: expected a non-empty string\n',
    });
    expect(await api(a, 'POST', `/api/v1/rollbacks/${id}/approve`, 'pat', { approve: true })).toMatchObject({
      status: 400,
      body: 'approve: unknown field; the body is empty or {comment}\n',
    });
    expect((await api(a, 'PUT', '/api/v1/rollbacks', 'alice')).status).toBe(405);
    // Only the one good request exists, untouched.
    const list = (await api(a, 'GET', '/api/v1/rollbacks', 'alice')).body.rollbacks;
    expect(list.map((r: { id: number; approvals: unknown[] }) => [r.id, r.approvals])).toEqual([[id, []]]);
  });

  it('answers 503 while the state store cannot be reached', async () => {
    const a = await served.serveStoreDown(
      `approvers:\n  - { name: alice, role: engineering, token_sha256: ${sha(TOKENS.alice)} }\nmodels:\n${rollbackModel('credit')}\n${ACCESS_YAML}`,
      { log: memoryLogger().log },
    );
    const res = await open(a, 'alice');
    expect(res.status).toBe(503);
    expect(res.body).toMatch(/^state store unavailable: .*ECONNREFUSED/);
    // Authentication does not need the store: an unknown token is still refused.
    expect((await api(a, 'GET', '/api/v1/rollbacks', 'Bearer x')).status).toBe(401);
  });
});

/** Opens a request on `r` and has an engineer and a product owner approve it. */
async function approved(
  r: Running,
  modelName = 'credit',
  eng: Who = 'alice',
  prod: Who = 'pat',
): Promise<number> {
  const id = (await open(r, eng, modelName)).body.id as number;
  await approve(r, id, eng);
  expect((await approve(r, id, prod)).body.state).toBe('approved');
  return id;
}

describe('execution', () => {
  it('retries a failing webhook with backoff, stays approved meanwhile, and executes once it answers', async () => {
    const a = await start(served.stateSchema(), rollbackModel('credit'));
    sink.status = 500;
    const id = await approved(a);
    await waitFor(() => sink.calls.length >= 3, 10_000, 'three attempts');
    const between = await get(a, id);
    expect(['approved', 'executing']).toContain(between.state);
    expect(between.last_error).toBe('HTTP 500: retraining service unavailable');
    sink.status = 200;
    await waitFor(async () => (await get(a, id)).state === 'executed', 10_000, 'executed at last');
    await settle(a);
    const done = await get(a, id);
    const n = sink.calls.length;
    expect(new Set(sink.calls.map((c) => c.body.id))).toEqual(new Set([id]));
    expect(new Set(sink.calls.map((c) => c.headers['idempotency-key']))).toEqual(
      new Set([`mlwatch-rollback-${id}`]),
    );
    expect(done).toMatchObject({ attempts: n, failures: n - 1, last_error: null });
    const gaps = sink.calls.slice(1).map((c, i) => c.at - (sink.calls[i]?.at as number));
    // >= 0.9 x 100 ms, then >= 0.9 x 200 ms.
    expect(gaps[0]).toBeGreaterThanOrEqual(90);
    expect(gaps[1]).toBeGreaterThanOrEqual(180);
    const actions = done.audit.map((e: { action: string }) => e.action).slice(4);
    expect(actions).toEqual([
      ...Array.from({ length: n - 1 }, () => ['executing', 'execution_failed']).flat(),
      'executing',
      'executed',
    ]);
    expect(done.audit[5].details).toMatchObject({
      attempt: 1,
      error: 'HTTP 500: retraining service unavailable',
    });
  });

  it('gives up as failed after `attempts` failures', async () => {
    const a = await start(served.stateSchema(), rollbackModel('credit', ', attempts: 2'));
    sink.status = 503;
    const id = await approved(a);
    await waitFor(async () => (await get(a, id)).state === 'failed', 10_000, 'failed');
    await settle(a);
    expect(sink.calls).toHaveLength(2);
    const r = await get(a, id);
    expect(r).toMatchObject({
      attempts: 2,
      failures: 2,
      last_error: 'HTTP 503: retraining service unavailable',
    });
    expect(r.finished_at).not.toBeNull();
    expect(r.audit.map((e: { action: string }) => e.action).slice(-2)).toEqual(['executing', 'failed']);
    await a.rollbacks.refresh();
    expect(sampleValue(await metrics(a), 'mlwatch_rollback_requests', { state: 'failed' })).toBe(1);
    // Closed: a failed rollback is not approved again; open a new request.
    expect((await approve(a, id, 'paul')).status).toBe(409);
    expect((await open(a, 'alice')).status).toBe(201);
  });

  it('keeps an approved rollback across a restart and executes it exactly once when the webhook is back', async () => {
    const schema = served.stateSchema();
    await sink.close();
    const a = await start(schema, rollbackModel('credit', ', attempts: 100'));
    const id = await approved(a);
    await waitFor(async () => (await get(a, id)).failures >= 1, 10_000, 'a failed attempt');
    expect((await get(a, id)).last_error).toBe('ECONNREFUSED');
    await served.stop(a);

    await sink.open();
    const b = await start(schema, rollbackModel('credit', ', attempts: 100'));
    await waitFor(async () => (await get(b, id)).state === 'executed', 10_000, 'executed after restart');
    await settle(b);
    expect(sink.calls).toHaveLength(1);
  });

  it('an attempt whose replica died is taken over once its claim has run out', async () => {
    const schema = served.stateSchema();
    const models = rollbackModel('credit', ', timeout: 2s');
    const a = await start(schema, models);
    await a.rollbacks.stop(); // a replica that claims and then dies: the test claims for it
    const id = await approved(a);
    const claim = await a.rollbacks.log.claimDue(served.now(), ['credit'], 62_000, 'dead-replica');
    expect(claim?.id).toBe(id);
    const b = await start(schema, models);
    await settle(b);
    // Within the claim (the timeout plus a minute) nobody touches it.
    expect([(await get(b, id)).state, sink.calls.length]).toEqual(['executing', 0]);
    served.offsetMs = 62_001;
    await waitFor(async () => (await get(b, id)).state === 'executed', 10_000, 'taken over');
    await settle(b);
    expect(sink.calls).toHaveLength(1);
    const r = await get(b, id);
    expect(r.attempts).toBe(2);
    const executing = r.audit.filter((e: { action: string }) => e.action === 'executing');
    expect(
      executing.map((e: { details: { replica: string; attempt: number } }) => [
        e.details.replica === 'dead-replica',
        e.details.attempt,
      ]),
    ).toEqual([
      [true, 1],
      [false, 2],
    ]);
    // The dead replica's late answer cannot overwrite the result: its claim token is stale.
    expect(
      await a.rollbacks.log.finish(claim as NonNullable<typeof claim>, { ok: true, at: served.now() }),
    ).toBe(false);
  });

  it('two replicas: approvals arriving at both at once approve once, and every rollback executes exactly once', async () => {
    const schema = served.stateSchema();
    const names = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];
    const models = names.map((n) => rollbackModel(n)).join('');
    sink.status = 503; // both replicas retry for a while
    const [a, b] = [await start(schema, models), await start(schema, models)] as [Running, Running];
    const ids = await Promise.all(
      names.map(async (n, i) => (await open(i % 2 ? a : b, 'alice', n)).body.id as number),
    );
    // The engineer approves at one replica while the product owner approves at the other, at the same moment.
    const answers = await Promise.all(ids.flatMap((id) => [approve(a, id, 'erin'), approve(b, id, 'paul')]));
    expect(answers.map((x) => x.status)).toEqual(answers.map(() => 200));
    // For each request exactly one of its two answers saw it become approved.
    for (let i = 0; i < ids.length; i++) {
      const states = [answers[2 * i]?.body.state, answers[2 * i + 1]?.body.state].sort();
      expect(states).toEqual(['approved', 'pending']);
    }
    await waitFor(() => sink.calls.length >= 2 * names.length, 10_000, 'failed attempts by both');
    sink.calls.length = 0;
    sink.status = 200;
    await waitFor(
      async () =>
        (await api(a, 'GET', '/api/v1/rollbacks?state=executed', 'alice')).body.rollbacks.length ===
        names.length,
      10_000,
      'all executed',
    );
    await settle(a);
    await settle(b);
    expect(sink.calls.map((c) => c.body.id).sort()).toEqual([...ids].sort());
    expect(sink.calls.map((c) => c.path).sort()).toEqual(names.map((n) => `/${n}`));
    for (const id of ids) {
      const audit = (await get(a, id)).audit.map((e: { action: string }) => e.action);
      expect(audit.filter((x: string) => x === 'approved')).toHaveLength(1);
      expect(audit.filter((x: string) => x === 'executed')).toHaveLength(1);
    }
  });
});

describe('the audit log', () => {
  it('is append-only: the database refuses UPDATE, DELETE and TRUNCATE', async () => {
    const schema = served.stateSchema();
    const a = await start(schema, rollbackModel('credit'));
    await open(a, 'alice');
    const stateDb: StateDb = db.pglite
      ? pgliteStateDb(db.pglite, false)
      : openStateDb({ url: db.url as string, applicationName: 't', connectTimeoutMs: 5000 });
    try {
      for (const sql of [
        `UPDATE ${schema}.rollback_audit SET actor = 'mallory'`,
        `DELETE FROM ${schema}.rollback_audit`,
        `TRUNCATE ${schema}.rollback_audit`,
      ]) {
        await expect(stateDb.transaction((tx) => tx.query(sql))).rejects.toThrow(
          /rollback_audit is append-only/,
        );
      }
      const rows = await stateDb.transaction((tx) =>
        tx.query(`SELECT actor, action FROM ${schema}.rollback_audit`),
      );
      expect(rows).toEqual([{ actor: 'alice', action: 'requested' }]);
    } finally {
      await stateDb.close();
    }
  });
});

describe('mlwatch rollback approve, the approval that starts the execution', () => {
  const env = (who: Who) => ({ MLWATCH_TOKEN: TOKENS[who] });
  async function almostApproved(a: Running): Promise<number> {
    const id = (await open(a, 'alice')).body.id as number;
    expect((await approve(a, id, 'erin')).status).toBe(200);
    return id;
  }

  it('says the attempt failed and will be retried when the deployment service refuses it', async () => {
    const a = await start(served.stateSchema(), rollbackModel('credit', ', attempts: 100'));
    sink.status = 500;
    const id = await almostApproved(a);
    const r = await decideRollback('approve', String(id), { url: url(a) }, env('pat'));
    expect(r.code).toBe(0);
    expect(r.out.split('\n').at(-1)).toBe(
      `  both roles approved: the attempt failed and will be retried; follow it with mlwatch rollback show ${id}`,
    );
    expect(r.out).toContain('  last error: HTTP 500: retraining service unavailable');
    expect(sink.calls.length).toBeGreaterThanOrEqual(1);
  });

  it('stops following after its wait and says how to follow it, with the rollback still executing', async () => {
    const a = await start(served.stateSchema(), rollbackModel('credit'));
    sink.holdMs = 3000;
    const id = await almostApproved(a);
    const started = Date.now();
    const r = await decideRollback('approve', String(id), { url: url(a), json: false }, env('pat'), {
      waitMs: 400,
      everyMs: 50,
    });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(r.out.split('\n')[0]).toBe(`rollback request ${id}: credit to v41, executing`);
    expect(r.out.split('\n').at(-1)).toBe(
      `  both roles approved: executing; follow it with mlwatch rollback show ${id}`,
    );
    await waitFor(async () => (await get(a, id)).state === 'executed', 10_000, 'executed after the hold');
  });

  it('prints the executed request as JSON with --json', async () => {
    const a = await start(served.stateSchema(), rollbackModel('credit'));
    const id = await almostApproved(a);
    const r = await decideRollback('approve', String(id), { url: url(a), json: true }, env('pat'));
    expect(JSON.parse(r.out)).toMatchObject({ id, state: 'executed', failures: 0 });
  });
});

describe('mlwatch rollback', () => {
  it('requests, approves, rejects, lists and shows through the API, with clear errors and exit codes', async () => {
    const a = await start(served.stateSchema(), rollbackModel('credit') + rollbackModel('churn'));
    const base = { url: url(a) };
    const env = (who: Who) => ({ MLWATCH_TOKEN: TOKENS[who] });
    const req = await requestRollback(
      { ...base, model: 'credit', toVersion: 'v41', reason: 'bad scores', json: true },
      env('alice'),
    );
    expect(req.code).toBe(0);
    const id = JSON.parse(req.out).id as number;
    const first = await decideRollback('approve', String(id), { ...base, comment: 'ok' }, env('erin'));
    expect(first.out.split('\n')).toEqual([
      `rollback request ${id}: credit to v41, pending`,
      '  reason: bad scores',
      expect.stringMatching(/^ {2}requested by alice at \S+; expires \S+$/),
      expect.stringMatching(/^ {2}erin \(engineering\) approved at \S+$/),
      '  waiting for: product approval',
    ]);
    // --token wins over the environment.
    const twice = await decideRollback('approve', String(id), { ...base, token: TOKENS.erin }, env('pat'));
    expect(twice).toEqual({
      code: 2,
      out: `refused (HTTP 409): erin has already approved request ${id}; the other approval must come from someone else`,
    });
    // The approval that completes the request follows the execution it starts and says what became of it,
    // not the `approved` it passed through (issue 17).
    const last = await decideRollback('approve', String(id), base, env('pat'));
    expect(last.code).toBe(0);
    const lines = last.out.split('\n');
    expect(lines[0]).toBe(`rollback request ${id}: credit to v41, executed`);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}pat \(product\) approved at \S+$/));
    expect(lines.at(-1)).toBe(`  both roles approved: executed at ${(await get(a, id)).finished_at}`);
    expect((await get(a, id)).state).toBe('executed');

    const other = JSON.parse(
      (
        await requestRollback(
          { ...base, model: 'churn', toVersion: 'v3', reason: 'r', json: true },
          env('pat'),
        )
      ).out,
    ).id as number;
    expect((await decideRollback('reject', String(other), base, env('alice'))).code).toBe(0);

    const listed = await listRollbacks(base, env('pat'));
    expect(listed.code).toBe(0);
    const [header, ...rows] = listed.out.split('\n');
    expect(header?.split(/\s{2,}/)).toEqual([
      'ID',
      'MODEL',
      'TO VERSION',
      'STATE',
      'REQUESTED BY',
      'CREATED',
      'EXPIRES',
      'APPROVED BY',
      'WAITING FOR',
    ]);
    const [o, c] = [await get(a, other), await get(a, id)];
    expect(rows.map((r) => r.split(/\s{2,}/))).toEqual([
      [String(other), 'churn', 'v3', 'rejected', 'pat', o.created_at, o.expires_at],
      [
        String(id),
        'credit',
        'v41',
        'executed',
        'alice',
        c.created_at,
        c.expires_at,
        'erin (engineering), pat (product)',
      ],
    ]);
    const onlyRejected = JSON.parse(
      (await listRollbacks({ ...base, state: 'rejected', json: true }, env('pat'))).out,
    );
    expect(onlyRejected.map((r: { id: number }) => r.id)).toEqual([other]);
    const shown = await showRollback(String(id), base, env('pat'));
    expect(
      shown.out
        .split('\n\n')[1]
        ?.split('\n')
        .map((l) => l.split(/\s{2,}/).slice(1, 3)),
    ).toEqual([
      ['ACTOR', 'ACTION'],
      ['alice', 'requested'],
      ['erin', 'approve'],
      ['erin', 'refused'],
      ['pat', 'approve'],
      ['mlwatch', 'approved'],
      ['mlwatch', 'executing'],
      ['mlwatch', 'executed'],
    ]);

    expect(await listRollbacks(base, {})).toEqual({
      code: 1,
      out: 'no token: pass --token <your approver token> or set MLWATCH_TOKEN',
    });
    expect(await listRollbacks({ ...base, token: 'nope' }, {})).toEqual({
      code: 2,
      out: 'refused (HTTP 401): this token belongs to no configured client or approver',
    });
    expect(await listRollbacks({ ...base, state: 'open' }, env('pat'))).toEqual({
      code: 1,
      out: "--state: expected one of pending, approved, executing, executed, failed, rejected, expired, not 'open'",
    });
    expect(await decideRollback('approve', 'x1', base, env('pat'))).toEqual({
      code: 1,
      out: "'x1' is not a rollback request id (a number, see mlwatch rollback list)",
    });
    expect(
      await requestRollback({ ...base, model: 'nosuch', toVersion: 'v1', reason: 'r' }, env('pat')),
    ).toEqual({
      code: 2,
      out: "refused (HTTP 400): model: 'nosuch' has no rollback config; add a rollback block (webhook) to the model in the config",
    });
    // A port where nothing listens: taken, then freed.
    const free = createServer();
    await new Promise<void>((res) => free.listen(0, '127.0.0.1', () => res()));
    const gone = `http://127.0.0.1:${(free.address() as AddressInfo).port}`;
    await new Promise((res) => free.close(res));
    expect(await listRollbacks({ url: gone }, env('pat'))).toEqual({
      code: 1,
      out: `cannot reach ${gone}: ECONNREFUSED; is mlwatch serve running there (--url)?`,
    });
  });
});
