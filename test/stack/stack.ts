import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { DemoFeeder } from '../../src/demo/batches.js';
import { demoConfig } from '../../src/demo/builtin-config.js';
import { DemoIncidents } from '../../src/demo/incidents.js';
import { createDemoSchema } from '../../src/demo/schema.js';
import { seedHistory } from '../../src/demo/seed.js';
import { createPgWriter } from '../../src/warehouse/pg.js';
import type { SqlWriter } from '../../src/warehouse/types.js';
import { type Served, startCli } from '../helpers/cli.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { type WebhookSink, webhookSink } from '../helpers/webhook-sink.js';
import { type AlertmanagerRun, startAlertmanager } from './alertmanager.js';
import { type PrometheusRun, scaledRules, startPrometheus } from './prometheus.js';
import { WebhookRecorder } from './recorder.js';

/**
 * The live stack: real PostgreSQL with the demo data in a fresh schema and live batches, the exporter
 * (`mlwatch serve` with the demo's config, every check on a 1 s interval) reaching it through a TCP proxy the
 * test can cut, Debian's Prometheus and Alertmanager with the bundle's rules and routing, and a webhook
 * recorder standing in for every receiver. `for:` durations are divided by 24 and Alertmanager's waits set to
 * 1 s; the promtool tests own the real timing.
 */

export const PG_URL = process.env.MLWATCH_TEST_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/test';
export const FOR_FACTOR = 24;

export interface Stack {
  schema: string;
  writer: SqlWriter;
  proxy: TcpProxy;
  exporter: Served;
  recorder: WebhookRecorder;
  /** credit_default's retrain webhook: the retraining service the exporter dispatches requests to. */
  retrainSink: WebhookSink;
  am: AlertmanagerRun;
  prom: PrometheusRun;
  feeder: DemoFeeder;
  incidents: DemoIncidents;
  /** What Prometheus, Alertmanager and the receivers know of an alert: the message when a wait times out. */
  explain(alertname: string): () => Promise<string>;
  /** Receivers that got the alert (firing or resolved) since `since`, once at least one did. */
  receivers(labels: Record<string, string>, status: 'firing' | 'resolved', since: number): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  for (const bin of ['prometheus', 'prometheus-alertmanager', 'promtool']) {
    if (spawnSync(bin, ['--version']).error)
      throw new Error(`${bin} is not installed: run scripts/install-stack-deps.sh`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'mlwatch-stack-'));
  const schema = `stack_${randomBytes(4).toString('hex')}`;
  const writer = createPgWriter(PG_URL);
  await createDemoSchema(writer, schema);
  const until = new Date();
  await seedHistory(writer, schema, { days: 8, until });
  const feeder: DemoFeeder = new DemoFeeder(writer, schema, 2000, {
    since: until,
    afterBatch: (from, to) => incidents.afterBatch(from, to),
  });
  const incidents = new DemoIncidents(writer, schema, feeder);
  feeder.start();

  const upstream = new URL(PG_URL);
  const proxy = new TcpProxy(upstream.hostname, Number(upstream.port || 5432));
  const viaProxy = new URL(PG_URL);
  viaProxy.port = String(await proxy.start());

  // The retraining service: Alertmanager's `retraining` receiver reaches the exporter (below), which records a
  // request and dispatches it here.
  const retrainSink = await webhookSink();
  const config = demoConfig({
    warehouseUrl: viaProxy.toString(),
    schema,
    retrainWebhook: `${retrainSink.url}/retrain/credit_default`,
  }) as {
    warehouse: Record<string, unknown>;
    defaults: Record<string, unknown>;
    models: Record<string, unknown>[];
    queries: Record<string, unknown>[];
  };
  // The demo's prediction-drift reference (14 days ending 14 days ago) lies before these 8 days of history;
  // 4 days ending 3 days ago lie inside them.
  for (const m of config.models) m.reference = { window: '4d', offset: '3d' };
  Object.assign(config.warehouse, { connect_timeout: '1s', statement_timeout: '5s' });
  config.defaults = { interval: '1s', jitter: 0 };
  // The ticket log in a schema of this stack's own; Alertmanager's ticketing webhook reaches it (below).
  (config as Record<string, unknown>).state = { url: PG_URL, schema: `${schema}_state` };
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
  ]);

  const recorder = new WebhookRecorder();
  await recorder.start();
  recorder.forwardTo('ticketing', `${exporter.url}/api/v1/alerts`);
  recorder.forwardTo('retraining', `${exporter.url}/api/v1/retrain`);
  const am = await startAlertmanager(dir, recorder);
  scaledRules(join(dir, 'rules'), FOR_FACTOR);
  const prom = await startPrometheus(dir, `127.0.0.1:${exporter.port}`, am.target);
  await waitFor(
    async () => (await prom.query('mlwatch_check_success == 1')).length >= 8,
    60_000,
    'checks scraped',
  );

  return {
    schema,
    writer,
    proxy,
    exporter,
    recorder,
    retrainSink,
    am,
    prom,
    feeder,
    incidents,
    explain: (alertname) => () => explainAlert(prom, am, recorder, alertname, exporter),
    receivers: (labels, status, since) =>
      waitFor(
        () => {
          const got = recorder.receiversOf(labels, status, since);
          return got.length > 0 ? got : undefined;
        },
        120_000,
        `${status} ${JSON.stringify(labels)}`,
        labels.alertname
          ? () => explainAlert(prom, am, recorder, labels.alertname as string, exporter)
          : undefined,
      ),
    async stop() {
      await feeder.stop();
      await prom.proc.stop();
      await am.proc.stop();
      await exporter.stop('SIGKILL');
      await recorder.stop();
      await retrainSink.close();
      await proxy.stop();
      await writer.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
      await writer.exec(`DROP SCHEMA IF EXISTS ${schema}_state CASCADE`).catch(() => {});
      await writer.close();
    },
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

/** Waits a little more after the first notification, so late receivers of the same group show up too. */
export function settle(ms = 3000): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
