import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createPgWriter } from '../../src/warehouse/pg.js';
import type { SqlWriter } from '../../src/warehouse/types.js';
import { requireAlertmanager } from '../helpers/alertmanager.js';
import { type Served, startCli } from '../helpers/cli.js';
import { type Parsed, parseExposition, sampleValue } from '../helpers/exposition.js';
import { waitFor } from '../helpers/wait.js';
import { type AlertmanagerRun, startAlertmanager } from './alertmanager.js';
import { freePort } from './process.js';
import { type PrometheusRun, scaledRules, startPrometheus } from './prometheus.js';
import { type Notification, WebhookRecorder } from './recorder.js';
import { PG_URL } from './stack.js';

// Two replicas of the exporter on one config and one state store (docs/kubernetes.md, "Two replicas"), scraped by
// Prometheus, which alerts two Alertmanagers gossiping as a high-availability pair. What the replicas promise:
// the warehouse sees each check once per interval, either replica serves every check, an incident pages once,
// and a killed replica's checks are run by the other within two intervals while its ExporterDown silences none
// of the other's alerts. A small config of its own (two checks every second), not the demo's: this file runs
// in about a minute.

const CHECKS = ['dataset:events:scan', 'query:probe'];
// How long the second Alertmanager of the pair waits for the first one's notification before sending its own.
const PEER_TIMEOUT_S = 3;

let dir: string;
let schema: string;
let writer: SqlWriter;
let exporters: Served[] = [];
let recorder: WebhookRecorder;
let ams: AlertmanagerRun[] = [];
let prom: PrometheusRun;
const timings: Record<string, number> = {};

