import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetrainService } from '../src/actions/retrain/retrain-service.js';
import { openStateDb, pgliteStateDb, type StateDb } from '../src/actions/store/db.js';
import { migrate } from '../src/actions/store/migrations.js';
import { postJson } from '../src/actions/store/outbox.js';
import { ConfigError } from '../src/config/errors.js';
import { loadConfigText } from '../src/config/load.js';
import { landingPage } from '../src/http/landing/page.js';
import { Exporter } from '../src/runtime/exporter.js';
import { quoteIdent } from '../src/sql/identifiers.js';
import { openTestDb, type TestDb } from './helpers/db.js';
import { memoryLogger } from './helpers/exporter.js';
import { waitFor } from './helpers/wait.js';
import { type WebhookSink, webhookSink } from './helpers/webhook-sink.js';

// Issue 11: `https://user:pw@host/...` as a webhook. Node's fetch refuses it and quotes it, password included, in
// its error; the config loader turns it into the bare URL plus `authorization: Basic ...`.

const PASSWORD = 'r3train@s3cret'; // written p%40 in the URL; the header carries what the user meant
const USERINFO = `mlops:${PASSWORD.replace('@', '%40')}`;
const BASIC = `Basic ${Buffer.from(`mlops:${PASSWORD}`).toString('base64')}`;
const base64Of = (header: string) => header.replace('Basic ', '');

const model = (block: string, name = 'credit_default') =>
  [
    `  - name: ${name}`,
    '    task: binary_classification',
    '    owner: data-science',
    '    predictions: { table: public.predictions, key: id, timestamp: ts, score: score }',
    '    labels: { table: public.outcomes, key: id, timestamp: ts, label: y }',
    `    ${block}`,
  ].join('\n');

const load = (rest: string) =>
  loadConfigText(`warehouse: { url: 'postgresql://x/db' }\n${rest}\n`, 'c.yaml', {}, '/');

describe('a webhook URL with a user and password', () => {
  it.each([
    [
      'state.ticket_forward.url',
      `state:\n  ticket_forward: { url: 'https://${USERINFO}@tracker/api/issues', headers: { x-team: ml } }`,
      (c: ReturnType<typeof load>) => c.raw.state.ticket_forward,
      'url',
    ],
    [
      'retrain.webhook',
      `models:\n${model(`retrain: { webhook: 'https://${USERINFO}@tracker/api/issues', headers: { x-team: ml } }`)}`,
      (c: ReturnType<typeof load>) => c.raw.models[0]?.retrain,
      'webhook',
    ],
    [
      'rollback.webhook',
      `models:\n${model(`rollback: { webhook: 'https://${USERINFO}@tracker/api/issues', headers: { x-team: ml } }`)}`,
      (c: ReturnType<typeof load>) => c.raw.models[0]?.rollback,
      'webhook',
    ],
    [
      'report.webhook',
      `report: { prometheus_url: 'http://prometheus:9090', webhook: 'https://${USERINFO}@tracker/api/issues', headers: { x-team: ml } }`,
      (c: ReturnType<typeof load>) => c.raw.report,
      'webhook',
    ],
  ])('%s becomes the bare URL plus authorization: Basic, next to the other headers', (_, yaml, pick, key) => {
    const section = pick(load(yaml)) as Record<string, unknown>;
    expect(section[key]).toBe('https://tracker/api/issues');
    expect(section.headers).toEqual({ 'x-team': 'ml', authorization: BASIC });
  });

  it('a user alone (a token as user name) is sent as Basic user:', () => {
    const c = load(`state:\n  ticket_forward: { url: 'https://t0ken-as-user@tracker/api' }`);
    expect(c.raw.state.ticket_forward?.url).toBe('https://tracker/api');
    expect(c.raw.state.ticket_forward?.headers).toEqual({
      authorization: `Basic ${Buffer.from('t0ken-as-user:').toString('base64')}`,
    });
  });

  it('a URL without credentials is kept exactly as written', () => {
    const c = load(`state:\n  ticket_forward: { url: 'https://tracker/api/issues' }`);
    expect(c.raw.state.ticket_forward?.url).toBe('https://tracker/api/issues');
    expect(c.raw.state.ticket_forward?.headers).toBeUndefined();
  });
});

