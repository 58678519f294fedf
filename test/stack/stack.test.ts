import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { demoConfig } from '../../src/demo/builtin-config.js';
import { createDemoSchema } from '../../src/demo/schema.js';
import { seedHistory } from '../../src/demo/seed.js';
import { createPgWriter } from '../../src/warehouse/pg.js';
import type { SqlWriter } from '../../src/warehouse/types.js';
import { allPanelQueries } from '../../tools/dashboard-lint.js';
import { type Served, startCli } from '../helpers/cli.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { type AlertmanagerRun, startAlertmanager } from './alertmanager.js';
import { type PrometheusRun, scaledRules, startPrometheus } from './prometheus.js';
import { WebhookRecorder } from './recorder.js';

/**
 * The live stack: real PostgreSQL with the demo data in a fresh schema, the exporter (`mlwatch serve`) reaching
 * it through a TCP proxy the test can cut, Debian's Prometheus and Alertmanager with the bundle's rules and
 * routing, and a webhook recorder standing in for every receiver. `for:` durations are divided by 24 and
 * Alertmanager's waits set to 1 s; the promtool tests own the real timing.
 */

const PG_URL = process.env.MLWATCH_TEST_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/test';
const FOR_FACTOR = 24;
const timings: Record<string, number> = {};

for (const bin of ['prometheus', 'prometheus-alertmanager', 'promtool']) {
  if (spawnSync(bin, ['--version']).error)
    throw new Error(`${bin} is not installed: run scripts/install-stack-deps.sh`);
}

const dir = mkdtempSync(join(tmpdir(), 'mlwatch-stack-'));
const schema = `stack_${randomBytes(4).toString('hex')}`;
let writer: SqlWriter;
let proxy: TcpProxy;
let exporter: Served;
let recorder: WebhookRecorder;
let am: AlertmanagerRun;
let prom: PrometheusRun;

beforeAll(async () => {
  writer = createPgWriter(PG_URL);
  await createDemoSchema(writer, schema);
  await seedHistory(writer, schema, { days: 8 });

  const upstream = new URL(PG_URL);
  proxy = new TcpProxy(upstream.hostname, Number(upstream.port || 5432));
  const viaProxy = new URL(PG_URL);
  viaProxy.port = String(await proxy.start());

  // The demo's own config, every check on a 1 s interval, reaching the warehouse through the proxy.
  const config = demoConfig({ warehouseUrl: viaProxy.toString(), schema }) as {
    warehouse: Record<string, unknown>;
    defaults: Record<string, unknown>;
    queries: Record<string, unknown>[];
  };
  Object.assign(config.warehouse, { connect_timeout: '1s', statement_timeout: '5s' });
  config.defaults = { interval: '1s', jitter: 0 };
  for (const q of config.queries) {
    delete q.interval;
    delete q.cron;
  }
  writeFileSync(join(dir, 'mlwatch.yaml'), stringify(config));
  exporter = await startCli([
    'serve',
    '--config',
    join(dir, 'mlwatch.yaml'),
    '--port',
    '0',
    '--host',
    '127.0.0.1',
  ]);

  recorder = new WebhookRecorder();
  await recorder.start();
  am = await startAlertmanager(dir, recorder);
  scaledRules(join(dir, 'rules'), FOR_FACTOR);
  prom = await startPrometheus(dir, `127.0.0.1:${exporter.port}`, am.target);
  await waitFor(
    async () => (await prom.query('mlwatch_check_success == 1')).length >= 6,
    60_000,
    'checks scraped',
  );
});

afterAll(async () => {
  console.log('stack timings (ms from fault to first webhook):', JSON.stringify(timings));
  await prom?.proc.stop();
  await am?.proc.stop();
  await exporter?.stop('SIGKILL');
  await recorder?.stop();
  await proxy?.stop();
  await writer?.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await writer?.close();
});

const receivers = (labels: Record<string, string>, status: 'firing' | 'resolved', since: number) =>
  waitFor(
    () => {
      const got = recorder.receiversOf(labels, status, since);
      return got.length > 0 ? got : undefined;
    },
    90_000,
    `${status} ${JSON.stringify(labels)}`,
  );

