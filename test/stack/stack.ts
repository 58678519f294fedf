import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { stringify } from 'yaml';
import { DemoFeeder } from '../../src/demo/batches.js';
import { demoConfig } from '../../src/demo/builtin-config.js';
import { DemoIncidents } from '../../src/demo/incidents.js';
import { createDemoSchema } from '../../src/demo/schema.js';
import { seedHistory } from '../../src/demo/seed.js';
import { createPgWriter } from '../../src/warehouse/pg.js';
import type { SqlWriter } from '../../src/warehouse/types.js';
import { requireAlertmanager } from '../helpers/alertmanager.js';
import { type Served, startCli } from '../helpers/cli.js';
import { withIncrementalModel } from '../helpers/incremental-demo.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { type HttpsAnswer, httpsRequest, makePki } from '../helpers/tls.js';
import { waitFor } from '../helpers/wait.js';
import { type WebhookSink, webhookSink } from '../helpers/webhook-sink.js';
import { type AlertmanagerRun, startAlertmanager } from './alertmanager.js';
import { type PrometheusRun, scaledRules, startPrometheus } from './prometheus.js';
import { WebhookRecorder } from './recorder.js';

/**
 * The live stack: real PostgreSQL with the demo data in a fresh schema and live batches, the exporter
 * (`mlwatch serve` with the demo's config, every check on a 1 s interval) reaching it through a TCP proxy the
 * test can cut, Debian's Prometheus and trixie's Alertmanager 0.28 with the bundle's rules and routing, and a
 * webhook recorder standing in for every receiver (each receiver's URL in its url_file). `for:` durations are shortened (scaledFor: a 24th up to 15 minutes, a 240th beyond) and Alertmanager's waits set to
 * 1 s; the promtool tests own the real timing.
 *
 * Secured as docs/security.md asks of a deployment: the exporter serves https with a certificate from the
 * stack's own CA (made with openssl) and a web config whose only basic-auth user is Prometheus; its access
 * section has an `alertmanager` client (webhook role) and a `stack-test` client (viewer role) with random
 * tokens. Prometheus scrapes with the CA and a password file, Alertmanager posts with a credentials file, and
 * the tests read the exporter through `get` as the viewer. Nothing reaches the exporter without a credential.
 */

export const PG_URL = process.env.MLWATCH_TEST_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/test';
/**
 * state.handoff.after in the stack: a model page nobody acknowledges goes to data science this many seconds
 * after its ticket opened (15 minutes in production; long enough here to see that nothing reaches data science
 * before it).
 */
export const HANDOFF_AFTER_S = 20;

export interface Stack {
  schema: string;
  writer: SqlWriter;
  proxy: TcpProxy;
  exporter: Served;
  /** The stack CA's certificate (PEM): the exporter's certificate is signed by it and nothing else. */
  ca: string;
  /** The basic-auth user Prometheus scrapes as, and the file holding its password. */
  scrape: { username: string; passwordFile: string };
  /** The token of the stack's viewer client (`stack-test`): reads tickets, may not post webhooks. */
  viewerToken: string;
  /** GET on the exporter over https, as the stack's viewer client (Authorization: Bearer). */
  get(path: string): Promise<HttpsAnswer>;
  /** Any request to the exporter over https with exactly these headers: no credential is added. */
  request(path: string, o?: RequestOptions): Promise<HttpsAnswer>;
  recorder: WebhookRecorder;
  /** credit_default's retrain webhook: the retraining service the exporter dispatches requests to. */
  retrainSink: WebhookSink;
  am: AlertmanagerRun;
  prom: PrometheusRun;
  feeder: DemoFeeder;
  incidents: DemoIncidents;
  /** What Prometheus, Alertmanager and the receivers know of an alert: the message when a wait times out. */
  explain(alertname: string): () => Promise<string>;
  /**
   * Receivers that got the alert (firing or resolved) since `since`, once at least `count` (default 1) did: the
   * receivers of one alert are notified in their own groups, not at one instant.
   */
  receivers(
    labels: Record<string, string>,
    status: 'firing' | 'resolved',
    since: number,
    count?: number,
  ): Promise<string[]>;
  /**
   * The receivers that got the firing alert since `since`, once every receiver Alertmanager routes it to has: the
   * list is final then (no receiver outside Alertmanager's routing can get it), so 'exactly these' needs no sleep.
   */
  delivered(labels: Record<string, string>, since: number, waitMs?: number): Promise<string[]>;
  stop(): Promise<void>;
}