const target = (e: Served) => `127.0.0.1:${e.port}`;
const scrape = async (e: Served): Promise<Parsed> =>
  parseExposition(await (await fetch(`${e.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text());
const runner = (p: Parsed, check: string) => sampleValue(p, 'mlwatch_check_runner', { check });
const runs = (p: Parsed, check: string) => sampleValue(p, 'mlwatch_check_runs_total', { check });

/**
 * The pair's waits: the bundle's routing with a group wait of 5 s (the copies of an alert from both replicas
 * fire within a scrape and an evaluation of each other, as they do within the production 30 s) and a group
 * interval of 1 m, so a page sent is not followed by an update within this test.
 */
function pageWaits(file: string): void {
  type Route = { group_wait?: string; group_interval?: string; routes?: Route[] };
  const config = parse(readFileSync(file, 'utf8')) as { route: Route };
  const walk = (r: Route) => {
    r.group_wait = '5s';
    r.group_interval = '1m';
    for (const child of r.routes ?? []) walk(child);
  };
  walk(config.route);
  writeFileSync(file, stringify(config));
}

const notifications = (receiver: string, alertname: string, since: number): Notification[] =>
  recorder.received.filter(
    (n) =>
      n.receiver === receiver &&
      n.at >= since &&
      n.status === 'firing' &&
      n.alerts.some((a) => a.labels.alertname === alertname && a.status === 'firing'),
  );

beforeAll(async () => {
  for (const bin of ['prometheus', 'promtool']) {
    if (spawnSync(bin, ['--version']).error)
      throw new Error(`${bin} is not installed: run scripts/install-stack-deps.sh`);
  }
  // Alertmanager 0.28 from .cache/prometheus-current (alertmanager.yml's url_file is newer than Debian 12's 0.25).
  requireAlertmanager();
  dir = mkdtempSync(join(tmpdir(), 'mlwatch-replicas-'));
  schema = `replicas_${randomBytes(4).toString('hex')}`;
  writer = createPgWriter(PG_URL);
  await writer.exec(`CREATE SCHEMA ${schema};
    CREATE TABLE ${schema}.events (at timestamptz); INSERT INTO ${schema}.events VALUES (now());
    CREATE TABLE ${schema}.probe (x int); INSERT INTO ${schema}.probe VALUES (1);`);
  const token = randomBytes(32).toString('hex');
  const config = {
    warehouse: { url: PG_URL, connect_timeout: '1s', statement_timeout: '5s' },
    state: { url: PG_URL, schema: `${schema}_state` },
    defaults: { interval: '1s' },
    datasets: [{ name: 'events', table: `${schema}.events`, timestamp: 'at', checks: { freshness: {} } }],
    queries: [
      {
        name: 'probe',
        sql: `SELECT count(*) AS n FROM ${schema}.probe`,
        metrics: [{ name: 'replicas_probe_rows', help: 'Rows of the probe table.', value: 'n' }],
      },
    ],
    access: {
      clients: [
        {
          name: 'alertmanager',
          roles: ['webhook'],
          token_sha256: createHash('sha256').update(token).digest('hex'),
        },
      ],
    },
  };
  writeFileSync(join(dir, 'mlwatch.yaml'), stringify(config));
  const serve = () =>
    startCli(['serve', '--config', join(dir, 'mlwatch.yaml'), '--port', '0', '--host', '127.0.0.1']);
  exporters = [await serve(), await serve()];

  recorder = new WebhookRecorder();
  await recorder.start();
  const gossip = [await freePort(), await freePort()];
  ams = await Promise.all(
    gossip.map((port, i) => {
      const amDir = join(dir, `am${i + 1}`);
      mkdirSync(amDir, { recursive: true });
      return startAlertmanager(amDir, recorder, token, {
        name: `alertmanager-${i + 1}`,
        waits: pageWaits,
        cluster: {
          listen: `127.0.0.1:${port}`,
          peers: gossip.filter((p) => p !== port).map((p) => `127.0.0.1:${p}`),
          peerTimeout: `${PEER_TIMEOUT_S}s`,
        },
      });
    }),
  );
  scaledRules(join(dir, 'rules'));
  prom = await startPrometheus(
    dir,
    { targets: exporters.map(target) },
    ams.map((a) => a.target),
  );
  await waitFor(
    async () => (await prom.query('mlwatch_check_success == 1')).length === 2 * CHECKS.length,
    60_000,
    'both replicas scraped',
  );
  // The pair has found each other: each lists the other as a peer.
  await waitFor(
    async () => {
      const peers = await Promise.all(
        ams.map(async (a) => {
          const status = (await (await fetch(`${a.url}/api/v2/status`)).json()) as {
            cluster: { peers: unknown[]; status: string };
          };
          return status.cluster.status === 'ready' && status.cluster.peers.length === 2;
        }),
      );
      return peers.every(Boolean);
    },
    60_000,
    'the Alertmanager cluster',
  );
}, 180_000);

afterAll(async () => {
  console.log('replicas: ms', JSON.stringify(timings));
  await prom?.proc.stop();
  for (const a of ams) await a.proc.stop();
  await recorder?.stop();
  for (const e of exporters) await e.stop('SIGKILL');
  await writer?.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await writer?.exec(`DROP SCHEMA IF EXISTS ${schema}_state CASCADE`).catch(() => {});
  await writer?.close();
});

describe('the live stack: two replicas, two Alertmanagers', () => {
  it('the replicas run each check once per interval between them, and either one serves every check', async () => {
    const before = await Promise.all(exporters.map(scrape));
    for (const check of CHECKS) expect(before.map((p) => runner(p, check)).sort(), check).toEqual([0, 1]);
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 10_000));
    const after = await Promise.all(exporters.map(scrape));
    const intervals = (Date.now() - started) / 1000;
    const perReplica = CHECKS.map((check) =>
      after.map((p, i) => runs(p, check) - runs(before[i] as Parsed, check)),
    );
    console.log('runs per replica in %s intervals:', intervals.toFixed(1), JSON.stringify(perReplica));
    for (const [i, counts] of perReplica.entries()) {
      const total = counts.reduce((x, y) => x + y, 0);
      // One replica's worth (10 or 11), not two (20): the warehouse sees each check once per interval.
      expect(total, CHECKS[i]).toBeGreaterThanOrEqual(Math.floor(intervals) - 1);
      expect(total, CHECKS[i]).toBeLessThanOrEqual(Math.ceil(intervals) + 1);
      expect(
        counts.filter((n) => n === 0),
        CHECKS[i],
      ).toHaveLength(1);
    }
    // Prometheus sees both replicas' series of every check, with the same values.
    const rows = await prom.query('replicas_probe_rows');
    expect(rows.map((r) => r.metric.instance).sort()).toEqual(exporters.map(target).sort());
    expect(rows.map((r) => r.value[1])).toEqual(['1', '1']);
    const freshness = await prom.query('mlwatch_dataset_last_update_timestamp_seconds{dataset="events"}');
    expect(freshness).toHaveLength(2);
    expect(freshness[0]?.value[1]).toBe(freshness[1]?.value[1]);
  });

  it('a stale dataset pages platform on-call once: one notification of the pair, with both replicas’ alerts', async () => {
    const since = Date.now();
    await writer.exec(
      `DELETE FROM ${schema}.events; INSERT INTO ${schema}.events VALUES (now() - interval '20 minutes')`,
    );
    const [page] = await waitFor(
      () => {
        const got = notifications('platform-oncall', 'MlwatchDatasetStale', since);
        return got.length > 0 ? got : undefined;
      },
      60_000,
      'the page for the stale dataset',
    );
    timings.stale_page = (page as Notification).at - since;
    // The second Alertmanager would send its own after the peer timeout, had the first one's not reached it.
    await new Promise((r) => setTimeout(r, (PEER_TIMEOUT_S + 4) * 1000));
    const pages = notifications('platform-oncall', 'MlwatchDatasetStale', since);
    expect(pages).toHaveLength(1);
    // One page, listing the alert as each replica raised it (the same values, told apart by `instance`).
    const instances = (page as Notification).alerts
      .filter((a) => a.labels.alertname === 'MlwatchDatasetStale')
      .map((a) => a.labels.instance)
      .sort();
    expect(instances).toEqual(exporters.map(target).sort());
    // Both Alertmanagers had the alert: it was the pair, not a missing copy, that kept the page single.
    for (const a of ams) {
      const stale = (await a.alerts()).filter((x) => x.labels.alertname === 'MlwatchDatasetStale');
      expect(stale.map((x) => x.status.state)).toEqual(['active', 'active']);
    }
    // The ticketing receiver gets each replica's alert once; the ticket log joins the copies (docs/tickets.md).
    const tickets = notifications('ticketing', 'MlwatchDatasetStale', since);
    const keys = tickets.map((n) => `${n.groupKey} ${n.alerts.map((a) => a.fingerprint).join(',')}`);
    expect(new Set(keys).size).toBe(keys.length);
    console.log('stale dataset: %d page(s), %d ticketing notification(s)', pages.length, tickets.length);
  });

  it('a killed replica: the other runs its checks within two intervals, and its ExporterDown silences nothing of the other’s', async () => {
    const scrapes = await Promise.all(exporters.map(scrape));
    const i = scrapes.findIndex((p) => CHECKS.some((check) => runner(p, check) === 1));
    const [dead, alive] = [exporters[i] as Served, exporters[1 - i] as Served];
    const before = scrapes[1 - i] as Parsed;
    const since = Date.now();
    await dead.stop('SIGKILL');
    // Its session ends with the process, and its locks with it: the other takes each check at its next turn.
    timings.failover = await waitFor(
      async () => {
        const p = await scrape(alive);
        return CHECKS.every((check) => runner(p, check) === 1 && runs(p, check) > runs(before, check))
          ? Date.now() - since
          : undefined;
      },
      10_000,
      'the other replica running every check',
    );
    expect(timings.failover).toBeLessThan(2_000);

    const [page] = await waitFor(
      () => {
        const got = notifications('platform-oncall', 'MlwatchExporterDown', since);
        return got.length > 0 ? got : undefined;
      },
      60_000,
      'the page for the killed replica',
    );
    timings.exporter_down_page = (page as Notification).at - since;
    expect((page as Notification).alerts.map((a) => a.labels.instance)).toEqual([target(dead)]);
    // While the dead replica's ExporterDown fires, the live one's stale-dataset alert still reaches receivers.
    for (const a of ams) {
      const alerts = await a.alerts();
      const down = alerts.filter((x) => x.labels.alertname === 'MlwatchExporterDown');
      expect(down.map((x) => [x.labels.instance, x.status.state])).toEqual([[target(dead), 'active']]);
      const stale = alerts.filter(
        (x) => x.labels.alertname === 'MlwatchDatasetStale' && x.labels.instance === target(alive),
      );
      expect(stale.map((x) => x.status.state)).toEqual(['active']);
    }
    await new Promise((r) => setTimeout(r, (PEER_TIMEOUT_S + 4) * 1000));
    expect(notifications('platform-oncall', 'MlwatchExporterDown', since)).toHaveLength(1);
  });
});