/** A receiver that refuses with 401 and, as some do, echoes the credentials it got in the error body. */
async function echoingReceiver(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = 401;
      res.end(`invalid credentials: ${req.headers.authorization ?? 'none'}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('delivery', () => {
  let db: TestDb;
  let state: StateDb;
  let sink: WebhookSink;
  const schema = `creds_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    db = await openTestDb();
    state = db.pglite
      ? pgliteStateDb(db.pglite, false)
      : openStateDb({ url: db.url as string, applicationName: 'creds-test', connectTimeoutMs: 5000 });
    await migrate(state, quoteIdent(schema));
    sink = await webhookSink();
  });
  afterAll(async () => {
    await sink?.close();
    if (db?.kind === 'pg') {
      await db.writer.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await state?.close();
    }
    await db?.close();
  });

  it("why: Node's fetch refuses a URL with credentials and quotes it (postJson hides the password)", async () => {
    const error = await postJson({
      url: `${sink.url.replace('//', `//${USERINFO}@`)}/x`,
      headers: {},
      body: {},
      timeoutMs: 5000,
    });
    expect(error).toBe(
      `Request cannot be constructed from a URL that includes credentials: ${sink.url.replace('//', '//mlops:<redacted>@')}/x`,
    );
    expect(sink.calls).toHaveLength(0);
  });

  it('the retraining service gets the Basic header; no log line holds the credentials', async () => {
    const logs = memoryLogger();
    const config = load(
      `models:\n${model(`retrain: { webhook: '${sink.url.replace('//', `//${USERINFO}@`)}/retrain' }`)}`,
    );
    const service = new RetrainService({ db: state, schema, log: logs.log, isReady: () => true });
    service.configure(config.raw.models);
    await service.cadenceTick('credit_default');
    await waitFor(async () => (await service.log.list())[0]?.state === 'dispatched', 10_000, 'dispatched');
    await service.stop();
    expect(sink.calls.map((c) => [c.path, c.headers.authorization])).toEqual([['/retrain', BASIC]]);
    const logged = JSON.stringify(logs.lines());
    expect(logged).toContain('retrain request dispatched');
    for (const secret of [PASSWORD, USERINFO, base64Of(BASIC)]) expect(logged).not.toContain(secret);
  });

  it('a receiver echoing the header leaves no credential in last_error or the log', async () => {
    const receiver = await echoingReceiver();
    try {
      const logs = memoryLogger();
      // Another model: the first test's request would hold this one in its cooldown.
      const config = load(
        `models:\n${model(`retrain: { webhook: '${receiver.url.replace('//', `//${USERINFO}@`)}/retrain' }`, 'fraud_score')}`,
      );
      const service = new RetrainService({ db: state, schema, log: logs.log, isReady: () => true });
      service.configure(config.raw.models);
      await service.cadenceTick('fraud_score');
      await waitFor(
        async () => (await service.log.list({ model: 'fraud_score' }))[0]?.lastError != null,
        10_000,
        'the refused attempt',
      );
      await service.stop();
      const [request] = await service.log.list({ model: 'fraud_score' });
      expect(request?.lastError).toBe('HTTP 401: invalid credentials: <redacted>');
      const logged = JSON.stringify(logs.lines());
      expect(logged).toContain('HTTP 401: invalid credentials: <redacted>');
      for (const secret of [PASSWORD, USERINFO, base64Of(BASIC)]) expect(logged).not.toContain(secret);
    } finally {
      await receiver.close();
    }
  });

  it('a refused reload quotes the URL without its password, on the landing page and in the log', async () => {
    const logs = memoryLogger();
    const good = load('');
    const exporter = Exporter.start(good, {
      log: logs.log,
      openWarehouse: () => db.newWarehouse(),
      withProcessMetrics: false,
    });
    try {
      let reason = '';
      try {
        load(`state:\n  ticket_forward: { url: 'https://bot:tr4ck3r-pw@tracker:99999/api' }`);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        reason = (err as Error).message;
      }
      // What serve does with a config that cannot be loaded on SIGHUP or /-/reload.
      exporter.refused(reason);
      const page = landingPage(exporter);
      expect(page).toContain(
        'refused: c.yaml:3 state.ticket_forward.url: &#39;https://&lt;redacted&gt;@tracker:99999/api&#39;',
      );
      expect(page).not.toContain('tr4ck3r-pw');
      expect(JSON.stringify(logs.lines())).toContain('config reload refused');
      expect(JSON.stringify(logs.lines())).not.toContain('tr4ck3r-pw');
    } finally {
      await exporter.stop(1000);
    }
  });
});