type RequestOptions = { method?: string; headers?: Record<string, string>; body?: string };

type Undo = () => Promise<unknown> | unknown;

export async function startStack(): Promise<Stack> {
  for (const bin of ['prometheus', 'promtool']) {
    if (spawnSync(bin, ['--version']).error)
      throw new Error(`${bin} is not installed: run scripts/install-stack-deps.sh`);
  }
  // Alertmanager 0.28 from .cache/prometheus-current (alertmanager.yml's url_file is newer than Debian 12's 0.25).
  requireAlertmanager();
  // What has started, undone in reverse order by stop(), or at once when a later step fails (a refused scrape,
  // a certificate Prometheus rejects): a failed start must not leave the exporter, Alertmanager and Prometheus
  // running, nor the schemas, keys and tokens behind.
  const undo: Undo[] = [];
  const unwind = async () => {
    for (const step of undo.splice(0).reverse()) {
      try {
        await step();
      } catch {}
    }
  };
  try {
    return await build(undo, unwind);
  } catch (err) {
    await unwind();
    throw err;
  }
}

async function build(undo: Undo[], unwind: () => Promise<void>): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'mlwatch-stack-'));
  const schema = `stack_${randomBytes(4).toString('hex')}`;
  const writer = createPgWriter(PG_URL);
  undo.push(async () => {
    await writer.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await writer.exec(`DROP SCHEMA IF EXISTS ${schema}_state CASCADE`).catch(() => {});
    await writer.close();
  });
  await createDemoSchema(writer, schema);
  const until = new Date();
  await seedHistory(writer, schema, { days: 8, until });
  const feeder: DemoFeeder = new DemoFeeder(writer, schema, 2000, {
    since: until,
    afterBatch: (from, to) => incidents.afterBatch(from, to),
  });
  const incidents = new DemoIncidents(writer, schema, feeder);
  feeder.start();
  undo.push(() => feeder.stop());

  const upstream = new URL(PG_URL);
  const proxy = new TcpProxy(upstream.hostname, Number(upstream.port || 5432));
  const viaProxy = new URL(PG_URL);
  undo.push(() => proxy.stop());
  viaProxy.port = String(await proxy.start());

  // TLS and credentials, all fresh for this stack: a CA and a certificate for 127.0.0.1 made with openssl (an IP
  // SAN: Go, hence Prometheus, checks names in subjectAltName only). Tokens are hex (32 random bytes), as
  // `openssl rand -hex 32` makes them; the config holds only their SHA-256, the web config only the password's
  // bcrypt hash.
  const pki = makePki();
  // The rest of `dir` stays for a post-mortem, as before; keys, tokens and passwords do not.
  undo.push(() => rmSync(pki.dir, { recursive: true, force: true }));
  undo.push(() => rmSync(join(dir, 'secrets'), { recursive: true, force: true }));
  const server = pki.issue('server', { ip: ['127.0.0.1'] });
  const webhookToken = randomBytes(32).toString('hex');
  const viewerToken = randomBytes(32).toString('hex');
  const scrape = { username: 'prometheus', passwordFile: join(dir, 'secrets', 'prometheus-password') };
  const scrapePassword = randomBytes(24).toString('hex');
  mkdirSync(join(dir, 'secrets'), { recursive: true });
  writeFileSync(scrape.passwordFile, scrapePassword, { mode: 0o600 });
  const webConfig = join(dir, 'web.yml');
  writeFileSync(
    webConfig,
    stringify({
      tls_server_config: { cert_file: server.certFile, key_file: server.keyFile },
      // Cost 10, as htpasswd -nBC 10 makes it; the exporter verifies the pair once and then caches it.
      basic_auth_users: { [scrape.username]: bcrypt.hashSync(scrapePassword, 10) },
    }),
  );

  // The retraining service: Alertmanager's `retraining` receiver reaches the exporter (below), which records a
  // request and dispatches it here.
  const retrainSink = await webhookSink();
  undo.push(() => retrainSink.close());
  // risk_tier incremental: rows for the exporter dashboard's incremental checks table (helpers/incremental-demo.ts).
  const config = withIncrementalModel(
    demoConfig({
      warehouseUrl: viaProxy.toString(),
      schema,
      retrainWebhook: `${retrainSink.url}/retrain/credit_default`,
    }) as {
      warehouse: Record<string, unknown>;
      defaults: Record<string, unknown>;
      models: Record<string, unknown>[];
      queries: Record<string, unknown>[];
    },
  );
  // The demo's prediction-drift reference (14 days ending 14 days ago) lies before these 8 days of history;
  // 4 days ending 3 days ago lie inside them. Only where the demo has one: a multiclass model refuses it.
  for (const m of config.models) if (m.reference !== undefined) m.reference = { window: '4d', offset: '3d' };
  Object.assign(config.warehouse, { connect_timeout: '1s', statement_timeout: '5s' });
  config.defaults = { interval: '1s', jitter: 0 };
  // The ticket log in a schema of this stack's own; Alertmanager's ticketing webhook reaches it (below). The
  // demo's hand-off time becomes the stack's.
  (config as Record<string, unknown>).state = {
    url: PG_URL,
    schema: `${schema}_state`,
    handoff: { after: `${HANDOFF_AFTER_S}s` },
  };
  // Instead of the demo's published operator token: Alertmanager may only post webhooks, the tests may only
  // read. Prometheus needs no entry: with basic_auth_users set, any of those users may read /metrics.
  const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');
  (config as Record<string, unknown>).access = {
    clients: [
      { name: 'alertmanager', roles: ['webhook'], token_sha256: sha256(webhookToken) },
      { name: 'stack-test', roles: ['viewer'], token_sha256: sha256(viewerToken) },
    ],
  };
  for (const q of config.queries) {
    delete q.interval;
    delete q.cron;
  }
  writeFileSync(join(dir, 'mlwatch.yaml'), stringify(config));
  const exporter = await startCli([
    'serve',
    '--config',
    join(dir, 'mlwatch.yaml'),
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--web.config.file',
    webConfig,
  ]);
  undo.push(() => exporter.stop('SIGKILL'));
  if (!exporter.url.startsWith('https:')) {
    throw new Error(`the exporter listens on ${exporter.url}, not https:\n${exporter.logs()}`);
  }
  const request = (path: string, o: RequestOptions = {}) =>
    httpsRequest(`${exporter.url}${path}`, { ...o, ca: pki.ca });
  const get = (path: string) => request(path, { headers: { authorization: `Bearer ${viewerToken}` } });

  const recorder = new WebhookRecorder();
  await recorder.start();
  undo.push(() => recorder.stop());
  recorder.forwardTo('ticketing', `${exporter.url}/api/v1/alerts`, pki.ca);
  recorder.forwardTo('retraining', `${exporter.url}/api/v1/retrain`, pki.ca);
  const am = await startAlertmanager(dir, recorder, webhookToken);
  undo.push(() => am.proc.stop());
  scaledRules(join(dir, 'rules'));
  const prom = await startPrometheus(
    dir,
    { target: `127.0.0.1:${exporter.port}`, caFile: pki.caFile, ...scrape },
    am.target,
  );
  undo.push(() => prom.proc.stop());
  await waitFor(
    async () => (await prom.query('mlwatch_check_success == 1')).length >= 8,
    60_000,
    'checks scraped',
    // A refused scrape (certificate, password) shows up as the target's lastError, not as a missing series.
    async () =>
      `mlwatch target: ${JSON.stringify(
        (
          (await (await fetch(`${prom.url}/api/v1/targets`)).json()) as {
            data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] };
          }
        ).data.activeTargets
          .filter((t) => t.labels.job === 'mlwatch')
          .map((t) => ({ health: t.health, lastError: t.lastError })),
      )}`,
  );

  return {
    schema,
    writer,
    proxy,
    exporter,
    ca: pki.ca,
    scrape,
    viewerToken,
    get,
    request,
    recorder,
    retrainSink,
    am,
    prom,
    feeder,
    incidents,
    explain: (alertname) => () => explainAlert(prom, am, recorder, alertname, exporter),
    receivers: (labels, status, since, count = 1) =>
      waitFor(
        () => {
          const got = recorder.receiversOf(labels, status, since);
          return got.length >= count ? got : undefined;
        },
        120_000,
        `${status} ${JSON.stringify(labels)}`,
        labels.alertname
          ? () => explainAlert(prom, am, recorder, labels.alertname as string, exporter)
          : undefined,
      ),
    delivered: (labels, since, waitMs = 120_000) =>
      waitFor(
        async () => {
          const routed = await routedTo(am, labels);
          const got = recorder.receiversOf(labels, 'firing', since);
          return routed.length > 0 && routed.every((r) => got.includes(r)) ? got : undefined;
        },
        waitMs,
        `firing ${JSON.stringify(labels)} at every receiver Alertmanager routes it to`,
        labels.alertname
          ? () => explainAlert(prom, am, recorder, labels.alertname as string, exporter)
          : undefined,
      ),
    stop: unwind,
  };
}