describe('the live stack', () => {
  it('every dashboard panel query returns data from the live Prometheus', async () => {
    // Rates need two scrapes in their window.
    await new Promise((r) => setTimeout(r, 3000));
    const empty: string[] = [];
    for (const q of allPanelQueries()) {
      const result = await prom.query(q.expr);
      if (result.length === 0) empty.push(`${q.dashboard} / ${q.panel}: ${q.expr}`);
    }
    expect(empty).toEqual([]);
  });

  it("the exporter's exposition passes promtool check metrics", async () => {
    const text = await (await fetch(`${exporter.url}/metrics`)).text();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('a check whose table disappears: MlwatchCheckFailing reaches ticketing only, then resolves', async () => {
    const since = Date.now();
    await writer.exec(`ALTER TABLE ${schema}.decisions RENAME TO decisions_moved`);
    const labels = { alertname: 'MlwatchCheckFailing', check: 'query:approval_ratio' };
    await receivers(labels, 'firing', since);
    timings.check_failing = (recorder.firstArrival(labels, 'firing', since) as number) - since;
    await new Promise((r) => setTimeout(r, 3000));
    expect(recorder.receiversOf(labels, 'firing', since)).toEqual(['ticketing']);
    const alert = recorder.received.find((n) =>
      n.alerts.some((a) => a.labels.alertname === 'MlwatchCheckFailing'),
    )?.alerts[0];
    expect(alert?.labels).toMatchObject({
      severity: 'warning',
      layer: 'system',
      team: 'platform',
      depends_on: 'warehouse',
    });
    expect(alert?.annotations.runbook_url).toMatch(/docs\/runbooks\/MlwatchCheckFailing\.md$/);

    const fixed = Date.now();
    await writer.exec(`ALTER TABLE ${schema}.decisions_moved RENAME TO decisions`);
    expect(await receivers(labels, 'resolved', fixed)).toEqual(['ticketing']);
    timings.check_failing_resolved = (recorder.firstArrival(labels, 'resolved', fixed) as number) - fixed;
  });

  it('the warehouse going away pages platform on-call and silences the check alerts that depend on it', async () => {
    const since = Date.now();
    await proxy.cut();
    const labels = { alertname: 'MlwatchWarehouseUnreachable' };
    await waitFor(
      () => recorder.receiversOf(labels, 'firing', since).length === 2,
      90_000,
      'page and ticket',
    );
    timings.warehouse_unreachable = (recorder.firstArrival(labels, 'firing', since) as number) - since;
    expect(recorder.receiversOf(labels, 'firing', since)).toEqual(['platform-oncall', 'ticketing']);

    // Every check now fails; once their alerts fire in Prometheus, Alertmanager must hold them back.
    const suppressed = await waitFor(
      async () => {
        const failing = (await am.alerts()).filter((a) => a.labels.alertname === 'MlwatchCheckFailing');
        return failing.length >= 6 && failing.every((a) => a.status.state === 'suppressed')
          ? failing
          : undefined;
      },
      90_000,
      'check alerts suppressed',
    );
    expect(suppressed.every((a) => a.status.inhibitedBy.length > 0)).toBe(true);
    expect(recorder.receiversOf({ alertname: 'MlwatchCheckFailing' }, 'firing', since)).toEqual([]);

    const back = Date.now();
    await proxy.restore();
    expect(await receivers(labels, 'resolved', back)).toEqual(['platform-oncall', 'ticketing']);
    timings.warehouse_unreachable_resolved =
      (recorder.firstArrival(labels, 'resolved', back) as number) - back;
  });

  it('the exporter going away pages platform on-call', async () => {
    const since = Date.now();
    await exporter.stop('SIGKILL');
    const labels = { alertname: 'MlwatchExporterDown' };
    await waitFor(() => recorder.receiversOf(labels, 'firing', since).length === 2, 90_000, 'exporter down');
    timings.exporter_down = (recorder.firstArrival(labels, 'firing', since) as number) - since;
    expect(recorder.receiversOf(labels, 'firing', since)).toEqual(['platform-oncall', 'ticketing']);
  });
});