async function explainAlert(
  prom: PrometheusRun,
  am: AlertmanagerRun,
  recorder: WebhookRecorder,
  alertname: string,
  exporter: Served,
): Promise<string> {
  const { exitCode, signalCode } = exporter.child;
  const lines: string[] = [];
  if (exitCode !== null || signalCode !== null) {
    lines.push(
      `exporter exited (${exitCode ?? signalCode}); its last output:\n${exporter.logs().slice(-3000)}`,
    );
  }
  const safely = async (what: string, f: () => Promise<unknown>) => {
    try {
      lines.push(`${what}: ${JSON.stringify(await f())}`);
    } catch (err) {
      lines.push(`${what}: ${String(err)}`);
    }
  };
  await safely('prometheus ALERTS', () => prom.query(`ALERTS{alertname="${alertname}"}`));
  await safely('prometheus up', () => prom.query('up'));
  await safely('prometheus mlwatch_warehouse_up', () => prom.query('mlwatch_warehouse_up'));
  await safely('prometheus alertmanagers', async () =>
    (await fetch(`${prom.url}/api/v1/alertmanagers`)).json(),
  );
  await safely('alertmanager', async () =>
    (await am.alerts())
      .filter((a) => a.labels.alertname === alertname)
      .map((a) => ({ labels: a.labels, status: a.status })),
  );
  const got = recorder.received
    .filter((n) => n.alerts.some((a) => a.labels.alertname === alertname))
    .map((n) => ({ receiver: n.receiver, at: new Date(n.at).toISOString(), status: n.status }));
  lines.push(`receivers: ${JSON.stringify(got)}`, `now: ${new Date().toISOString()}`);
  return lines.join('\n');
}

/** The receivers Alertmanager routes the active (not inhibited or silenced) alerts matching `labels` to. */
async function routedTo(am: AlertmanagerRun, labels: Record<string, string>): Promise<string[]> {
  const matching = (await am.alerts()).filter(
    (a) => a.status.state === 'active' && Object.entries(labels).every(([k, v]) => a.labels[k] === v),
  );
  return [...new Set(matching.flatMap((a) => a.receivers.map((r) => r.name)))].sort();
}

/** Waits a little more after the first notification, so late receivers of the same group show up too. */
export function settle(ms = 3000): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
